#include "core/engine/baseline.h"

#include "core/engine/bitcount.h"
#include "core/engine/elapsed.h"
#include "core/engine/finiteresults.h"
#include "core/engine/parallelmodules.h"
#include "core/engine/quantizer.h"
#include "core/engine/updateerror.h"
#include "core/io/error.h"

#include <chrono>

namespace lq {
namespace {

int bitsOf(const BaselineSettings& settings)
{
    return settings.method == BaselineMethod::Binary ? 1 : settings.bits;
}

void validate(const BaselineSettings& settings)
{
    if (settings.method == BaselineMethod::Rtn && (settings.bits < 1 || settings.bits > 8))
        throw Error("baseline settings",
                    "RTN bit width must be 1 to 8, got " + std::to_string(settings.bits));
    if (settings.groupSize < 1)
        throw Error("baseline settings",
                    "the group size must be at least 1, got " + std::to_string(settings.groupSize));
}

// Row-major values of `matrix` (rows vectors of cols values) quantized with flattened groups.
QuantizedVectors quantizeRowMajor(const Eigen::MatrixXf& matrix, const BaselineSettings& settings)
{
    const Eigen::MatrixXf transposed = matrix.transpose(); // column-major of M^T = row-major of M
    const std::span<const float> values(transposed.data(), std::size_t(transposed.size()));
    const GroupSpec spec{settings.groupSize, GroupLayout::Flattened, settings.scaleFormat};
    const int rows = int(matrix.rows()), cols = int(matrix.cols());
    if (settings.method == BaselineMethod::Binary)
        return quantizeBinary(values, rows, cols, spec);
    return quantizeRtn(values, rows, cols, settings.bits, spec);
}

} // namespace

std::string toString(const BaselineSettings& settings)
{
    return settings.method == BaselineMethod::Binary ? "binary"
                                                     : "rtn" + std::to_string(settings.bits);
}

ModuleResult quantizeModuleBaseline(const LoraModule& module, const ModuleFactors& original,
                                    const BaselineSettings& settings)
{
    validate(settings);
    if (!original.fits(module))
        throw Error(module.name, "the factors' shapes differ from the module's");
    ModuleResult result;
    result.name = module.name;
    result.m = module.m;
    result.n = module.n;
    result.r = module.r;
    result.baselineB = quantizeRowMajor(original.B, settings);
    result.baselineA = quantizeRowMajor(original.A, settings);
    const UpdateError error =
        updateError(original.B, original.A, result.dequantizedB(), result.dequantizedA());
    requireFiniteError(error, {}, module.name);
    result.normSq = error.normSq;
    result.errSq = error.errSq;
    result.relErr = error.relative();
    result.bitsPaper = result.baselineB.paperBits() + result.baselineA.paperBits();
    result.bitsTrue = result.baselineB.trueBits() + result.baselineA.trueBits() + kModuleHeaderBits;
    return result;
}

QuantResult quantizeBaseline(const Adapter& adapter, const BaselineSettings& settings,
                             const ProgressFn& progress)
{
    validate(settings);
    const auto start = std::chrono::steady_clock::now();
    QuantResult result;
    result.method = settings.method == BaselineMethod::Binary ? "binary" : "rtn";
    result.adapter = adapter.path();
    result.baselineBits = bitsOf(settings);
    result.settings.groupSize = settings.groupSize;
    result.settings.scaleFormat = settings.scaleFormat;
    result.settings.layout = GroupLayout::Flattened;
    result.settings.bitsHigh = bitsOf(settings);

    const std::vector<LoraModule>& modules = adapter.modules();
    std::vector<ModuleResult> out(modules.size());
    const bool finished = runModulesInParallel(
        modules.size(),
        [&](std::size_t i) {
            out[i] = quantizeModuleBaseline(modules[i], adapter.factors(i), settings);
        },
        progress);
    if (finished) {
        result.modules = std::move(out);
        result.updateTotals();
    } else {
        result.cancelled = true;
    }
    result.seconds = secondsSince(start);
    return result;
}

} // namespace lq
