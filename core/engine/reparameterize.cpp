#include "core/engine/reparameterize.h"

#include "core/engine/lowranksvd.h"

namespace lq {

ModuleReparam reparameterize(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A)
{
    const LowRankSvd svd = lowRankSvd(B, A);
    const Eigen::VectorXf root = svd.S.cwiseMax(0.0f).cwiseSqrt();
    ModuleReparam reparam;
    reparam.singularValues = svd.S;
    reparam.Bp = svd.U * root.asDiagonal();
    reparam.Ap = root.asDiagonal() * svd.V.transpose();
    return reparam;
}

} // namespace lq
