#include "core/packed/avx2maskkernel.h"

#include "core/packed/simdkernelsupport.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#define LQ_AVX2_MASK_KERNEL 1
#include <immintrin.h>
// Nothing here runs unless the CPU has AVX2 and FMA (kerneldispatch.h chooses this path only
// then).
#define LQ_AVX2_TARGET [[gnu::target("avx2,fma,f16c")]]
#else
#define LQ_AVX2_MASK_KERNEL 0
#endif

namespace lq::packed_detail {
namespace {

#if LQ_AVX2_MASK_KERNEL

// The kernel steps 16 codes at a time, as the AVX-512 form does (groups and lengths are multiples
// of 16): two registers of 8 lanes, the two halves of a step.
constexpr int kStepCodes = 16;
constexpr int kLanes = 8;

template <int Bits>
constexpr int kStepBytes = kStepCodes* Bits / 8;

// Up to 2 bits the 16 codes of a step are one 32-bit word, broadcast to both halves; at 3 and 4
// bits each half broadcasts its own 8 codes (at most 32 bits).
template <int Bits>
constexpr bool kOneWord = Bits <= 2;

// Where code 8 half + k of a step sits in lane k of word[half] (loadStep).
template <int Bits>
constexpr int codeBit(int half, int k)
{
    return Bits * (kOneWord<Bits> ? kLanes * half + k : k);
}

// Per-lane shift counts for the two halves of a step:
//   sign[half]:  left, code bit 0 to bit 31 (binary parts: the code is the sign);
//   index[half]: right, the code to the bottom of the lane (RTN: VPERMPS reads bits 0-2);
//   top[half]:   left, code bit 3 to bit 31 (4-bit codes: which of two tables).
template <int Bits>
struct StepShifts
{
    alignas(32) std::int32_t sign[2][kLanes] = {};
    alignas(32) std::int32_t index[2][kLanes] = {};
    alignas(32) std::int32_t top[2][kLanes] = {};

