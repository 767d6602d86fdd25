#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lq {

// q8_0, llama.cpp's 8-bit block format (ggml's block_q8_0; METHOD 10.3).
//
// A tensor is flattened and cut into blocks of kQ8_0BlockSize consecutive values; each block
// stores an fp16 scale d and 32 int8 codes:
//   d = absmax / 127,   q = round(w / d)  (ties away from zero, as roundf),   w_hat = q * fp16(d)
// As ggml's reference quantizer, q is computed with the float32 d (w * (1 / d)) and only the
// stored d is rounded to fp16; a block of zeros has d = 0 and every q 0.
// Bits per value: 8 + 16 / 32 = 8.5. ggml itself needs rows that are a multiple of 32; here a
// short last block is stored like a full one (its scale costs 16 bits).

inline constexpr int kQ8_0BlockSize = 32;

struct Q8_0Tensor
{
    std::vector<std::int8_t> codes; // one per value
    std::vector<float> scales;      // one per block, already rounded to fp16

    std::size_t blockCount() const { return scales.size(); }
    std::vector<float> dequantize() const;
    double codeBits() const { return 8.0 * double(codes.size()); }
    double storedBits() const { return codeBits() + 16.0 * double(scales.size()); }
};

Q8_0Tensor quantizeQ8_0(std::span<const float> values);

} // namespace lq
