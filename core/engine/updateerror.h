#pragma once

#include <Eigen/Core>

namespace lq {

// ||B A||_F^2 and ||B A - Bhat Ahat||_F^2 of one module without forming an m x n matrix
// (METHOD 6): with C = [B, -Bhat] (m x 2r) and D = [A; Ahat] (2r x n),
//   ||C D||_F^2 = trace((C^T C)(D D^T)) = sum_ij (C^T C)_ij (D D^T)_ij,
// two 2r x 2r Gram matrices, O((m + n) r^2), all in double. The difference of the two traces
// cancels when the error is small: in double its absolute error is ~1e-15 ||B A||_F^2, so a
// relative error down to ~1e-7 is resolved. errSq is clamped at 0.
struct UpdateError
{
    double normSq = 0; // ||B A||_F^2
    double errSq = 0;  // ||B A - Bhat Ahat||_F^2

    // sqrt(errSq / normSq), or 0 when the update is zero.
    double relative() const;
};

UpdateError updateError(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                        const Eigen::MatrixXf& Bhat, const Eigen::MatrixXf& Ahat);

} // namespace lq