    constexpr StepShifts()
    {
        for (int half = 0; half < 2; ++half)
            for (int k = 0; k < kLanes; ++k) {
                sign[half][k] = 31 - codeBit<Bits>(half, k);
                index[half][k] = codeBit<Bits>(half, k);
                top[half][k] = Bits == 4 ? 31 - (codeBit<Bits>(half, k) + 3) : 0;
            }
    }
};

template <int Bits>
constexpr StepShifts<Bits> kStepShifts;

LQ_AVX2_TARGET inline __m256i loadShifts(const std::int32_t (&counts)[kLanes])
{
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(counts));
}

// The 8 lanes added in a fixed tree order.
LQ_AVX2_TARGET inline float laneSum(__m256 v)
{
    alignas(32) float lane[kLanes];
    _mm256_store_ps(lane, v);
    return treeSum(lane);
}

// The codes of one step at `bytes`, broadcast so that code 8 half + k is at bit codeBit(half, k)
// of word[half] lane k. The loads reach up to 2 bytes past the step's codes (into later codes or
// the stream's padding, kStreamPadding).
template <int Bits>
LQ_AVX2_TARGET inline void loadStep(const std::uint8_t* bytes, __m256i (&word)[2])
{
    if constexpr (kOneWord<Bits>) {
        std::uint32_t w;
        std::memcpy(&w, bytes, sizeof w);
        word[0] = word[1] = _mm256_set1_epi32(int(w));
    } else {
        std::uint64_t w;
        std::memcpy(&w, bytes, sizeof w);
        word[0] = _mm256_set1_epi32(int(std::uint32_t(w)));
        word[1] = _mm256_set1_epi32(int(std::uint32_t(w >> (kLanes * Bits))));
    }
}

// The B side's running outputs: rows [j, j + 16 Steps) of y (or zeros), 2 Steps registers.
// Accumulate is a template argument: chosen at run time, it made GCC keep both choices on the
// stack and copy them into the registers.
template <int Steps, bool Accumulate>
LQ_AVX2_TARGET inline void loadOutputs(const float* y, int j, __m256 (&acc)[Steps][2])
{
    for (int s = 0; s < Steps; ++s)
        for (int half = 0; half < 2; ++half)
            acc[s][half] = Accumulate ? _mm256_loadu_ps(y + j + s * kStepCodes + half * kLanes)
                                      : _mm256_setzero_ps();
}

template <int Steps>
LQ_AVX2_TARGET inline void storeOutputs(const __m256 (&acc)[Steps][2], int j, float* y)
{
    for (int s = 0; s < Steps; ++s)
        for (int half = 0; half < 2; ++half)
            _mm256_storeu_ps(y + j + s * kStepCodes + half * kLanes, acc[s][half]);
}

// Calls block(j, steps) over rows [j0, j1) of one group in blocks of 4 steps (64 rows: 8
// accumulators), then 2 and 1 for the rest; steps is a std::integral_constant.
template <typename Block>
void inStepBlocks(int j0, int j1, Block&& block)
{
    int j = j0;
    for (; j + 4 * kStepCodes <= j1; j += 4 * kStepCodes)
        block(j, std::integral_constant<int, 4>());
    if (j + 2 * kStepCodes <= j1) {
        block(j, std::integral_constant<int, 2>());
        j += 2 * kStepCodes;
    }
    if (j < j1)
        block(j, std::integral_constant<int, 1>());
}

// ---- binary parts: the code picks the sign ---------------------------------------------------

// +value in the lanes whose code is 1, -value in the others: a binary value (2 q - 1) d as one
// blend, with no term to take off afterwards.
LQ_AVX2_TARGET inline __m256 signSelect(__m256i word, int half, __m256 value, __m256 negated)
{
    const __m256i sign = _mm256_sllv_epi32(word, loadShifts(kStepShifts<1>.sign[half]));
    return _mm256_blendv_ps(negated, value, _mm256_castsi256_ps(sign));
}

// out[b * tokens] = binary vector v0 + b times x over [i0, i1) for Rows vectors at once: per
// group acc_b = sum of +-x by the codes' signs, then total_b += d acc_b. The Rows sums stay in
// registers; each 16 floats of x are loaded and negated once for all rows.
template <int Rows>
LQ_AVX2_TARGET void binaryRowBlockTimesX(const PackedVectors& part, int v0, int i0, int i1,
                                         const float* x, int tokens, float* out)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    const __m256 signBit = _mm256_set1_ps(-0.0f);
    const std::uint8_t* codes[Rows];
    for (int b = 0; b < Rows; ++b)
        codes[b] = codeBytes<1>(part, v0 + b, i0);
    __m256 total[Rows];
    for (int b = 0; b < Rows; ++b)
        total[b] = _mm256_setzero_ps();
    for (int j0 = i0; j0 < i1;) {
        const int group = j0 / g;
        const int j1 = std::min(i1, (group + 1) * g);
        __m256 acc[Rows];
        for (int b = 0; b < Rows; ++b)
            acc[b] = _mm256_setzero_ps();
        for (int j = j0; j < j1; j += kStepCodes) {
            __m256 xs[2], negated[2];
            for (int half = 0; half < 2; ++half) {
                xs[half] = _mm256_loadu_ps(x + j + half * kLanes);
                negated[half] = _mm256_xor_ps(xs[half], signBit);
            }
            for (int b = 0; b < Rows; ++b) {
                __m256i word[2];
                loadStep<1>(codes[b], word);
                codes[b] += kStepBytes<1>;
                for (int half = 0; half < 2; ++half)
                    acc[b] = _mm256_add_ps(acc[b],
                                           signSelect(word[half], half, xs[half], negated[half]));
            }
        }
        for (int b = 0; b < Rows; ++b)
            total[b] = _mm256_fmadd_ps(
                _mm256_set1_ps(groupScale(part, (v0 + b) * perVector + group)), acc[b], total[b]);
        j0 = j1;
    }
    for (int b = 0; b < Rows; ++b)
        out[std::int64_t(b) * tokens] = laneSum(total[b]);
}

