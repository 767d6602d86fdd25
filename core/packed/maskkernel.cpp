#include "core/packed/maskkernel.h"

#include "core/packed/simdkernelsupport.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#define LQ_MASK_KERNEL_X86 1
#include <immintrin.h>
// Every function that touches a vector or mask register carries this; nothing here runs unless
// the CPU has AVX-512 (kerneldispatch.h chooses this path only then).
#define LQ_MASK_TARGET [[gnu::target("avx512f,avx512dq,bmi2,f16c")]]
#else
#define LQ_MASK_KERNEL_X86 0
#endif

namespace lq::packed_detail {
namespace {

constexpr int kWordCodes = 16; // codes per mask register: one float each in a 512-bit register

// Codes [16 k, 16 k + 16) of a b-bit stream start at byte 2 b k.
template <int Bits>
constexpr int kChunkBytes = (kWordCodes * Bits) / 8;

#if LQ_MASK_KERNEL_X86

struct Affine
{
    float alpha; // value = alpha q - beta
    float beta;
};

LQ_MASK_TARGET inline Affine affineOf(const PackedVectors& part, int group)
{
    const float d = groupScale(part, group);
    if (part.isBinary())
        return {2.0f * d, d};
    return {d, float(part.zero(group)) * d};
}

// Bits p, p + b, p + 2b, ... of `count` b-bit codes: plane 0 of a little-endian word.
template <int Bits>
constexpr std::uint64_t planeSelector(int count)
{
    std::uint64_t selector = 0;
    for (int k = 0; k < count; ++k)
        selector |= std::uint64_t(1) << (k * Bits);
    return selector;
}

// The Bits masks of 16 codes at `bytes`: bit k of plane p is bit p of code k. A 1-bit stream is
// its own plane; wider codes are gathered with PEXT, 16 at a time up to 4 bits and 8 at a time
// above (the 64-bit loads may run past the codes into later ones or the stream's padding,
// kStreamPadding).
template <int Bits>
LQ_MASK_TARGET inline void planeMasks(const std::uint8_t* bytes, __mmask16 (&mask)[Bits])
{
    if constexpr (Bits == 1) {
        std::uint16_t word;
        std::memcpy(&word, bytes, sizeof word);
        mask[0] = _cvtu32_mask16(word);
    } else if constexpr (Bits <= 4) {
        std::uint64_t word;
        std::memcpy(&word, bytes, sizeof word);
        for (int p = 0; p < Bits; ++p)
            mask[p] = _cvtu32_mask16(unsigned(_pext_u64(word, planeSelector<Bits>(16) << p)));
    } else {
        std::uint64_t low, high;
        std::memcpy(&low, bytes, sizeof low);
        std::memcpy(&high, bytes + Bits, sizeof high);
        for (int p = 0; p < Bits; ++p) {
            const std::uint64_t selector = planeSelector<Bits>(8) << p;
            mask[p] = _cvtu32_mask16(unsigned(_pext_u64(low, selector)) |
                                     unsigned(_pext_u64(high, selector)) << 8);
        }
    }
}

// out[b * tokens] = vector v0 + b times x over [i0, i1) for Rows vectors at once, so that each
// 16 floats of x (and their doublings, one per plane) are loaded once for all of them and the
// Rows sums stay in registers. Per group: acc_b = masked sums of 2^p x, then
// total_b += alpha acc_b - beta sum (the totals may live in memory: they change once a group).
template <int Bits, int Rows>
LQ_MASK_TARGET void rowBlockTimesX(const PackedVectors& part, int v0, int i0, int i1,
                                   const float* x, int tokens, float* out)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    const std::uint8_t* codes[Rows];
    for (int b = 0; b < Rows; ++b)
        codes[b] = codeBytes<Bits>(part, v0 + b, i0);
    __m512 total[Rows];
    for (int b = 0; b < Rows; ++b)
        total[b] = _mm512_setzero_ps();
    for (int j0 = i0; j0 < i1;) {
        const int group = j0 / g;
        const int j1 = std::min(i1, (group + 1) * g);
        __m512 sum = _mm512_setzero_ps();
        __m512 acc[Rows];
        for (int b = 0; b < Rows; ++b)
            acc[b] = _mm512_setzero_ps();
        for (int j = j0; j < j1; j += kWordCodes) {
            __m512 xp[Bits];
            xp[0] = _mm512_loadu_ps(x + j);
            for (int p = 1; p < Bits; ++p)
                xp[p] = _mm512_add_ps(xp[p - 1], xp[p - 1]); // 2^p x, exact
            sum = _mm512_add_ps(sum, xp[0]);
            for (int b = 0; b < Rows; ++b) {
                __mmask16 mask[Bits];
                planeMasks<Bits>(codes[b], mask);
                codes[b] += kChunkBytes<Bits>;
                for (int p = 0; p < Bits; ++p)
                    acc[b] = _mm512_mask_add_ps(acc[b], mask[p], acc[b], xp[p]);
            }
        }
        for (int b = 0; b < Rows; ++b) {
            const Affine f = affineOf(part, (v0 + b) * perVector + group);
            total[b] = _mm512_fmadd_ps(_mm512_set1_ps(f.alpha), acc[b], total[b]);
            total[b] = _mm512_fnmadd_ps(_mm512_set1_ps(f.beta), sum, total[b]);
        }
        j0 = j1;
    }
    for (int b = 0; b < Rows; ++b)
        out[std::int64_t(b) * tokens] = laneSum(total[b]);
}

// A block of exactly `rows` (1 .. Rows) 1-bit vectors: with one accumulator per row, 16 rows fit
// the 32 registers, so the binary rows of a module of rank <= 16 take one pass over x.
template <int Rows>
LQ_MASK_TARGET void binaryBlockTimesX(const PackedVectors& part, int v0, int rows, int i0, int i1,
                                      const float* x, int tokens, float* out)
{
    if constexpr (Rows > 0) {
        if (rows == Rows)
            return rowBlockTimesX<1, Rows>(part, v0, i0, i1, x, tokens, out);
        return binaryBlockTimesX<Rows - 1>(part, v0, rows, i0, i1, x, tokens, out);
    }
}

// Binary parts in blocks of up to 16 rows, each block exactly as many rows as remain. Wider codes
// (the high part, where h is usually 1 to 4) in blocks of 8, 4, 2 and 1: four variants per width
// instead of sixteen.
template <int Bits>
LQ_MASK_TARGET void rowsTimesX(const PackedVectors& part, int i0, int i1, const float* x,
                               std::int64_t xStride, int tokens, float* out)
{
    for (int token = 0; token < tokens; ++token) {
        const float* xt = x + token * xStride;
        const auto at = [&](int v) { return out + std::int64_t(v) * tokens + token; };
        if constexpr (Bits == 1) {
            for (int v0 = 0; v0 < part.count; v0 += 16)
                binaryBlockTimesX<16>(part, v0, std::min(16, part.count - v0), i0, i1, xt, tokens,
                                      at(v0));
        } else {
            int v0 = 0;
            for (; v0 + 8 <= part.count; v0 += 8)
                rowBlockTimesX<Bits, 8>(part, v0, i0, i1, xt, tokens, at(v0));
            if (v0 + 4 <= part.count) {
                rowBlockTimesX<Bits, 4>(part, v0, i0, i1, xt, tokens, at(v0));
                v0 += 4;
            }
            if (v0 + 2 <= part.count) {
                rowBlockTimesX<Bits, 2>(part, v0, i0, i1, xt, tokens, at(v0));
                v0 += 2;
            }
            if (v0 < part.count)
                rowBlockTimesX<Bits, 1>(part, v0, i0, i1, xt, tokens, at(v0));
        }
    }
}

// Rows [j, j + 16 Chunks) of one group: y = (y +) base + the weights of every set bit, with
// Chunks independent sums so that the masked adds do not wait on each other.
// weights[v * Bits + p] = 2^p alpha_v t_v, base = -sum_v beta_v t_v.
template <int Bits, int Chunks>
LQ_MASK_TARGET void columnBlockTimesT(const PackedVectors& part, int j, const float* weights,
                                      float base, float* y, bool accumulate)
{
    __m512 acc[Chunks];
    const __m512 baseVector = _mm512_set1_ps(base);
    for (int c = 0; c < Chunks; ++c)
        acc[c] = accumulate ? _mm512_add_ps(_mm512_loadu_ps(y + j + c * kWordCodes), baseVector)
                            : baseVector;
    for (int v = 0; v < part.count; ++v) {
        const std::uint8_t* bytes = codeBytes<Bits>(part, v, j);
        __m512 w[Bits];
        for (int p = 0; p < Bits; ++p)
            w[p] = _mm512_set1_ps(weights[v * Bits + p]);
        for (int c = 0; c < Chunks; ++c) {
            __mmask16 mask[Bits];
            planeMasks<Bits>(bytes + c * kChunkBytes<Bits>, mask);
            for (int p = 0; p < Bits; ++p)
                acc[c] = _mm512_mask_add_ps(acc[c], mask[p], acc[c], w[p]);
        }
    }
    for (int c = 0; c < Chunks; ++c)
        _mm512_storeu_ps(y + j + c * kWordCodes, acc[c]);
}

template <int Bits>
LQ_MASK_TARGET void columnsTimesT(const PackedVectors& part, int i0, int i1, const float* t,
                                  int tokens, float* y, std::int64_t yStride, bool accumulate)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    thread_local std::vector<float> weights;
    weights.resize(std::size_t(part.count) * Bits);
    for (int j0 = i0; j0 < i1;) {
        const int group = j0 / g;
        const int j1 = std::min(i1, (group + 1) * g);
        for (int token = 0; token < tokens; ++token) {
            float base = 0;
            for (int v = 0; v < part.count; ++v) {
                const Affine f = affineOf(part, v * perVector + group);
                const float tv = t[std::int64_t(v) * tokens + token];
                float w = f.alpha * tv;
                for (int p = 0; p < Bits; ++p, w += w)
                    weights[std::size_t(v * Bits + p)] = w;
                base -= f.beta * tv;
            }
            float* yt = y + token * yStride;
            // Blocks of 8 chunks (a group of 128), then 4, 2 and 1 for the rest.
            int j = j0;
            for (; j + 8 * kWordCodes <= j1; j += 8 * kWordCodes)
                columnBlockTimesT<Bits, 8>(part, j, weights.data(), base, yt, accumulate);
            if (j + 4 * kWordCodes <= j1) {
                columnBlockTimesT<Bits, 4>(part, j, weights.data(), base, yt, accumulate);
                j += 4 * kWordCodes;
            }
            if (j + 2 * kWordCodes <= j1) {
                columnBlockTimesT<Bits, 2>(part, j, weights.data(), base, yt, accumulate);
                j += 2 * kWordCodes;
            }
            if (j < j1)
                columnBlockTimesT<Bits, 1>(part, j, weights.data(), base, yt, accumulate);
        }
        j0 = j1;
    }
}

#endif

} // namespace

#if LQ_MASK_KERNEL_X86

void maskRowsTimesX(const PackedVectors& part, int i0, int i1, const float* x, std::int64_t xStride,
                    int tokens, float* out)
{
    withBits(part.bits, [&](auto bits) {
        rowsTimesX<decltype(bits)::value>(part, i0, i1, x, xStride, tokens, out);
    });
}

void maskColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t, int tokens,
                       float* y, std::int64_t yStride, bool accumulate)
{
    withBits(part.bits, [&](auto bits) {
        columnsTimesT<decltype(bits)::value>(part, i0, i1, t, tokens, y, yStride, accumulate);
    });
}

#else

// Never called: CpuFeatures::detected() finds no AVX-512 without x86-64 and GCC-style target
// attributes.
void maskRowsTimesX(const PackedVectors&, int, int, const float*, std::int64_t, int, float*) {}
void maskColumnsTimesT(const PackedVectors&, int, int, const float*, int, float*, std::int64_t,
                       bool)
{}

#endif

} // namespace lq::packed_detail
