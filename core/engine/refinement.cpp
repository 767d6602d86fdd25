#include "core/engine/refinement.h"

#include "core/engine/bestrefinement.h"
#include "core/engine/paperrefinement.h"
#include "core/engine/quantizer.h"

namespace lq {
namespace {

std::span<const float> valuesOf(const Eigen::MatrixXf& matrix)
{
    return {matrix.data(), std::size_t(matrix.size())};
}

} // namespace

SplitFactors SplitFactors::fromReparam(const ModuleReparam& reparam, int h)
{
    const Eigen::Index r = reparam.Bp.cols();
    SplitFactors split;
    split.bHigh = reparam.Bp.leftCols(h);
    split.aHighT = reparam.Ap.topRows(h).transpose();
    split.bLow = reparam.Bp.rightCols(r - h);
    split.aLowT = reparam.Ap.bottomRows(r - h).transpose();
    return split;
}

QuantizedParts quantizeSplitPlain(const SplitFactors& split, int bitsHigh,
                                  const QuantSettings& settings)
{
    const GroupSpec spec{settings.groupSize, settings.layout, settings.scaleFormat};
    const int m = int(split.bHigh.rows()), n = int(split.aHighT.rows());
    const int h = int(split.bHigh.cols()), low = int(split.bLow.cols());
    QuantizedParts parts;
    parts.bHigh = quantizeRtn(valuesOf(split.bHigh), h, m, bitsHigh, spec);
    parts.aHigh = quantizeRtn(valuesOf(split.aHighT), h, n, bitsHigh, spec);
    parts.bLow = quantizeBinary(valuesOf(split.bLow), low, m, spec);
    parts.aLow = quantizeBinary(valuesOf(split.aLowT), low, n, spec);
    return parts;
}

QuantizedParts quantizeParts(const SplitFactors& split, int bitsHigh, const QuantSettings& settings)
{
    switch (settings.refine) {
    case Refinement::None:
        break;
    case Refinement::Paper: {
        SplitFactors refined = split;
        const PaperRefineSpec spec{bitsHigh, settings.groupSize, settings.scaleFormat,
                                   settings.refineSteps, settings.refineLearningRate};
        for (Eigen::Index i = 0; i < refined.bHigh.cols(); ++i)
            paperRefineComponent({refined.bHigh.col(i).data(), std::size_t(refined.bHigh.rows())},
                                 {refined.aHighT.col(i).data(), std::size_t(refined.aHighT.rows())},
                                 spec);
        return quantizeSplitPlain(refined, bitsHigh, settings);
    }
    case Refinement::Best:
        return refineBest(split, bitsHigh, settings);
    }
    return quantizeSplitPlain(split, bitsHigh, settings);
}

} // namespace lq
