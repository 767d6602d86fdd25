#pragma once

#include "arguments.h"
#include "core/fleet/quantrecipe.h"

namespace lq::cli {

// The per-adapter quantization options that `quantize` and `batch` share: --rho, --split,
// --bits-high, --group-size, --refine, --components, --paper-exact, --budget, --budget-count,
// --plan. One parser, so that both commands accept and refuse the same things.
OptionSpec quantOptionSpec();

// Parses them (UsageError for a bad value or combination; lq::Error when the --plan file cannot
// be read). Mentions of --baseline refer to the quantize command's own option.
QuantRecipe parseQuantRecipe(const Arguments& arguments);

} // namespace lq::cli
