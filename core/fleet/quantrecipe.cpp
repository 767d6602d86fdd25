#include "core/fleet/quantrecipe.h"

#include "core/engine/adapterquantizer.h"

namespace lq {

QuantSettings settingsFor(const QuantRecipe& recipe, const Adapter& adapter)
{
    if (!recipe.plan)
        return recipe.settings;
    QuantSettings settings = recipe.plan->settingsFor(adapter);
    if (recipe.refineGiven)
        settings.refine = recipe.settings.refine;
    return settings;
}

QuantResult quantizeWithRecipe(const Adapter& adapter, const QuantRecipe& recipe,
                               const ProgressFn& progress)
{
    const QuantSettings settings = settingsFor(recipe, adapter);
    if (!recipe.budget)
        return quantizeAdapter(adapter, settings, progress);
    // The curves cost about as much as the quantization: progress counts both passes, so that a
    // cancel is seen during either.
    const int modules = int(adapter.modules().size());
    ProgressFn curveProgress, quantProgress;
    if (progress) {
        curveProgress = [&](int done, int) { return progress(done, 2 * modules); };
        quantProgress = [&](int done, int) { return progress(modules + done, 2 * modules); };
    }
    const ErrorCurves curves =
        computeErrorCurves(adapter, settings, recipe.budgetWidths, curveProgress);
    if (curves.cancelled) {
        QuantResult result;
        result.cancelled = true;
        return result;
    }
    const BudgetAllocation allocation = allocateBudget(curves, *recipe.budget, recipe.budgetCount);
    return quantizeAdapter(adapter, settings, allocation, quantProgress);
}

nlohmann::ordered_json recipeJson(const QuantRecipe& recipe)
{
    nlohmann::ordered_json json;
    const QuantSettings& s = recipe.settings;
    if (recipe.plan) {
        json["plan"] = recipe.plan->file;
        json["plan_sha256"] = recipe.planSha256;
        if (recipe.refineGiven)
            json["refine"] = toString(s.refine);
        return json;
    }
    if (!recipe.budget) {
        json["rho"] = s.rho;
        json["split"] = toString(s.split);
        if (s.split == SplitRule::Fixed)
            json["fixed_h"] = s.fixedH;
    }
    json["bits_high"] = s.bitsHigh;
    json["bits_low"] = 1;
    json["group_size"] = s.groupSize;
    json["group_layout"] = toString(s.layout);
    json["scale_format"] = toString(s.scaleFormat);
    json["refine"] = toString(s.refine);
    json["components"] = toString(s.order);
    if (s.refine == Refinement::Paper) {
        json["refine_steps"] = s.refineSteps;
        json["refine_learning_rate"] = s.refineLearningRate;
    }
    if (recipe.budget) {
        json["budget"] = *recipe.budget;
        json["budget_count"] = toString(recipe.budgetCount);
        json["budget_widths"] = recipe.budgetWidths;
    }
    return json;
}

} // namespace lq
