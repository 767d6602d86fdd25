#pragma once

#include "core/engine/quantsettings.h"

#include <Eigen/Core>
#include <optional>
#include <string>
#include <string_view>

namespace lq {

// How many components of a module go to the high-precision sub-LoRA (METHOD 2). Singular values
// are descending; energies s_i^2 are summed in double. Both ratio rules keep at least one
// component (so does a module whose update is zero).

// The reference's rule: with e_k = (s_1^2 + ... + s_(k+1)^2) / sum s_i^2 for 0-based k,
// h = the smallest k with e_k >= rho, raised to 1 if it is 0. One fewer than ratioCountH
// whenever that is >= 2.
int ratioRuleH(const Eigen::VectorXf& singularValues, double rho);

// The natural rule: the smallest number of components whose energy reaches rho of the total.
int ratioCountH(const Eigen::VectorXf& singularValues, double rho);

// h for one module under `settings`: its entry in settings.hOverride if there is one, else the
// split rule; always clamped to [0, r].
int chooseH(const Eigen::VectorXf& singularValues, const QuantSettings& settings,
            const std::string& moduleName);

// The high part's bit width for one module: settings.bitsHighOverride, else settings.bitsHigh.
int chooseBitsHigh(const QuantSettings& settings, const std::string& moduleName);

// The refinement for one module: settings.refineOverride, else settings.refine.
Refinement chooseRefinement(const QuantSettings& settings, const std::string& moduleName);

// A split rule as a person types it (quantize --split): "ratio", "ratio-count" or "fixed:H" with
// H in plain decimal digits. Nothing is trimmed or skipped ("fixed: 3", "fixed:+3", "fixed:3x",
// "Ratio" are not rules): a typo must not quietly become another rule or another h.
struct SplitChoice
{
    SplitRule rule = SplitRule::Ratio;
    int fixedH = 0; // only for SplitRule::Fixed
};
std::optional<SplitChoice> parseSplitRule(std::string_view text);
// The accepted forms, for messages about a text parseSplitRule refused.
extern const char* const kSplitRuleForms;

} // namespace lq
