#pragma once

#include "core/engine/quantresult.h"

#include <Eigen/Core>

namespace lq {

// B' = U S^(1/2), A' = S^(1/2) V^T from the low-rank SVD of B A (METHOD 1, lowranksvd.h), so that
// component i (column i of B', row i of A') carries energy s_i^2 and B' A' = B A.
// Invariant: ||B' A' - B A||_F <= ~10 eps_float ||B||_F ||A||_F. Components with s_i = 0 are zero
// vectors (never NaN), also for an all-zero B (a freshly initialised LoRA).
ModuleReparam reparameterize(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A);

} // namespace lq
