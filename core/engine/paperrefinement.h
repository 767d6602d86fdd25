#pragma once

#include "core/engine/quantsettings.h"

#include <span>
#include <vector>

namespace lq {

// The reference's refinement of one high-precision component (METHOD 4), ported faithfully.
//
// Parameters b~ (m values), a~ (n values) start at the component's own (b, a) = (b'_i, a'_i) and
// take `steps` plain SGD steps of learning rate lr on the NON-squared loss
//   L = ||b a^T - p q^T||_F,  p = Q(b~), q = Q(a~)   (RTN with `bits`, groups of `groupSize` inside
//                                                     the vector, a short tail its own group)
// evaluated without any m x n matrix through the rank-1 identity
//   L^2 = |b|^2 |a|^2 - 2 (b.p)(a.q) + |p|^2 |q|^2.
// Gradient as torch's autograd computes it for the reference's quantizer: round() has zero
// gradient, so codes q_j and zero points z are constants and only the scale d = (max - min)/(2^b-1)
// of each group carries it:
//   dL/dp = (|q|^2 p - (a.q) b) / L,    dL/dd_G = sum_{j in G} (q_j - z) dL/dp_j
//         = (|q|^2 d_G S2_G - (a.q) Sb_G) / L,  S2_G = sum (q_j - z)^2, Sb_G = sum (q_j - z) b_j,
//   dL/dmax_G = dL/dd_G / (2^b - 1) = -dL/dmin_G   (0 when max - min < 1e-5, where the clamp
//   holds),
// split evenly among tied maxima (minima), as torch.amax / amin do. So only the values that set a
// group's extremes move: the refinement learns each group's range. Every step recomputes codes,
// zero points and scales from the current values. The low part is never refined.
// Work per step is O(m + n); nothing of size m x n is ever formed.
//
// With ScaleFormat::F16 the forward pass uses the fp16-rounded scale, as the final quantization
// does, and the rounding counts as the identity for the gradient.
struct PaperRefineSpec
{
    int bits = 2;
    int groupSize = 128;
    ScaleFormat scaleFormat = ScaleFormat::F32;
    int steps = 300;
    double learningRate = 0.01;
};

// Refines b~ = `b` and a~ = `a` in place; on entry they hold the component's (b'_i, a'_i), which
// are also the loss's target. Stops early only when the loss is exactly 0 (its gradient is then
// 0/0; torch would produce NaN, which can only arise for a zero component).
void paperRefineComponent(std::span<float> b, std::span<float> a, const PaperRefineSpec& spec);

// The loss and its gradient at (b~, a~) for target (b, a), as dense vectors (zero except at the
// groups' extremes). For tests; paperRefineComponent applies the same formulas in place.
struct PaperGradient
{
    double loss = 0;
    std::vector<double> gradB; // dL/db~
    std::vector<double> gradA; // dL/da~
};
PaperGradient paperLossGradient(std::span<const float> bTarget, std::span<const float> aTarget,
                                std::span<const float> bCurrent, std::span<const float> aCurrent,
                                const PaperRefineSpec& spec);

} // namespace lq