// Rows of a binary part per pass over x: one accumulator each, with x, -x and the shifts in the
// other registers of the 16.
constexpr int kBinaryRows = 8;

// A block of exactly `rows` (1 .. Rows) binary vectors.
template <int Rows>
LQ_AVX2_TARGET void binaryBlockTimesX(const PackedVectors& part, int v0, int rows, int i0, int i1,
                                      const float* x, int tokens, float* out)
{
    if constexpr (Rows > 0) {
        if (rows == Rows)
            return binaryRowBlockTimesX<Rows>(part, v0, i0, i1, x, tokens, out);
        return binaryBlockTimesX<Rows - 1>(part, v0, rows, i0, i1, x, tokens, out);
    }
}

LQ_AVX2_TARGET void binaryRowsTimesX(const PackedVectors& part, int i0, int i1, const float* x,
                                     std::int64_t xStride, int tokens, float* out)
{
    for (int token = 0; token < tokens; ++token)
        for (int v0 = 0; v0 < part.count; v0 += kBinaryRows)
            binaryBlockTimesX<kBinaryRows>(part, v0, std::min(kBinaryRows, part.count - v0), i0, i1,
                                           x + token * xStride, tokens,
                                           out + std::int64_t(v0) * tokens + token);
}

// Rows [j, j + 16 Steps) of one group: y = (y +) sum over v of +-d_v t_v by the codes' signs,
// with 2 Steps independent sums. weights[2 v] = d_v t_v, weights[2 v + 1] = -d_v t_v.
template <int Steps, bool Accumulate>
LQ_AVX2_TARGET void binaryColumnBlockTimesT(const PackedVectors& part, int j, const float* weights,
                                            float* y)
{
    __m256 acc[Steps][2];
    loadOutputs<Steps, Accumulate>(y, j, acc);
    // Vector v's codes from row j on: lengths are multiples of 16, so v's stream starts on a byte.
    const std::uint8_t* first = codeBytes<1>(part, 0, j);
    const std::int64_t stride = part.length / 8;
    for (int v = 0; v < part.count; ++v) {
        const std::uint8_t* bytes = first + v * stride;
        const __m256 w = _mm256_set1_ps(weights[2 * v]);
        const __m256 negated = _mm256_set1_ps(weights[2 * v + 1]);
        for (int s = 0; s < Steps; ++s) {
            __m256i word[2];
            loadStep<1>(bytes + s * kStepBytes<1>, word);
            for (int half = 0; half < 2; ++half)
                acc[s][half] =
                    _mm256_add_ps(acc[s][half], signSelect(word[half], half, w, negated));
        }
    }
    storeOutputs(acc, j, y);
}

LQ_AVX2_TARGET void binaryColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t,
                                        int tokens, float* y, std::int64_t yStride, bool accumulate)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    thread_local std::vector<float> weights;
    weights.resize(std::size_t(part.count) * 2);
    for (int j0 = i0; j0 < i1;) {
        const int group = j0 / g;
        const int j1 = std::min(i1, (group + 1) * g);
        for (int token = 0; token < tokens; ++token) {
            for (int v = 0; v < part.count; ++v) {
                const float w =
                    groupScale(part, v * perVector + group) * t[std::int64_t(v) * tokens + token];
                weights[std::size_t(2 * v)] = w;
                weights[std::size_t(2 * v + 1)] = -w;
            }
            float* yt = y + token * yStride;
            inStepBlocks(j0, j1, [&](int j, auto steps) {
                constexpr int kSteps = decltype(steps)::value;
                if (accumulate)
                    binaryColumnBlockTimesT<kSteps, true>(part, j, weights.data(), yt);
                else
                    binaryColumnBlockTimesT<kSteps, false>(part, j, weights.data(), yt);
            });
        }
        j0 = j1;
    }
}

