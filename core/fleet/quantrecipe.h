#pragma once

// How every adapter of a batch is quantized: the per-adapter options of `loraquant quantize`
// (--rho, --split, --bits-high, --group-size, --refine, --paper-exact, --budget, --plan) in one
// value, applied the same way to each adapter. The CLI parses it once (app/cli/quantizeoptions.h)
// for quantize and batch alike.

#include "core/engine/bitbudget.h"
#include "core/engine/quantplan.h"
#include "core/engine/quantresult.h"
#include "core/io/adapter.h"
#include "core/io/progress.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lq {

struct QuantRecipe
{
    QuantSettings settings;
    // --budget: each module's h and high width chosen per adapter from its error curves.
    std::optional<double> budget;
    BitCount budgetCount = BitCount::Paper;
    std::vector<int> budgetWidths{2, 3, 4};
    // --plan: every module's h and width from an earlier run; `planSha256` is the plan file's
    // digest, so that a changed plan is a changed recipe for a resumed batch.
    std::optional<QuantPlan> plan;
    std::string planSha256;
    bool refineGiven = false; // --refine given with --plan: it replaces the plan's refinement
};

// The settings `recipe` gives `adapter` (the plan's per-module choices applied when there is a
// plan). Throws lq::Error when the plan does not fit the adapter.
QuantSettings settingsFor(const QuantRecipe& recipe, const Adapter& adapter);

// Quantizes `adapter` as `recipe` says (LoRAQuant; a budget's curves first). Cancelling through
// `progress` returns a result with `cancelled` set.
QuantResult quantizeWithRecipe(const Adapter& adapter, const QuantRecipe& recipe,
                               const ProgressFn& progress = {});

// The recipe as a batch records it (summary lines, resume fingerprints): the names the JSON
// report's "settings" uses (rho, split, bits_high, group_size, group_layout, scale_format,
// refine, ...), plus budget, budget_count, budget_widths, plan and plan_sha256 when given.
// Equal recipes give equal JSON, key order included.
nlohmann::ordered_json recipeJson(const QuantRecipe& recipe);

} // namespace lq
