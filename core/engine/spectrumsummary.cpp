#include "spectrumsummary.h"

#include "../io/firsterror.h"
#include "finiteresults.h"
#include "lowranksvd.h"

#include <atomic>

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
    const auto count = std::int64_t(adapter.modules().size());
    std::vector<SpectrumSummary> summaries(adapter.modules().size());
    std::atomic<bool> cancelled = false;
    FirstError error;
    int done = 0;
#pragma omp parallel for schedule(dynamic)
    for (std::int64_t i = 0; i < count; ++i) {
        if (cancelled.load())
            continue;
        error.run([&] {
            const LoraModule& module = adapter.modules()[std::size_t(i)];
            const ModuleFactors factors = adapter.factors(std::size_t(i));
            requireComputableFactors(factors.B, factors.A, adapter.path(), module.name);
            const Eigen::VectorXf values = lowRankSingularValues(factors.B, factors.A);
            requireFiniteSpectrum(values, adapter.path(), module.name);
            summaries[std::size_t(i)] = summarizeSpectrum(values);
        });
        if (progress && !error.failed()) {
#pragma omp critical(lq_spectra_progress)
            error.run([&] {
                if (!cancelled.load() && !progress(++done, int(count)))
                    cancelled = true;
            });
        }
    }
    error.rethrow();
    if (cancelled)
        return {};
    return summaries;
}

} // namespace lq