// ---- RTN parts of 1 to 4 bits: the code indexes a table of the group's values ----------------

// Tables of 8 values per group: 4-bit codes need two, picked by the code's bit 3.
template <int Bits>
constexpr int kTables = Bits == 4 ? 2 : 1;

// Lane l of table i: (c - z) d for the code c = (8 i + l) mod 2^b, computed as the reference
// dequantizes (float(c) - z is exact, then one rounding), times `factor` (1 on the A side, t_v on
// the B side). Repeating the values every 2^b lanes lets VPERMPS ignore the next code's bits
// above a code narrower than 3 bits.
template <int Bits>
LQ_AVX2_TARGET inline void valueTables(const PackedVectors& part, int group, float factor,
                                       __m256 (&table)[kTables<Bits>])
{
    const __m256 zero = _mm256_set1_ps(float(part.zero(group)));
    const __m256 scale = _mm256_set1_ps(groupScale(part, group));
    for (int i = 0; i < kTables<Bits>; ++i) {
        alignas(32) float codes[kLanes];
        for (int l = 0; l < kLanes; ++l)
            codes[l] = float((kLanes * i + l) % (1 << Bits));
        const __m256 values = _mm256_mul_ps(_mm256_sub_ps(_mm256_load_ps(codes), zero), scale);
        table[i] = factor == 1.0f ? values : _mm256_mul_ps(values, _mm256_set1_ps(factor));
    }
}

// The values of half a step's 8 codes: one variable shift and one VPERMPS (4 bits: two, and a
// blend by bit 3).
template <int Bits>
LQ_AVX2_TARGET inline __m256 lookupValues(__m256i word, int half,
                                          const __m256 (&table)[kTables<Bits>])
{
    const __m256i index = _mm256_srlv_epi32(word, loadShifts(kStepShifts<Bits>.index[half]));
    const __m256 low = _mm256_permutevar8x32_ps(table[0], index);
    if constexpr (Bits < 4) {
        return low;
    } else {
        const __m256 high = _mm256_permutevar8x32_ps(table[1], index);
        const __m256i top = _mm256_sllv_epi32(word, loadShifts(kStepShifts<Bits>.top[half]));
        return _mm256_blendv_ps(low, high, _mm256_castsi256_ps(top));
    }
}

// acc += the values of the 16 codes at `bytes` times x[0 .. 15].
template <int Bits>
LQ_AVX2_TARGET inline void addCodeStep(const std::uint8_t* bytes, const float* x,
                                       const __m256 (&table)[kTables<Bits>], __m256 (&acc)[2])
{
    __m256i word[2];
    loadStep<Bits>(bytes, word);
    for (int half = 0; half < 2; ++half)
        acc[half] = _mm256_fmadd_ps(lookupValues<Bits>(word[half], half, table),
                                    _mm256_loadu_ps(x + half * kLanes), acc[half]);
}

