#include "core/packed/kernelvalidation.h"

#include "core/engine/elapsed.h"
#include "core/io/error.h"
#include "core/packed/packedkernel.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>

namespace lq {

Eigen::MatrixXf randomActivations(int n, int tokens, std::uint64_t seed)
{
    // mt19937_64's output is fixed by the standard; Box-Muller on it (std::normal_distribution's
    // algorithm is not).
    std::mt19937_64 engine(seed);
    const auto uniform = [&] { return (double(engine() >> 11) + 0.5) * 0x1p-53; }; // (0, 1)
    Eigen::MatrixXf x(n, tokens);
    float* data = x.data();
    const Eigen::Index size = x.size();
    for (Eigen::Index k = 0; k < size; k += 2) {
        const double radius = std::sqrt(-2.0 * std::log(uniform()));
        const double angle = 2.0 * std::numbers::pi * uniform();
        data[k] = float(radius * std::cos(angle));
        if (k + 1 < size)
            data[k + 1] = float(radius * std::sin(angle));
    }
    return x;
}

double KernelValidationResult::weightBytesPerSecond() const
{
    return kernelSeconds > 0 ? double(weightBytes) / kernelSeconds : 0.0;
}

double KernelValidationResult::flopsPerSecond() const
{
    double flops = 0;
    for (const ModuleValidation& module : modules)
        flops += 2.0 * module.r * (double(module.m) + module.n) * tokens;
    return kernelSeconds > 0 ? flops / kernelSeconds : 0.0;
}

KernelValidationResult validateKernels(const PackedAdapter& adapter,
                                       const KernelValidationSettings& settings,
                                       const ProgressFn& progress)
{
    if (settings.tokens < 1 || settings.tokens > 4096)
        throw Error("kernel validation",
                    "tokens must be 1 to 4096, got " + std::to_string(settings.tokens));
    if (!(settings.tolerance > 0))
        throw Error("kernel validation", "the tolerance must be positive");
    if (settings.timingRuns < 1)
        throw Error("kernel validation", "timing runs must be at least 1");

    KernelValidationResult result;
    result.tokens = settings.tokens;
    result.tolerance = settings.tolerance;
    const int total = int(adapter.modules.size());
    for (int i = 0; i < total; ++i) {
        const PackedModule& module = adapter.modules[std::size_t(i)];
        const Eigen::MatrixXf x =
            randomActivations(module.n, settings.tokens, settings.seed + std::uint64_t(i));
        Eigen::MatrixXf y(module.m, settings.tokens), reference(module.m, settings.tokens);

        ModuleValidation check;
        check.name = module.name;
        check.m = module.m;
        check.n = module.n;
        check.r = module.r;
        check.h = module.h;
        check.bitsHigh = module.bitsHigh;
        check.weightBytes = packedWeightBytes(module);
        // The compared run is untimed: it also wakes the worker threads and warms the caches.
        applyPacked(module, x, y);
        check.kernelSeconds = std::numeric_limits<double>::infinity();
        for (int run = 0; run < settings.timingRuns; ++run) {
            const auto start = std::chrono::steady_clock::now();
            applyPacked(module, x, y);
            check.kernelSeconds = std::min(check.kernelSeconds, secondsSince(start));
        }
        const auto start = std::chrono::steady_clock::now();
        applyReference(module, x, reference);
        check.referenceSeconds = secondsSince(start);

        check.maxAbsError = double((y - reference).cwiseAbs().maxCoeff());
        check.maxAbsOutput = double(reference.cwiseAbs().maxCoeff());
        if (!std::isfinite(check.maxAbsError) || !y.allFinite())
            check.relError = std::numeric_limits<double>::infinity();
        else if (check.maxAbsOutput > 0)
            check.relError = check.maxAbsError / check.maxAbsOutput;
        else
            check.relError = check.maxAbsError > 0 ? std::numeric_limits<double>::infinity() : 0;
        check.passed = check.relError <= settings.tolerance;
        if (!check.passed)
            result.warnings.push_back("module " + module.name + ": relative error " +
                                      std::to_string(check.relError) + " exceeds " +
                                      std::to_string(settings.tolerance));

        result.maxRelError = std::max(result.maxRelError, check.relError);
        result.kernelSeconds += check.kernelSeconds;
        result.referenceSeconds += check.referenceSeconds;
        result.weightBytes += check.weightBytes;
        result.modules.push_back(std::move(check));
        if (progress && !progress(i + 1, total)) {
            result.cancelled = i + 1 < total;
            break;
        }
    }
    result.passed = !result.cancelled;
    for (const ModuleValidation& module : result.modules)
        result.passed = result.passed && module.passed;
    return result;
}

} // namespace lq
