#pragma once

#include "core/packed/bitpacking.h"

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

inline constexpr int kChunkCodes = 32; // codes per chunk: 4 b bytes, whole bytes for every b

// Codes of one 32-code chunk starting at `bytes` (a chunk boundary of the stream), dequantized.
template <int Bits, bool Binary>
[[gnu::always_inline]] inline void decodeChunk(const std::uint8_t* bytes, float zero, float scale,
                                               float* out)
{
    static_assert(Bits >= kMinCodeBits && Bits <= kMaxCodeBits);
    static_assert(!Binary || Bits == 1, "binary codes are one bit");
    constexpr unsigned mask = (1u << Bits) - 1u;
    if constexpr (32 % Bits == 0) {
        // A code never straddles a 32-bit word: broadcast the word, shift by j b, mask.
        constexpr int perWord = 32 / Bits;
        for (int w = 0; w < Bits; ++w) {
            std::uint32_t word;
            std::memcpy(&word, bytes + 4 * w, 4);
            for (int j = 0; j < perWord; ++j)
                out[w * perWord + j] =
                    dequantizeCode<Bits, Binary>((word >> (j * Bits)) & mask, zero, scale);
        }
    } else {
        // 8 codes are exactly b bytes: read them with one 64-bit load, which reaches up to
        // 8 - b bytes past them (into the next codes or the stream's padding, kStreamPadding).
        for (int c = 0; c < 4; ++c) {
            std::uint64_t word;
            std::memcpy(&word, bytes + c * Bits, 8);
            for (int j = 0; j < 8; ++j)
                out[c * 8 + j] = dequantizeCode<Bits, Binary>(unsigned((word >> (j * Bits)) & mask),
                                                              zero, scale);
        }
    }
}

template <int Bits, bool Binary>
[[gnu::always_inline]] inline void decodeRun(const std::uint8_t* packed, std::int64_t first,
                                             int count, float zero, float scale, float* out)
{
    constexpr int chunkBytes = kChunkCodes * Bits / 8;
    int k = 0;
    for (; k < count && (first + k) % kChunkCodes != 0; ++k)
        out[k] = dequantizeCode<Bits, Binary>(codeAt(packed, Bits, first + k), zero, scale);
    const int chunks = (count - k) / kChunkCodes;
    const std::uint8_t* bytes = packed + (first + k) / kChunkCodes * chunkBytes;
    for (int c = 0; c < chunks; ++c)
        decodeChunk<Bits, Binary>(bytes + c * chunkBytes, zero, scale, out + k + c * kChunkCodes);
    k += chunks * kChunkCodes;
    for (; k < count; ++k)
        out[k] = dequantizeCode<Bits, Binary>(codeAt(packed, Bits, first + k), zero, scale);
}

} // namespace lq::packed_detail