// Rows of an RTN part times x over [i0, i1), one row at a time (the high part has few): per 16
// values two lookups and two multiply-adds by x, into four sums (two steps in flight).
template <int Bits>
LQ_AVX2_TARGET void codeRowsTimesX(const PackedVectors& part, int i0, int i1, const float* x,
                                   std::int64_t xStride, int tokens, float* out)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    for (int token = 0; token < tokens; ++token) {
        const float* xt = x + token * xStride;
        for (int v = 0; v < part.count; ++v) {
            const std::uint8_t* bytes = codeBytes<Bits>(part, v, i0);
            __m256 acc[2][2] = {{_mm256_setzero_ps(), _mm256_setzero_ps()},
                                {_mm256_setzero_ps(), _mm256_setzero_ps()}};
            for (int j0 = i0; j0 < i1;) {
                const int group = j0 / g;
                const int j1 = std::min(i1, (group + 1) * g);
                __m256 table[kTables<Bits>];
                valueTables<Bits>(part, v * perVector + group, 1.0f, table);
                // Steps in pairs, the second into acc[1]: fixed indices keep the four sums in
                // registers (an index alternating at run time put them on the stack, and every
                // multiply-add waited for a store and a load).
                int j = j0;
                for (; j + 2 * kStepCodes <= j1; j += 2 * kStepCodes) {
                    addCodeStep<Bits>(bytes, xt + j, table, acc[0]);
                    addCodeStep<Bits>(bytes + kStepBytes<Bits>, xt + j + kStepCodes, table, acc[1]);
                    bytes += 2 * kStepBytes<Bits>;
                }
                if (j < j1) {
                    addCodeStep<Bits>(bytes, xt + j, table, acc[0]);
                    bytes += kStepBytes<Bits>;
                }
                j0 = j1;
            }
            out[std::int64_t(v) * tokens + token] = laneSum(_mm256_add_ps(
                _mm256_add_ps(acc[0][0], acc[0][1]), _mm256_add_ps(acc[1][0], acc[1][1])));
        }
    }
}

// y[j .. j + 16) = values (+ y when Add) for the 16 codes at `bytes`.
template <int Bits, bool Add>
LQ_AVX2_TARGET inline void storeCodeStep(const std::uint8_t* bytes,
                                         const __m256 (&table)[kTables<Bits>], float* y)
{
    __m256i word[2];
    loadStep<Bits>(bytes, word);
    for (int half = 0; half < 2; ++half) {
        const __m256 values = lookupValues<Bits>(word[half], half, table);
        float* at = y + half * kLanes;
        _mm256_storeu_ps(at, Add ? _mm256_add_ps(_mm256_loadu_ps(at), values) : values);
    }
}

// Columns of an RTN part times their share of t, rows [i0, i1): per group and column one table
// holds the column's values times t_c, and every 16 outputs take one lookup in it, column after
// column (the high part has few columns, so the outputs pass through L1 only a few times; blocks
// of 64 outputs over all columns had cost more in set-up than a column's work at h = 1). Each
// output adds the columns in order, as blocks did.
template <int Bits>
LQ_AVX2_TARGET void codeColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t,
                                      int tokens, float* y, std::int64_t yStride, bool accumulate)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    for (int token = 0; token < tokens; ++token) {
        float* yt = y + token * yStride;
        for (int j0 = i0; j0 < i1;) {
            const int group = j0 / g;
            const int j1 = std::min(i1, (group + 1) * g);
            for (int v = 0; v < part.count; ++v) {
                __m256 table[kTables<Bits>];
                valueTables<Bits>(part, v * perVector + group, t[std::int64_t(v) * tokens + token],
                                  table);
                const std::uint8_t* bytes = codeBytes<Bits>(part, v, j0);
                if (accumulate || v > 0) {
                    for (int j = j0; j < j1; j += kStepCodes, bytes += kStepBytes<Bits>)
                        storeCodeStep<Bits, true>(bytes, table, yt + j);
                } else {
                    for (int j = j0; j < j1; j += kStepCodes, bytes += kStepBytes<Bits>)
                        storeCodeStep<Bits, false>(bytes, table, yt + j);
                }
            }
            j0 = j1;
        }
    }
}

// ---- Many tokens: decoded tiles, register blocks ---------------------------------------------

// Values decoded per vector at a time: 2 KiB, so that 8 vectors' worth stays in L1.
constexpr int kDecodedChunk = 512;

