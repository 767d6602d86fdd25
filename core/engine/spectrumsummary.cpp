#include "core/engine/spectrumsummary.h"

#include "core/engine/finiteresults.h"
#include "core/engine/lowranksvd.h"
#include "core/engine/parallelmodules.h"

namespace lq {

int componentsForEnergy(const std::vector<double>& singularValues, double share)
{
    double total = 0;
    for (double s : singularValues)
        total += s * s;
    if (total <= 0)
        return 0;
    double sum = 0;
    for (std::size_t k = 0; k < singularValues.size(); ++k) {
        sum += singularValues[k] * singularValues[k];
        if (sum >= share * total)
            return int(k + 1);
    }
    return int(singularValues.size()); // share > 1 or rounding in the last place
}

SpectrumSummary summarizeSpectrum(const Eigen::VectorXf& singularValues)
{
    SpectrumSummary summary;
    summary.singularValues.assign(singularValues.data(),
                                  singularValues.data() + singularValues.size());
    for (double s : summary.singularValues)
        summary.energy += s * s;
    if (summary.energy > 0 && !summary.singularValues.empty())
        summary.topShare = summary.singularValues[0] * summary.singularValues[0] / summary.energy;
    summary.componentsFor80 = componentsForEnergy(summary.singularValues, 0.8);
    summary.componentsFor90 = componentsForEnergy(summary.singularValues, 0.9);
    return summary;
}

std::vector<SpectrumSummary> adapterSpectra(const Adapter& adapter, const ProgressFn& progress)
{
    // runModulesInParallel rethrows the lowest-index module's error, so which module a refusal
    // names does not depend on the schedule.
    std::vector<SpectrumSummary> summaries(adapter.modules().size());
    const bool finished = runModulesInParallel(
        summaries.size(),
        [&](std::size_t i) {
            const LoraModule& module = adapter.modules()[i];
            const ModuleFactors factors = adapter.factors(i);
            requireComputableFactors(factors.B, factors.A, adapter.path(), module.name);
            const Eigen::VectorXf values = lowRankSingularValues(factors.B, factors.A);
            requireFiniteSpectrum(values, adapter.path(), module.name);
            summaries[i] = summarizeSpectrum(values);
        },
        progress);
    if (!finished)
        return {};
    return summaries;
}

} // namespace lq
