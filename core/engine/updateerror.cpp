#include "core/engine/updateerror.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace lq {

double UpdateError::relative() const
{
    return normSq > 0 ? std::sqrt(errSq / normSq) : 0.0;
}

namespace {

// The lower triangle of X^T X for X = [P, s Q] (rows x 2r, P and Q float, s = +-1), accumulated
// in double over chunks of rows so that no rows x 2r double copy is ever held (11008 x 32
// doubles would be 2.8 MB per module and thread). Products of floats are exact in double, so
// this equals the Gram matrix of the double-converted factors up to the order of the double
// additions. Only the lower triangle: a symmetric rank update does half the multiply-adds of the
// full product, and these Grams are most of the time of a quantization without refinement.
Eigen::MatrixXd stackedGram(const Eigen::MatrixXf& P, const Eigen::MatrixXf& Q, double sign)
{
    constexpr Eigen::Index kChunk = 256;
    const Eigen::Index rows = P.rows(), r = P.cols();
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(2 * r, 2 * r);
    Eigen::MatrixXd chunk(std::min(kChunk, rows), 2 * r);
    for (Eigen::Index begin = 0; begin < rows; begin += kChunk) {
        const Eigen::Index count = std::min(kChunk, rows - begin);
        chunk.topLeftCorner(count, r) = P.middleRows(begin, count).cast<double>();
        chunk.topRightCorner(count, r) = sign * Q.middleRows(begin, count).cast<double>();
        gram.selfadjointView<Eigen::Lower>().rankUpdate(chunk.topRows(count).transpose());
    }
    return gram;
}

// sum_ij X_ij Y_ij over the first `size` rows and columns of symmetric X and Y, from their lower
// triangles.
double symmetricDot(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, Eigen::Index size)
{
    double diagonal = 0, below = 0;
    for (Eigen::Index j = 0; j < size; ++j) {
        diagonal += X(j, j) * Y(j, j);
        for (Eigen::Index i = j + 1; i < size; ++i)
            below += X(i, j) * Y(i, j);
    }
    return diagonal + 2 * below;
}

} // namespace

UpdateError updateError(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                        const Eigen::MatrixXf& Bhat, const Eigen::MatrixXf& Ahat)
{
    assert(B.rows() == Bhat.rows() && B.cols() == Bhat.cols());
    assert(A.rows() == Ahat.rows() && A.cols() == Ahat.cols() && B.cols() == A.rows());
    const Eigen::Index r = B.cols();
    // C = [B, -Bhat] (m x 2r); D^T = [A^T, Ahat^T] (n x 2r), so that both Grams are X^T X.
    const Eigen::MatrixXd gramC = stackedGram(B, Bhat, -1.0);
    const Eigen::MatrixXf At = A.transpose(), AhatT = Ahat.transpose();
    const Eigen::MatrixXd gramD = stackedGram(At, AhatT, 1.0);

    UpdateError error;
    // ||B A||^2 = trace((B^T B)(A A^T)): the top-left r x r blocks.
    error.normSq = std::max(0.0, symmetricDot(gramC, gramD, r));
    error.errSq = std::max(0.0, symmetricDot(gramC, gramD, 2 * r));
    return error;
}

} // namespace lq