// Values [i0, i1) of vector v (whole groups of 16-code steps, as the mask kernel's shapes are)
// into out[0 .. i1 - i0): the same values as the reference dequantizes, +-d for binary codes and
// (q - z) d for RTN ones.
template <int Bits>
LQ_AVX2_TARGET void decodeVector(const PackedVectors& part, int v, int i0, int i1, float* out)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    const std::uint8_t* bytes = codeBytes<Bits>(part, v, i0);
    for (int j0 = i0; j0 < i1;) {
        const int group = j0 / g;
        const int j1 = std::min(i1, (group + 1) * g);
        if constexpr (Bits == 1) {
            if (part.isBinary()) {
                const float d = groupScale(part, v * perVector + group);
                const __m256 value = _mm256_set1_ps(d), negated = _mm256_set1_ps(-d);
                for (int j = j0; j < j1; j += kStepCodes, bytes += kStepBytes<1>) {
                    __m256i word[2];
                    loadStep<1>(bytes, word);
                    for (int half = 0; half < 2; ++half)
                        _mm256_storeu_ps(out + (j - i0) + half * kLanes,
                                         signSelect(word[half], half, value, negated));
                }
                j0 = j1;
                continue;
            }
        }
        __m256 table[kTables<Bits>];
        valueTables<Bits>(part, v * perVector + group, 1.0f, table);
        for (int j = j0; j < j1; j += kStepCodes, bytes += kStepBytes<Bits>)
            storeCodeStep<Bits, false>(bytes, table, out + (j - i0));
        j0 = j1;
    }
}

// Component c of a factor over [i0, i1): the high part's vector c, or the low part's c - h.
template <int Bits>
LQ_AVX2_TARGET void decodeComponent(const PackedVectors& high, const PackedVectors& low, int c,
                                    int i0, int i1, float* out)
{
    if (c < high.count)
        decodeVector<Bits>(high, c, i0, i1, out);
    else
        decodeVector<1>(low, c - high.count, i0, i1, out);
}

// out[r * tokens + t] = row r . x_t over len values (a multiple of 16) for Rows rows and Tokens
// tokens. Every sum has its own two registers (values 16 i + k and 16 i + 8 + k in lane k) and
// the same final lane sum, so an output's bits do not depend on the block it was computed in.
template <int Rows, int Tokens>
LQ_AVX2_TARGET void decodedRowsTimesX(const float (*rows)[kDecodedChunk], const float* x,
                                      std::int64_t xStride, int len, float* out, int tokens,
                                      bool add)
{
    __m256 acc[Rows][Tokens][2];
    for (int r = 0; r < Rows; ++r)
        for (int t = 0; t < Tokens; ++t)
            acc[r][t][0] = acc[r][t][1] = _mm256_setzero_ps();
    for (int j = 0; j < len; j += kStepCodes) {
        __m256 xs[Tokens][2];
        for (int t = 0; t < Tokens; ++t)
            for (int half = 0; half < 2; ++half) {
                xs[t][half] = _mm256_loadu_ps(x + t * xStride + j + half * kLanes);
                // The empty asm "changes" the value, so it stays in a register: GCC otherwise
                // folded the load into each row's multiply-add, 12 loads per 8 multiply-adds
                // instead of 8 (the llama2-7b pass at T = 64: 61 -> 58 ms).
                asm("" : "+x"(xs[t][half]));
            }
        for (int r = 0; r < Rows; ++r)
            for (int half = 0; half < 2; ++half) {
                const __m256 value = _mm256_load_ps(rows[r] + j + half * kLanes);
                for (int t = 0; t < Tokens; ++t)
                    acc[r][t][half] = _mm256_fmadd_ps(value, xs[t][half], acc[r][t][half]);
            }
    }
    for (int r = 0; r < Rows; ++r)
        for (int t = 0; t < Tokens; ++t) {
            const float sum = laneSum(_mm256_add_ps(acc[r][t][0], acc[r][t][1]));
            float& o = out[std::int64_t(r) * tokens + t];
            o = add ? o + sum : sum;
        }
}

