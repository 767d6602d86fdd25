#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace lq {

// NF4, QLoRA's 4-bit NormalFloat (Dettmers et al., "QLoRA", 2023; METHOD 10.2).
//
// A tensor is flattened and cut into blocks of kNf4BlockSize consecutive values. Each block stores
// its absmax c (float32) and one 4-bit code per value, the index of the level of kNf4Levels
// nearest to w / c:
//   w_hat = kNf4Levels[q] * c
// (a block of zeros has c = 0 and every code 7, the level 0). The levels are quantiles of a
// standard normal, normalised to [-1, 1], with an exact 0; an asymmetric 8 negative / 7 positive
// split around it. Ties between two levels go to the upper one.
//
// Double quantization (QLoRA section 3): the float32 absmaxes c_j of a tensor are themselves
// quantized. Their mean mu (one float32 per tensor) is subtracted, and the centred values are cut
// into blocks of kNf4ScaleBlockSize, each with a float32 scale s (its absmax) and one int8 per
// absmax:
//   k_j = round(127 (c_j - mu) / s)  (ties away from zero),    c_hat_j = k_j s / 127 + mu
// Codes are chosen with the exact c_j, as QLoRA does; reconstruction uses c_hat_j. QLoRA's
// bitsandbytes stores the 8-bit values with its "dynamic" 8-bit code table; this uses a linear
// int8 grid, which costs the same 8 bits.
//
// Bits per value: without double quantization 4 + 32 / 64 = 4.5; with it
// 4 + 8 / 64 + 32 / (64 * 256) = 4.127 (plus 32 bits per tensor for mu). A short last block (or
// scale block) is stored like a full one: its scale costs the same bits.

inline constexpr int kNf4BlockSize = 64;
inline constexpr int kNf4ScaleBlockSize = 256;

// The 16 levels, ascending; index 7 is 0. These are the values QLoRA's appendix lists; the test
// derives them again from the normal quantiles (kNf4Offset).
inline constexpr std::array<float, 16> kNf4Levels = {-1.0f,
                                                     -0.6961928009986877f,
                                                     -0.5250730514526367f,
                                                     -0.39491748809814453f,
                                                     -0.28444138169288635f,
                                                     -0.18477343022823334f,
                                                     -0.09105003625154495f,
                                                     0.0f,
                                                     0.07958029955625534f,
                                                     0.16093020141124725f,
                                                     0.24611230194568634f,
                                                     0.33791524171829224f,
                                                     0.44070982933044434f,
                                                     0.5626170039176941f,
                                                     0.7229568362236023f,
                                                     1.0f};
// The quantile that becomes +-1 before normalisation: QLoRA's construction,
// levels = normalise([Phi^-1(linspace(off, 1/2, 9))[0..7], 0, -Phi^-1(linspace(off, 1/2,
// 8))[0..6]]) with off = 0.9677083 (the mean of 1 - 1/(2*15) and 1 - 1/(2*16)).
inline constexpr double kNf4Offset = 0.9677083;

struct Nf4Tensor
{
    bool doubleQuant = false;
    std::vector<std::uint8_t> codes; // one per value (a file would pack two per byte)
    std::vector<float> absmax;       // one per block, exact (float32)
    // Double quantization only:
    float scaleMean = 0;                 // mu
    std::vector<std::int8_t> scaleCodes; // one per block
    std::vector<float> scaleScales;      // one per kNf4ScaleBlockSize blocks (float32)

    std::size_t valueCount() const { return codes.size(); }
    std::size_t blockCount() const { return absmax.size(); }
    // The scale the reconstruction uses for block `block`: c, or c_hat with double quantization.
    float blockScale(std::size_t block) const;
    std::vector<float> dequantize() const;
    // Codes only (4 per value), and every stored bit (codes, absmaxes or their 8-bit codes,
    // second-level scales and mu).
    double codeBits() const;
    double storedBits() const;
};

// The index of the level nearest to x (|x| <= 1 expected; values outside clamp to the ends).
int nf4Code(float x);
Nf4Tensor quantizeNf4(std::span<const float> values, bool doubleQuant);

} // namespace lq
