#include "core/engine/lowranksvd.h"

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cassert>

namespace lq {
namespace {

// R of the thin QR of X (rows x r): min(rows, r) x r, upper triangular (trapezoidal).
Eigen::MatrixXf thinR(const Eigen::HouseholderQR<Eigen::MatrixXf>& qr)
{
    const Eigen::Index k = std::min(qr.matrixQR().rows(), qr.matrixQR().cols());
    return qr.matrixQR().topRows(k).triangularView<Eigen::Upper>();
}

// Q [X; 0] for the thin QR of a rows x r matrix and X (k x c, k = min(rows, r)): the Householder
// reflectors applied to X padded with zeros, without forming Q (rows x k) and multiplying.
Eigen::MatrixXf applyThinQ(const Eigen::HouseholderQR<Eigen::MatrixXf>& qr,
                           const Eigen::MatrixXf& X)
{
    Eigen::MatrixXf result = Eigen::MatrixXf::Zero(qr.matrixQR().rows(), X.cols());
    result.topRows(X.rows()) = X;
    result.applyOnTheLeft(qr.householderQ());
    return result;
}

} // namespace

LowRankSvd lowRankSvd(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A)
{
    assert(B.cols() == A.rows());
    const Eigen::Index m = B.rows(), n = A.cols(), r = B.cols();
    const Eigen::HouseholderQR<Eigen::MatrixXf> qrB(B);
    const Eigen::HouseholderQR<Eigen::MatrixXf> qrA(A.transpose());
    const Eigen::MatrixXf core = thinR(qrB) * thinR(qrA).transpose(); // kb x ka, both <= r
    const Eigen::JacobiSVD<Eigen::MatrixXf> svd(core, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Eigen::Index k = svd.singularValues().size(); // min(m, n, r)

    LowRankSvd result;
    result.U = Eigen::MatrixXf::Zero(m, r);
    result.V = Eigen::MatrixXf::Zero(n, r);
    result.S = Eigen::VectorXf::Zero(r);
    result.U.leftCols(k) = applyThinQ(qrB, svd.matrixU());
    result.V.leftCols(k) = applyThinQ(qrA, svd.matrixV());
    result.S.head(k) = svd.singularValues(); // JacobiSVD sorts them in decreasing order

    for (Eigen::Index i = 0; i < k; ++i) {
        Eigen::Index at = 0;
        result.U.col(i).cwiseAbs().maxCoeff(&at); // first index of the maximum
        if (result.U(at, i) < 0) {
            result.U.col(i) *= -1.0f;
            result.V.col(i) *= -1.0f;
        }
    }
    return result;
}

Eigen::VectorXf lowRankSingularValues(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A)
{
    assert(B.cols() == A.rows());
    const Eigen::Index r = B.cols();
    const Eigen::HouseholderQR<Eigen::MatrixXf> qrB(B);
    const Eigen::HouseholderQR<Eigen::MatrixXf> qrA(A.transpose());
    const Eigen::MatrixXf core = thinR(qrB) * thinR(qrA).transpose();
    const Eigen::JacobiSVD<Eigen::MatrixXf> svd(core);
    Eigen::VectorXf s = Eigen::VectorXf::Zero(r);
    s.head(svd.singularValues().size()) = svd.singularValues();
    return s;
}

} // namespace lq
