#include "core/engine/compeft.h"

#include "core/engine/quantizer.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace lq {
namespace {

double standardDeviation(const Eigen::MatrixXf& x)
{
    if (x.size() == 0)
        return 0;
    const Eigen::ArrayXd values = x.reshaped().cast<double>().array();
    const double mean = values.mean();
    return std::sqrt((values - mean).square().mean());
}

// The factor as a rows x cols matrix with `scale` for its kept signs (S_X for scale 1),
// written in place: positions are row-major, the matrix column-major.
Eigen::MatrixXf toMatrix(const CompeftTensor& t, int rows, int cols, float scale)
{
    Eigen::MatrixXf out = Eigen::MatrixXf::Zero(rows, cols);
    for (std::size_t j = 0; j < t.kept.size(); ++j) {
        const std::uint32_t p = t.kept[j];
        out(Eigen::Index(p / std::uint32_t(cols)), Eigen::Index(p % std::uint32_t(cols))) =
            t.signs[j] ? scale : -scale;
    }
    return out;
}

} // namespace

std::vector<float> CompeftTensor::dequantize() const
{
    std::vector<float> out(valueCount, 0.0f);
    for (std::size_t j = 0; j < kept.size(); ++j)
        out[kept[j]] = signs[j] ? scale : -scale;
    return out;
}

CompeftTensor compeftSelect(std::span<const float> values, double density)
{
    CompeftTensor t;
    t.valueCount = values.size();
    const std::size_t k =
        std::min(values.size(),
                 std::size_t(std::llround(std::clamp(density, 0.0, 1.0) * double(values.size()))));
    // The k-th largest magnitude T, then every value above T and, in position order, as many
    // equal to T as are left: the strict order (magnitude, then earlier position) without
    // sorting indices.
    t.kept.reserve(k);
    if (k > 0) {
        std::vector<float> magnitudes(values.size());
        for (std::size_t i = 0; i < values.size(); ++i)
            magnitudes[i] = std::fabs(values[i]);
        std::nth_element(magnitudes.begin(), magnitudes.begin() + std::ptrdiff_t(k - 1),
                         magnitudes.end(), std::greater<float>());
        const float threshold = magnitudes[k - 1];
        std::size_t above = 0;
        for (float v : values)
            above += std::fabs(v) > threshold ? 1 : 0;
        std::size_t ties = k - above;
        for (std::size_t i = 0; i < values.size(); ++i) {
            const float magnitude = std::fabs(values[i]);
            if (magnitude > threshold || (magnitude == threshold && ties > 0)) {
                if (magnitude == threshold)
                    --ties;
                t.kept.push_back(std::uint32_t(i));
            }
        }
    }
    t.signs.resize(k);
    for (std::size_t j = 0; j < k; ++j)
        t.signs[j] = values[t.kept[j]] >= 0 ? 1 : 0;
    return t;
}

BaselineFactors compeftModule(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A, double density)
{
    const int m = int(B.rows()), r = int(B.cols()), n = int(A.cols());
    const std::vector<float> bValues = rowMajorValues(B), aValues = rowMajorValues(A);
    CompeftTensor tb = compeftSelect(bValues, density);
    CompeftTensor ta = compeftSelect(aValues, density);
    const Eigen::MatrixXd sb = toMatrix(tb, m, r, 1.0f).cast<double>();
    const Eigen::MatrixXd sa = toMatrix(ta, r, n, 1.0f).cast<double>();
    const Eigen::MatrixXd b = B.cast<double>(), a = A.cast<double>();
    // <B A, S_B S_A> = trace((B^T S_B)(S_A A^T)); ||S_B S_A||^2 = trace((S_B^T S_B)(S_A S_A^T)).
    // trace(P Q) = sum_ij P_ij Q_ji, and (S_A A^T)^T = A S_A^T.
    const double cross = ((b.transpose() * sb).array() * (a * sa.transpose()).array()).sum();
    const double norm = ((sb.transpose() * sb).array() * (sa * sa.transpose()).array()).sum();
    const double product = norm > 0 ? cross / norm : 0.0;
    const double sdB = standardDeviation(B), sdA = standardDeviation(A);
    double dB = 0, dA = 0;
    if (sdB > 0 && sdA > 0) {
        const double alpha = std::sqrt(std::fabs(product) / (sdB * sdA));
        dB = std::copysign(sdB * alpha, product);
        dA = sdA * alpha;
    } else if (product != 0) {
        // A constant factor has no spread to scale: split the product evenly instead.
        dB = std::copysign(std::sqrt(std::fabs(product)), product);
        dA = std::sqrt(std::fabs(product));
    }
    tb.scale = std::copysign(storedScale(float(std::fabs(dB)), ScaleFormat::F16), float(dB));
    ta.scale = storedScale(float(dA), ScaleFormat::F16);

    BaselineFactors out;
    out.B = toMatrix(tb, m, r, tb.scale);
    out.A = toMatrix(ta, r, n, ta.scale);
    out.codeBits = tb.codeBits() + ta.codeBits();
    out.storedBits = tb.storedBits() + ta.storedBits();
    return out;
}

} // namespace lq
