#pragma once

#include "core/packed/packedformat.h"

#include <cstdint>

namespace lq::packed_detail {

// The parts of a module applied by table lookup (AVX-512 with VBMI and GFNI). The mask
// kernel (maskkernel.h) spends one mask register per 16 weights, and a core makes about one mask
// register per cycle; here one VPERMPS does 64 weights: 16 lanes, each picking one of 16 partial
// sums by a 4-bit index.
//
// A side (rows of A_hat times x): the lanes are 16 binary rows, the index a row's 4 sign bits
// over 4 adjacent columns, the table the 16 subset sums of those 4 values of x. Per group,
// acc = sum of the looked-up subset sums, and the row's share is 2 d acc - d sum_j x_j.
//
// B side (columns of B_hat times t): the lanes are 16 output rows, the index a row's sign bits
// in 4 binary columns, the table the 16 subset sums of those columns' 2 d t_c, built once per
// group of g rows; each output gets base = -sum_c d t_c plus one lookup per 4 columns. The bits
// of 16 columns for 32 rows are turned row-major in registers (one 16 x 16 dword transpose per
// 512 rows, then a byte permute and one GF2P8AFFINEQB, which transposes 8 x 8 bit blocks).
//
// RTN parts of 1 to 4 bits (the high part): the lanes are 16 consecutive values of one vector and
// the index is their code itself (one VPMULTISHIFTQB from a broadcast 64-bit load), the table the
// 2^b values (q - z) d of the group, repeated. A side: one multiply-add by x per 16 values;
// B side: the table is scaled by t_c once per group, one add per 16 outputs and column.
//
// Both read the packed streams as they are: no second layout. Takes the shapes the mask kernel
// takes, binary parts and RTN parts of up to kMaxLookupCodeBits, on CPUs that also have AVX-512 BW,
// VL, VBMI and GFNI: kerneldispatch.h sends it those (KernelPath::Lookup).
inline constexpr int kMaxLookupCodeBits = 4;

// maskRowsTimesX for a part the dispatch gives KernelPath::Lookup.
void lookupRowsTimesX(const PackedVectors& part, int i0, int i1, const float* x,
                      std::int64_t xStride, int tokens, float* out);

// maskColumnsTimesT for a part the dispatch gives KernelPath::Lookup.
void lookupColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t, int tokens,
                         float* y, std::int64_t yStride, bool accumulate);

} // namespace lq::packed_detail
