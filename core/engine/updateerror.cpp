#include "updateerror.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace lq {

double UpdateError::relative() const
{
    return normSq > 0 ? std::sqrt(errSq / normSq) : 0.0;
}

UpdateError updateError(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                        const Eigen::MatrixXf& Bhat, const Eigen::MatrixXf& Ahat)
{
    assert(B.rows() == Bhat.rows() && B.cols() == Bhat.cols());
    assert(A.rows() == Ahat.rows() && A.cols() == Ahat.cols() && B.cols() == A.rows());
    const Eigen::Index m = B.rows(), n = A.cols(), r = B.cols();
    Eigen::MatrixXd C(m, 2 * r);
    C.leftCols(r) = B.cast<double>();
    C.rightCols(r) = -Bhat.cast<double>();
    Eigen::MatrixXd Dt(n, 2 * r); // D^T, so that both Gram matrices are X^T X
    Dt.leftCols(r) = A.transpose().cast<double>();
    Dt.rightCols(r) = Ahat.transpose().cast<double>();
    Eigen::MatrixXd gramC = Eigen::MatrixXd::Zero(2 * r, 2 * r);
    Eigen::MatrixXd gramD = Eigen::MatrixXd::Zero(2 * r, 2 * r);
    gramC.selfadjointView<Eigen::Lower>().rankUpdate(C.transpose());
    gramD.selfadjointView<Eigen::Lower>().rankUpdate(Dt.transpose());
    gramC = gramC.selfadjointView<Eigen::Lower>();
    gramD = gramD.selfadjointView<Eigen::Lower>();

    UpdateError error;
    // ||B A||^2 = trace((B^T B)(A A^T)): the top-left r x r blocks.
    error.normSq =
        std::max(0.0, gramC.topLeftCorner(r, r).cwiseProduct(gramD.topLeftCorner(r, r)).sum());
    error.errSq = std::max(0.0, gramC.cwiseProduct(gramD).sum());
    return error;
}

} // namespace lq
