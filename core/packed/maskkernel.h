#pragma once

#include "core/packed/packedformat.h"

#include <cstdint>

namespace lq::packed_detail {

// The parts of a module applied without decoding codes to floats. Within a group every value is
// affine in its code, alpha q - beta (RTN: alpha = d, beta = z d; binary: alpha = 2 d, beta = d),
// and a b-bit code is the sum of its bit planes, q = sum_p 2^p q_p. So a row of A_hat times x
// is, group by group,
//   alpha sum_p sum_{j: q_p(j) = 1} 2^p x_j  -  beta sum_j x_j
// and a column's share of B_hat t is a sum of +2^p alpha t_c over set bits minus beta t_c. With
// AVX-512 the bits of one plane for 16 codes are one mask register (loaded straight from a 1-bit
// stream, gathered with one PEXT from a wider one) and each plane costs one masked add per 16
// weights, where decoding costs a shift, a mask, a conversion and a multiply-add per 16.
//
// The two functions below are its AVX-512 form (F, DQ, BMI2 and F16C); avx2maskkernel.h has the
// AVX2 one. Both need
// every run of 16 codes they read to start on a byte of the stream and lie in one group; which
// parts, on which CPUs, take which form is kerneldispatch.h's choice (KernelPath::MaskAvx512).

// out[v * tokens + token] = sum over j in [i0, i1) of part(v, j) X(j, token) for every vector v
// of the part (rows of A_hat). i0 and i1 are multiples of 16. The order of every sum is fixed:
// the result depends on the inputs only.
void maskRowsTimesX(const PackedVectors& part, int i0, int i1, const float* x, std::int64_t xStride,
                    int tokens, float* out);

// Y(i, token) (+)= sum over v of part(v, i) t[v * tokens + token] for rows i in [i0, i1)
// (columns of B_hat; t holds the part's components of s A_hat X). Adds to Y when `accumulate`,
// else overwrites it. i0 and i1 are multiples of 16.
void maskColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t, int tokens,
                       float* y, std::int64_t yStride, bool accumulate);

} // namespace lq::packed_detail