// avx2FactorRowsTimesX: up to 8 components decoded at a time (16 KiB), then for two tokens at a
// time (4 KiB of x) their dot products two components at a time, so that both stay in L1
// (component pairs outermost streamed all tokens' x from L2, and this side took half again as
// long as the B side). Chunk by chunk of [i0, i1): the kernel's tiles are one chunk; longer
// ranges add the chunks' sums in order.
template <int Bits>
LQ_AVX2_TARGET void decodedRowsTimesX(const PackedVectors& high, const PackedVectors& low, int i0,
                                      int i1, const float* x, std::int64_t xStride, int tokens,
                                      float* out)
{
    constexpr int kRows = 8;
    alignas(32) float rows[kRows][kDecodedChunk];
    const int r = high.count + low.count;
    for (int j0 = i0; j0 < i1; j0 += kDecodedChunk) {
        const int j1 = std::min(i1, j0 + kDecodedChunk);
        const float* xj = x + j0;
        for (int c0 = 0; c0 < r; c0 += kRows) {
            const int count = std::min(kRows, r - c0);
            for (int k = 0; k < count; ++k)
                decodeComponent<Bits>(high, low, c0 + k, j0, j1, rows[k]);
            const auto block = [&](int t, auto tokenCount) {
                constexpr int kTokens = decltype(tokenCount)::value;
                const float* xt = xj + t * xStride;
                float* o = out + std::int64_t(c0) * tokens + t;
                int k = 0;
                for (; k + 2 <= count; k += 2)
                    decodedRowsTimesX<2, kTokens>(rows + k, xt, xStride, j1 - j0,
                                                  o + std::int64_t(k) * tokens, tokens, j0 > i0);
                if (k < count)
                    decodedRowsTimesX<1, kTokens>(rows + k, xt, xStride, j1 - j0,
                                                  o + std::int64_t(k) * tokens, tokens, j0 > i0);
            };
            int t = 0;
            for (; t + 2 <= tokens; t += 2)
                block(t, std::integral_constant<int, 2>());
            if (t < tokens)
                block(t, std::integral_constant<int, 1>());
        }
    }
}

// Rows [0, len) of y (len a multiple of 16; y: the tile's first row of the first token) for
// Tokens tokens: y (+)= sum over the `columns` decoded columns of column c times
// coefficient[c * Tokens + t], in column order, each output loaded and stored once.
template <int Tokens>
LQ_AVX2_TARGET void decodedColumnsTimesT(const float (*columns)[kDecodedChunk], int count,
                                         const float* coefficient, int len, float* y,
                                         std::int64_t yStride, bool add)
{
    for (int j = 0; j < len; j += kStepCodes) {
        __m256 acc[Tokens][2];
        for (int t = 0; t < Tokens; ++t)
            for (int half = 0; half < 2; ++half)
                acc[t][half] = add ? _mm256_loadu_ps(y + t * yStride + j + half * kLanes)
                                   : _mm256_setzero_ps();
        for (int c = 0; c < count; ++c) {
            const __m256 value[2] = {_mm256_load_ps(columns[c] + j),
                                     _mm256_load_ps(columns[c] + j + kLanes)};
            for (int t = 0; t < Tokens; ++t) {
                const __m256 factor = _mm256_broadcast_ss(coefficient + c * Tokens + t);
                for (int half = 0; half < 2; ++half)
                    acc[t][half] = _mm256_fmadd_ps(value[half], factor, acc[t][half]);
            }
        }
        for (int t = 0; t < Tokens; ++t)
            for (int half = 0; half < 2; ++half)
                _mm256_storeu_ps(y + t * yStride + j + half * kLanes, acc[t][half]);
    }
}

