#include "quantizeoptions.h"

#include "core/engine/splitrule.h"
#include "core/io/error.h"
#include "core/packed/planfile.h"
#include "core/packed/sha256.h"

namespace lq::cli {
namespace {

SplitRule parseSplit(const std::string& text, QuantSettings& settings)
{
    const auto choice = parseSplitRule(text);
    if (!choice)
        throw UsageError(std::string("--split must be ") + kSplitRuleForms + ", got '" + text +
                         "'");
    if (choice->rule == SplitRule::Fixed)
        settings.fixedH = choice->fixedH;
    return choice->rule;
}

} // namespace

OptionSpec quantOptionSpec()
{
    return {{"rho", true},        {"split", true},        {"bits-high", true},
            {"group-size", true}, {"refine", true},       {"paper-exact", false},
            {"budget", true},     {"budget-count", true}, {"components", true},
            {"plan", true}};
}

QuantRecipe parseQuantRecipe(const Arguments& arguments)
{
    QuantRecipe recipe;
    QuantSettings& settings = recipe.settings;
    settings.rho = arguments.number("rho", settings.rho);
    if (const auto split = arguments.value("split"))
        settings.split = parseSplit(*split, settings);
    settings.bitsHigh = arguments.integer("bits-high", settings.bitsHigh);
    settings.groupSize = arguments.integer("group-size", settings.groupSize);
    if (const auto refine = arguments.value("refine")) {
        const auto parsed = refinementFromString(*refine);
        if (!parsed)
            throw UsageError("--refine must be none, paper or best, got '" + *refine + "'");
        settings.refine = *parsed;
        recipe.refineGiven = true;
    }
    if (const auto components = arguments.value("components")) {
        const auto parsed = componentOrderFromString(*components);
        if (!parsed)
            throw UsageError("--components must be svd, random or norm, got '" + *components + "'");
        settings.order = *parsed;
        // A budget's error curves assume the SVD order.
        for (const char* option : {"baseline", "budget"})
            if (settings.order != ComponentOrder::Svd && arguments.has(option))
                throw UsageError(std::string("--components ") + *components +
                                 " does not apply with --" + option);
    }
    if (arguments.has("paper-exact")) {
        settings.layout = GroupLayout::Flattened;
        settings.scaleFormat = ScaleFormat::F32;
    }
    try {
        settings.validate();
    } catch (const Error& e) {
        throw UsageError(e.problem());
    }

    if (const auto file = arguments.value("plan")) {
        for (const char* option : {"rho", "split", "bits-high", "group-size", "paper-exact",
                                   "baseline", "budget", "components"})
            if (arguments.has(option))
                throw UsageError(std::string("--") + option +
                                 " does not apply with --plan (the plan sets every module's h, "
                                 "width and groups)");
        recipe.plan = readQuantPlan(*file);
        recipe.planSha256 = sha256File(*file);
    }

    if (arguments.has("budget")) {
        recipe.budget = arguments.number("budget", 0);
        for (const char* option : {"rho", "split", "baseline"})
            if (arguments.has(option))
                throw UsageError(std::string("--") + option +
                                 " does not apply to --budget (the budget chooses every h)");
        recipe.budgetWidths = arguments.has("bits-high") ? std::vector<int>{settings.bitsHigh}
                                                         : std::vector<int>{2, 3, 4};
    }
    if (const auto count = arguments.value("budget-count")) {
        if (!recipe.budget)
            throw UsageError("--budget-count needs --budget");
        const auto parsed = bitCountFromString(*count);
        if (!parsed)
            throw UsageError("--budget-count must be paper or true, got '" + *count + "'");
        recipe.budgetCount = *parsed;
    }
    return recipe;
}

} // namespace lq::cli
