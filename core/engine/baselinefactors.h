#pragma once

#include <Eigen/Core>
#include <span>
#include <vector>

namespace lq {

// What a field baseline (fieldbaseline.h: rank truncation, NF4, q8_0, Delta-CoMe tiers, ComPEFT)
// makes of one module: the reconstructed factors, B_hat (m x r) and A_hat (r x n), with dropped
// components as zero columns / rows so that the rank stays r, and what storing them costs.
// codeBits counts what the paper's count would (codes, and for sparse formats their positions);
// storedBits adds every scale, zero point and per-tensor or per-module field of the method's own
// format. Neither includes the 16-byte module header every method pays (bitcount.h), which the
// caller adds.
struct BaselineFactors
{
    Eigen::MatrixXf B;
    Eigen::MatrixXf A;
    double codeBits = 0;
    double storedBits = 0;
};

// The values of `matrix` in row-major order (as PyTorch stores a factor), the order in which the
// block formats below cut a tensor into blocks.
inline std::vector<float> rowMajorValues(const Eigen::MatrixXf& matrix)
{
    const Eigen::MatrixXf transposed = matrix.transpose();
    return std::vector<float>(transposed.data(), transposed.data() + transposed.size());
}

// The inverse: a rows x cols matrix from row-major values.
inline Eigen::MatrixXf fromRowMajor(std::span<const float> values, int rows, int cols)
{
    Eigen::MatrixXf out(rows, cols);
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j)
            out(i, j) = values[std::size_t(i) * std::size_t(cols) + std::size_t(j)];
    return out;
}

} // namespace lq
