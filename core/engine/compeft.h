#pragma once

#include "core/engine/baselinefactors.h"

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <vector>

namespace lq {

// ComPEFT (Yadav et al., "ComPEFT: Compression for Communicating Parameter Efficient Updates via
// Sparsification and Quantization", 2023; METHOD 10.5), on B and A as stored. Each factor X keeps
// its k = round(density * N) values of largest magnitude (ties: the earlier value in row-major
// order), each as its sign, and one scale per tensor:
//   X_hat = d_X * sign(X) on the kept positions, 0 elsewhere   (sign(0) = +1)
// ComPEFT sets d_X = alpha * std(X) with alpha tuned on validation data. Here only the product
// d_B d_A changes the update, and the product that minimises ||B A - d_B d_A S_B S_A||_F is
//   c* = <B A, S_B S_A>_F / ||S_B S_A||_F^2
// (S_X the sign matrices), computed from r x r Gram matrices without the m x n product. Each
// factor stores d_X = std(X) sqrt(|alpha|) (d_B carries the sign of c*) as fp16, with
// alpha = c* / (std(B) std(A)): the alpha of the paper, shared by both factors.
// Positions are stored as a bitmap, one bit per value of the factor, whatever the density
// (an entropy coder could do with N H(density) bits; METHOD 10.5 gives the figures).
// Bits per factor: N (bitmap) + k (signs) + 16 (scale).

struct CompeftTensor
{
    std::vector<std::uint32_t> kept; // row-major positions, ascending
    std::vector<std::uint8_t> signs; // one per kept value: 1 = non-negative
    float scale = 0;                 // d, as stored (fp16)
    std::size_t valueCount = 0;

    std::vector<float> dequantize() const; // valueCount values, row-major
    double codeBits() const { return double(valueCount) + double(kept.size()); }
    double storedBits() const { return codeBits() + 16.0; }
};

// The positions and signs of the k = round(density * values.size()) largest magnitudes;
// scale left 0 (compeftModule sets it). density in [0, 1].
CompeftTensor compeftSelect(std::span<const float> values, double density);

// Both factors with one density, the scales set as above.
BaselineFactors compeftModule(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A, double density);

} // namespace lq
