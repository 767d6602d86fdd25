#pragma once

#include "core/engine/quantizedvectors.h"
#include "core/engine/quantresult.h"
#include "core/engine/quantsettings.h"

#include <Eigen/Core>

namespace lq {

// One module's reparameterization cut at h, each part laid out vector after vector (column i of
// each matrix is component i's vector, contiguous in Eigen's column-major storage), which is the
// layout QuantizedVectors uses.
struct SplitFactors
{
    Eigen::MatrixXf bHigh;  // m x h:       columns 0..h-1 of B'
    Eigen::MatrixXf aHighT; // n x h:       rows 0..h-1 of A', transposed
    Eigen::MatrixXf bLow;   // m x (r - h): columns h..r-1 of B'
    Eigen::MatrixXf aLowT;  // n x (r - h): rows h..r-1 of A', transposed

    static SplitFactors fromReparam(const ModuleReparam& reparam, int h);
};

// The four quantized parts of one module: high components RTN with bitsHigh, low ones binary.
struct QuantizedParts
{
    QuantizedVectors bHigh, aHigh, bLow, aLow;
};

// Quantizes a split with settings.refine deciding what happens between the split and the codes.
// The place where refinements plug in:
//   Refinement::None   quantize as is (METHOD 3);
//   Refinement::Paper  the reference's per-component SGD on the high part (paperrefinement.h),
//                      then quantize; the low part is never refined;
//   Refinement::Best   this project's refinement (issue 6); it may choose codes, scales and zero
//                      points of all four parts jointly, so it returns QuantizedParts rather than
//                      refined floats (bestrefinement.h).
// Groups follow settings.groupSize / layout / scaleFormat. The paper refinement refines each
// component's vectors on their own (groups restarting at each vector), as the reference does; with
// GroupLayout::Flattened and a length that is not a multiple of the group size the final groups
// then differ from the refined ones (the reference cannot quantize such lengths at all).
QuantizedParts quantizeParts(const SplitFactors& split, int bitsHigh,
                             const QuantSettings& settings);

// Quantizes a split as is (Refinement::None); refinements call it on their refined factors.
QuantizedParts quantizeSplitPlain(const SplitFactors& split, int bitsHigh,
                                  const QuantSettings& settings);

} // namespace lq
