#pragma once

#include "core/packed/packedformat.h"

#include <cstdint>

namespace lq::packed_detail {

// The mask kernel (maskkernel.h) for CPUs with AVX2 but without AVX-512, which have no mask
// registers. Per 8 codes one variable shift moves each code into place in its lane, and one
// blend or one permute picks what the lane adds:
//   binary parts (about nine tenths of the weights): +x or -x (B side: +d t_c or -d t_c), since
//   a binary value is +-d; one shift, one blend and one add per 8 weights;
//   RTN parts of up to 4 bits: no planes; the code, shifted to the bottom of its lane, indexes
//   a table of the group's 2^b values (VPERMPS: 8 entries, so 4-bit codes take two tables and a
//   blend by their top bit).
// Decoding spends about five instructions per 8 weights on shifting, masking, converting and
// scaling the codes; on a Zen 3 core this form applies a 4096 x 4096 rank-16 module (b_h 2) at
// T = 1 about three times as fast.
//
// Wider codes (b_h 5-8) would need 4 to 32 tables, so the AVX2 form takes codes of up to
// kMaxAvx2MaskBits; such CPUs decode wider parts. Shapes as for the AVX-512 form (multiples of 16
// codes, whole groups). kerneldispatch.h sends this form its parts (KernelPath::MaskAvx2 and
// Avx2DecodedTiles) on CPUs with AVX2 and FMA (every one of those has F16C too).
inline constexpr int kMaxAvx2MaskBits = 4;

// maskRowsTimesX and maskColumnsTimesT in AVX2.
void avx2RowsTimesX(const PackedVectors& part, int i0, int i1, const float* x, std::int64_t xStride,
                    int tokens, float* out);
void avx2ColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t, int tokens,
                       float* y, std::int64_t yStride, bool accumulate);

// From kAvx2DecodedTokens tokens on (kerneldispatch.h: KernelPath::Avx2DecodedTiles), the kernel
// (packedkernel.cpp) applies a module's tiles through the two functions below instead of the two
// above: the tile's components are decoded (16 values per blend or lookup, as above) and
// multiplied as floats in register blocks, so the codes are unpacked once per call rather than
// once per token, and each value loaded feeds two (A side) or four (B side) tokens'
// multiply-adds. Measured in docs/KERNELS.md.
//
// The whole factor at once, high part then low part (as packedkernel.h's components):
//   out[c * tokens + token] = sum over j in [i0, i1) of component c (j) X(j, token);
//   Y(i, token) = sum over c of component c (i) t[c * tokens + token] for rows i in [i0, i1)
//   (overwritten).
// Shapes as above, i0 and i1 multiples of 16. Every sum has a fixed order: the result depends on
// the inputs only.
void avx2FactorRowsTimesX(const PackedVectors& high, const PackedVectors& low, int i0, int i1,
                          const float* x, std::int64_t xStride, int tokens, float* out);
void avx2FactorColumnsTimesT(const PackedVectors& high, const PackedVectors& low, int i0, int i1,
                             const float* t, int tokens, float* y, std::int64_t yStride);

} // namespace lq::packed_detail
