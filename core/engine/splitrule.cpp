#include "core/engine/splitrule.h"

#include "core/engine/spectrumsummary.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace lq {
namespace {

// The inspect command's "components for 80% / 90%" and these rules must never disagree, so both
// go through componentsForEnergy (0 for a zero spectrum).
int countReaching(const Eigen::VectorXf& singularValues, double rho)
{
    const std::vector<double> values(singularValues.data(),
                                     singularValues.data() + singularValues.size());
    return componentsForEnergy(values, rho);
}

} // namespace

int ratioRuleH(const Eigen::VectorXf& singularValues, double rho)
{
    // smallest 0-based k with e_k >= rho is (smallest count reaching rho) - 1
    return std::max(1, countReaching(singularValues, rho) - 1);
}

int ratioCountH(const Eigen::VectorXf& singularValues, double rho)
{
    return std::max(1, countReaching(singularValues, rho));
}

int chooseH(const Eigen::VectorXf& singularValues, const QuantSettings& settings,
            const std::string& moduleName)
{
    const int r = int(singularValues.size());
    int h = 0;
    if (const auto it = settings.hOverride.find(moduleName); it != settings.hOverride.end()) {
        h = it->second;
    } else {
        switch (settings.split) {
        case SplitRule::Ratio:
            h = ratioRuleH(singularValues, settings.rho);
            break;
        case SplitRule::RatioCount:
            h = ratioCountH(singularValues, settings.rho);
            break;
        case SplitRule::Fixed:
            h = settings.fixedH;
            break;
        }
    }
    return std::clamp(h, 0, r);
}

const char* const kSplitRuleForms =
    "ratio, ratio-count or fixed:H (H a whole number >= 0, no spaces)";

std::optional<SplitChoice> parseSplitRule(std::string_view text)
{
    constexpr std::string_view kFixed = "fixed:";
    if (text.substr(0, kFixed.size()) == kFixed) {
        const std::string_view number = text.substr(kFixed.size());
        // from_chars alone would take a leading '-'; digits only, so H >= 0 by its form.
        if (number.empty() || number.find_first_not_of("0123456789") != std::string_view::npos)
            return std::nullopt;
        int h = 0;
        const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), h);
        if (ec != std::errc() || end != number.data() + number.size())
            return std::nullopt;
        return SplitChoice{SplitRule::Fixed, h};
    }
    const auto rule = splitRuleFromString(text);
    // A bare "fixed" has no h: SplitRule::Fixed is only reachable with its number.
    if (!rule || *rule == SplitRule::Fixed)
        return std::nullopt;
    return SplitChoice{*rule, 0};
}

int chooseBitsHigh(const QuantSettings& settings, const std::string& moduleName)
{
    const auto it = settings.bitsHighOverride.find(moduleName);
    return it != settings.bitsHighOverride.end() ? it->second : settings.bitsHigh;
}

Refinement chooseRefinement(const QuantSettings& settings, const std::string& moduleName)
{
    const auto it = settings.refineOverride.find(moduleName);
    return it != settings.refineOverride.end() ? it->second : settings.refine;
}

} // namespace lq
