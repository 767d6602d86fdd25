#pragma once

#include "bitpacking.h"

#include <cstdint>
#include <cstring>

namespace lq::packed_detail {

// Dequantizes codes [first, first + count) of a b-bit stream (bitpacking.h) that all belong to one
// group with scale d and zero point z, straight into floats:
//   RTN     out[k] = (q - z) * d          (float(q) - z is exact, then one rounding)
//   Binary  out[k] = (2 q - 1) * d = +-d  (exact)
// which is bit for bit what QuantizedVectors::dequantize() computes. The kernels call this on
// runs of at most one tile, so no whole matrix is ever dequantized. The stream must be followed
// by at least 8 readable bytes (in-memory streams carry kStreamPadding, packedformat.h).
// Always inlined: the kernels' clones for AVX2 and AVX-512 must get their own copy.
//
// Paths: an unaligned head one code at a time (codeAt), then whole 32-code chunks (4 b bytes,
// starting on a 32-bit word for b = 1, 2, 4, 8 and on a byte otherwise), then a tail one code at
// a time. The chunk loops have constant trip counts and constant shift vectors, which the
// compiler turns into variable-shift + convert + multiply vector code (vpsrlvd/vcvtdq2ps on
// AVX2 and AVX-512 targets; see packedkernel.cpp for the clones).
template <int Bits, bool Binary>
[[gnu::always_inline]] inline float dequantizeCode(unsigned q, float zero, float scale)
{
    if constexpr (Binary)
        return (float(q) * 2.0f - 1.0f) * scale;
    else
        return (float(q) - zero) * scale;
}

template <int Bits, bool Binary>
[[gnu::always_inline]] inline void decodeRun(const std::uint8_t* packed, std::int64_t first,
                                             int count, float zero, float scale, float* out)
{
    static_assert(Bits >= kMinCodeBits && Bits <= kMaxCodeBits);
    static_assert(!Binary || Bits == 1, "binary codes are one bit");
    constexpr unsigned mask = (1u << Bits) - 1u;
    constexpr int chunkCodes = 32;                    // codes per chunk
    constexpr int chunkBytes = chunkCodes * Bits / 8; // = 4 b, whole bytes for every b

    int k = 0;
    for (; k < count && (first + k) % chunkCodes != 0; ++k)
        out[k] = dequantizeCode<Bits, Binary>(codeAt(packed, Bits, first + k), zero, scale);

    const int chunks = (count - k) / chunkCodes;
    const std::uint8_t* bytes = packed + (first + k) / chunkCodes * chunkBytes;
    float* dst = out + k;
    if constexpr (32 % Bits == 0) {
        // A code never straddles a 32-bit word: broadcast the word, shift by j b, mask.
        constexpr int perWord = 32 / Bits;
        const int words = chunks * Bits;
        for (int w = 0; w < words; ++w) {
            std::uint32_t word;
            std::memcpy(&word, bytes + 4 * w, 4);
            for (int j = 0; j < perWord; ++j)
                dst[w * perWord + j] =
                    dequantizeCode<Bits, Binary>((word >> (j * Bits)) & mask, zero, scale);
        }
    } else {
        // 8 codes are exactly b bytes: read them with one 64-bit load, which reaches up to
        // 8 - b bytes past them (into the next codes or the stream's padding, kStreamPadding).
        const int groups8 = chunks * 4;
        for (int c = 0; c < groups8; ++c) {
            std::uint64_t word;
            std::memcpy(&word, bytes + c * Bits, 8);
            for (int j = 0; j < 8; ++j)
                dst[c * 8 + j] = dequantizeCode<Bits, Binary>(unsigned((word >> (j * Bits)) & mask),
                                                              zero, scale);
        }
    }
    k += chunks * chunkCodes;

    for (; k < count; ++k)
        out[k] = dequantizeCode<Bits, Binary>(codeAt(packed, Bits, first + k), zero, scale);
}

} // namespace lq::packed_detail
