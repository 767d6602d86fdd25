#include "core/engine/finiteresults.h"

#include "core/io/error.h"
#include "core/io/factorrange.h"

#include <cmath>
#include <limits>

namespace lq {

void requireComputableFactors(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                              const std::string& file, const std::string& module)
{
    // maxCoeff of a NaN is unspecified: test finiteness first (a NaN then counts as Inf).
    const auto largest = [](const Eigen::MatrixXf& x) {
        return x.size() == 0   ? 0.0
               : x.allFinite() ? double(x.cwiseAbs().maxCoeff())
                               : std::numeric_limits<double>::infinity();
    };
    const std::string problem =
        factorRangeProblem(largest(A), largest(B), B.rows(), A.cols(), B.cols());
    if (!problem.empty())
        throw Error(file, "module " + module + ": " + problem);
}

void requireFiniteSpectrum(const Eigen::VectorXf& singularValues, const std::string& file,
                           const std::string& module)
{
    if (!singularValues.allFinite())
        throw Error(file, "module " + module +
                              ": the singular values of B A are not finite (float32 overflowed "
                              "computing them); its factors are too large to compute with");
}

void requireFiniteError(const UpdateError& error, const std::string& file,
                        const std::string& module)
{
    if (!std::isfinite(error.normSq) || !std::isfinite(error.errSq))
        throw Error(file, "module " + module +
                              ": the quantization error is not finite (float32 overflowed in the "
                              "quantized factors); its factors are too large to compute with");
}

} // namespace lq
