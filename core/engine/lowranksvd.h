#pragma once

#include <Eigen/Core>

namespace lq {

// The SVD of dW = B A (B m x r, A r x n) without forming the m x n product (METHOD 1):
//   B = Qb Rb, A^T = Qa Ra (thin QR), Rb Ra^T = Uc S Vc^T (r x r), U = Qb Uc, V = Qa Vc,
// so B A = U diag(S) V^T. Cost O((m + n) r^2) instead of O(m n min(m, n)).
//
// U is m x r and V is n x r with orthonormal columns, S holds r values in descending order, all
// >= 0. Components with s_i = 0 (rank-deficient adapters, or r > min(m, n), where the surplus
// columns of U and V are zero) carry nothing and never produce NaN.
// Signs are fixed deterministically: in each column of U the entry of largest magnitude is
// positive (the first such entry on ties), and the column of V flips with it.
// Invariant: ||U diag(S) V^T - B A||_F <= ~10 eps_float ||B||_F ||A||_F.
struct LowRankSvd
{
    Eigen::MatrixXf U;
    Eigen::VectorXf S;
    Eigen::MatrixXf V;
};

LowRankSvd lowRankSvd(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A);

// Only the r singular values of B A (descending), for when U and V are not needed (spectra of
// whole adapters): the same R factors, without forming Qb, Qa, U or V.
Eigen::VectorXf lowRankSingularValues(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A);

} // namespace lq