// avx2FactorColumnsTimesT: up to 8 components decoded at a time (16 KiB), chunk by chunk of
// rows, then their sum for four tokens at a time.
template <int Bits>
LQ_AVX2_TARGET void decodedColumnsTimesT(const PackedVectors& high, const PackedVectors& low,
                                         int i0, int i1, const float* t, int tokens, float* y,
                                         std::int64_t yStride)
{
    constexpr int kColumns = 8;
    alignas(32) float columns[kColumns][kDecodedChunk];
    alignas(32) float coefficient[kColumns * 4];
    const int r = high.count + low.count;
    for (int j0 = i0; j0 < i1; j0 += kDecodedChunk) {
        const int j1 = std::min(i1, j0 + kDecodedChunk);
        for (int c0 = 0; c0 < r; c0 += kColumns) {
            const int count = std::min(kColumns, r - c0);
            for (int c = 0; c < count; ++c)
                decodeComponent<Bits>(high, low, c0 + c, j0, j1, columns[c]);
            const auto block = [&](int token, auto tokenCount) {
                constexpr int kTokens = decltype(tokenCount)::value;
                for (int c = 0; c < count; ++c)
                    for (int k = 0; k < kTokens; ++k)
                        coefficient[c * kTokens + k] = t[std::int64_t(c0 + c) * tokens + token + k];
                decodedColumnsTimesT<kTokens>(columns, count, coefficient, j1 - j0,
                                              y + token * yStride + j0, yStride, c0 > 0);
            };
            int token = 0;
            for (; token + 4 <= tokens; token += 4)
                block(token, std::integral_constant<int, 4>());
            for (; token < tokens; ++token)
                block(token, std::integral_constant<int, 1>());
        }
    }
}

// Calls f(std::integral_constant<int, bits>()) for the widths this form takes.
template <typename F>
void withAvx2Bits(int bits, F&& f)
{
    withBits(bits, [&](auto width) {
        if constexpr (decltype(width)::value <= kMaxAvx2MaskBits)
            f(width);
    });
}

#endif

} // namespace

#if LQ_AVX2_MASK_KERNEL

void avx2RowsTimesX(const PackedVectors& part, int i0, int i1, const float* x, std::int64_t xStride,
                    int tokens, float* out)
{
    if (part.isBinary())
        return binaryRowsTimesX(part, i0, i1, x, xStride, tokens, out);
    withAvx2Bits(part.bits, [&](auto bits) {
        codeRowsTimesX<decltype(bits)::value>(part, i0, i1, x, xStride, tokens, out);
    });
}

void avx2ColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t, int tokens,
                       float* y, std::int64_t yStride, bool accumulate)
{
    if (part.isBinary())
        return binaryColumnsTimesT(part, i0, i1, t, tokens, y, yStride, accumulate);
    withAvx2Bits(part.bits, [&](auto bits) {
        codeColumnsTimesT<decltype(bits)::value>(part, i0, i1, t, tokens, y, yStride, accumulate);
    });
}

void avx2FactorRowsTimesX(const PackedVectors& high, const PackedVectors& low, int i0, int i1,
                          const float* x, std::int64_t xStride, int tokens, float* out)
{
    withAvx2Bits(high.bits, [&](auto bits) {
        decodedRowsTimesX<decltype(bits)::value>(high, low, i0, i1, x, xStride, tokens, out);
    });
}

void avx2FactorColumnsTimesT(const PackedVectors& high, const PackedVectors& low, int i0, int i1,
                             const float* t, int tokens, float* y, std::int64_t yStride)
{
    withAvx2Bits(high.bits, [&](auto bits) {
        decodedColumnsTimesT<decltype(bits)::value>(high, low, i0, i1, t, tokens, y, yStride);
    });
}

#else

// Never called: CpuFeatures::detected() finds no AVX2 without x86-64 and GCC-style target
// attributes.
void avx2RowsTimesX(const PackedVectors&, int, int, const float*, std::int64_t, int, float*) {}
void avx2ColumnsTimesT(const PackedVectors&, int, int, const float*, int, float*, std::int64_t,
                       bool)
{}
void avx2FactorRowsTimesX(const PackedVectors&, const PackedVectors&, int, int, const float*,
                          std::int64_t, int, float*)
{}
void avx2FactorColumnsTimesT(const PackedVectors&, const PackedVectors&, int, int, const float*,
                             int, float*, std::int64_t)
{}

#endif

} // namespace lq::packed_detail
