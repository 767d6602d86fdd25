#include "core/engine/componentorder.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace lq {
namespace {

std::uint64_t fnv1a(const std::string& text)
{
    std::uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    return hash;
}

} // namespace

ModuleReparam orderedComponents(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                                const Eigen::VectorXf& svdSingularValues, ComponentOrder order,
                                std::uint64_t seed, const std::string& moduleName)
{
    const Eigen::Index r = B.cols();
    std::vector<Eigen::Index> index(static_cast<std::size_t>(r));
    std::iota(index.begin(), index.end(), Eigen::Index(0));
    std::vector<double> normB(index.size()), normA(index.size());
    for (Eigen::Index i = 0; i < r; ++i) {
        normB[std::size_t(i)] = B.col(i).cast<double>().norm();
        normA[std::size_t(i)] = A.row(i).cast<double>().norm();
    }
    if (order == ComponentOrder::Norm) {
        std::stable_sort(index.begin(), index.end(), [&](Eigen::Index a, Eigen::Index b) {
            return normB[std::size_t(a)] * normA[std::size_t(a)] >
                   normB[std::size_t(b)] * normA[std::size_t(b)];
        });
    } else if (order == ComponentOrder::Random) {
        // Our own shuffle: std::shuffle's and uniform_int_distribution's algorithms are left to
        // the library. The modulo's bias (< r / 2^64) is irrelevant here.
        std::mt19937_64 engine(seed ^ fnv1a(moduleName));
        for (std::size_t i = index.size(); i > 1; --i)
            std::swap(index[i - 1], index[std::size_t(engine() % i)]);
    }

    ModuleReparam reparam;
    reparam.singularValues = svdSingularValues;
    reparam.Bp.resize(B.rows(), r);
    reparam.Ap.resize(r, A.cols());
    for (Eigen::Index k = 0; k < r; ++k) {
        const std::size_t i = std::size_t(index[std::size_t(k)]);
        if (normB[i] > 0 && normA[i] > 0) {
            const double balance = std::sqrt(normA[i] / normB[i]);
            reparam.Bp.col(k) = (B.col(Eigen::Index(i)).cast<double>() * balance).cast<float>();
            reparam.Ap.row(k) = (A.row(Eigen::Index(i)).cast<double>() / balance).cast<float>();
        } else {
            reparam.Bp.col(k).setZero();
            reparam.Ap.row(k).setZero();
        }
    }
    return reparam;
}

} // namespace lq
