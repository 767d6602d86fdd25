#include "avx2maskkernel.h"

#include "simdkernelsupport.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#define LQ_AVX2_MASK_KERNEL 1
#include <immintrin.h>
// Nothing here runs unless avx2MaskKernelSupported() said yes.
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

// shift[p][half][k] moves bit p of code 8 half + k of a step to bit 31 of lane k.
template <int Bits>
struct PlaneShifts
{
    alignas(32) std::int32_t shift[Bits][2][kLanes] = {};

    constexpr PlaneShifts()
    {
        for (int p = 0; p < Bits; ++p)
            for (int half = 0; half < 2; ++half)
                for (int k = 0; k < kLanes; ++k) {
                    const int code = kOneWord<Bits> ? kLanes * half + k : k;
                    shift[p][half][k] = 31 - (Bits * code + p);
                }
    }
};

template <int Bits>
constexpr PlaneShifts<Bits> kPlaneShifts;

LQ_AVX2_TARGET inline float scaleOf(const PackedVectors& part, int group)
{
    const auto index = std::size_t(group);
    return part.scaleFormat == ScaleFormat::F16 ? _cvtsh_ss(part.scalesF16[index])
                                                : part.scalesF32[index];
}

// An RTN value is d q - z d (binary parts have their own functions below).
struct Affine
{
    float alpha; // d
    float beta;  // z d
};

LQ_AVX2_TARGET inline Affine affineOf(const PackedVectors& part, int group)
{
    const float d = scaleOf(part, group);
    return {d, float(part.zero(group)) * d};
}

// The 8 lanes added in a fixed tree order.
LQ_AVX2_TARGET inline float laneSum(__m256 v)
{
    alignas(32) float lane[kLanes];
    _mm256_store_ps(lane, v);
    for (int width = kLanes / 2; width > 0; width /= 2)
        for (int k = 0; k < width; ++k)
            lane[k] += lane[k + width];
    return lane[0];
}

// The codes of one step at `bytes`, broadcast so that kPlaneShifts finds them: word[half] lane k
// holds code 8 half + k at bit Bits * (8 half + k) (one word) or Bits * k. The loads reach up to
// 2 bytes past the step's codes (into later codes or the stream's padding, kStreamPadding).
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

// `value` in the lanes whose code has bit p set, zero in the others.
template <int Bits>
LQ_AVX2_TARGET inline __m256 planeSelect(__m256i word, int p, int half, __m256 value)
{
    const __m256i shift =
        _mm256_load_si256(reinterpret_cast<const __m256i*>(kPlaneShifts<Bits>.shift[p][half]));
    const __m256 sign = _mm256_castsi256_ps(_mm256_sllv_epi32(word, shift));
    return _mm256_blendv_ps(_mm256_setzero_ps(), value, sign);
}

// +value in the lanes whose code is 1, -value in the others: a binary code's sign (value
// = (2 q - 1) d) as one blend, with no term to take off afterwards.
LQ_AVX2_TARGET inline __m256 signSelect(__m256i word, int half, __m256 value, __m256 negated)
{
    const __m256i shift =
        _mm256_load_si256(reinterpret_cast<const __m256i*>(kPlaneShifts<1>.shift[0][half]));
    return _mm256_blendv_ps(negated, value, _mm256_castsi256_ps(_mm256_sllv_epi32(word, shift)));
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
            total[b] = _mm256_fmadd_ps(_mm256_set1_ps(scaleOf(part, (v0 + b) * perVector + group)),
                                       acc[b], total[b]);
        j0 = j1;
    }
    for (int b = 0; b < Rows; ++b)
        out[std::int64_t(b) * tokens] = laneSum(total[b]);
}

// out[b * tokens] = RTN vector v0 + b times x over [i0, i1) for Rows vectors at once: each 16
// floats of x (and their doublings, one per plane) are loaded once for all of them and the Rows
// sums stay in registers. Per group: acc_b = selected sums of 2^p x, then
// total_b += alpha acc_b - beta sum.
template <int Bits, int Rows>
LQ_AVX2_TARGET void rowBlockTimesX(const PackedVectors& part, int v0, int i0, int i1,
                                   const float* x, int tokens, float* out)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    const std::uint8_t* codes[Rows];
    for (int b = 0; b < Rows; ++b)
        codes[b] = codeBytes<Bits>(part, v0 + b, i0);
    __m256 total[Rows];
    for (int b = 0; b < Rows; ++b)
        total[b] = _mm256_setzero_ps();
    for (int j0 = i0; j0 < i1;) {
        const int group = j0 / g;
        const int j1 = std::min(i1, (group + 1) * g);
        __m256 sum = _mm256_setzero_ps();
        __m256 acc[Rows];
        for (int b = 0; b < Rows; ++b)
            acc[b] = _mm256_setzero_ps();
        for (int j = j0; j < j1; j += kStepCodes) {
            __m256 xp[Bits][2];
            xp[0][0] = _mm256_loadu_ps(x + j);
            xp[0][1] = _mm256_loadu_ps(x + j + kLanes);
            for (int p = 1; p < Bits; ++p)
                for (int half = 0; half < 2; ++half)
                    xp[p][half] = _mm256_add_ps(xp[p - 1][half], xp[p - 1][half]); // exact
            sum = _mm256_add_ps(sum, _mm256_add_ps(xp[0][0], xp[0][1]));
            for (int b = 0; b < Rows; ++b) {
                __m256i word[2];
                loadStep<Bits>(codes[b], word);
                codes[b] += kStepBytes<Bits>;
                for (int p = 0; p < Bits; ++p)
                    for (int half = 0; half < 2; ++half)
                        acc[b] = _mm256_add_ps(acc[b],
                                               planeSelect<Bits>(word[half], p, half, xp[p][half]));
            }
        }
        for (int b = 0; b < Rows; ++b) {
            const Affine f = affineOf(part, (v0 + b) * perVector + group);
            total[b] = _mm256_fmadd_ps(_mm256_set1_ps(f.alpha), acc[b], total[b]);
            total[b] = _mm256_fnmadd_ps(_mm256_set1_ps(f.beta), sum, total[b]);
        }
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

template <int Bits>
LQ_AVX2_TARGET void rowsTimesX(const PackedVectors& part, int i0, int i1, const float* x,
                               std::int64_t xStride, int tokens, float* out)
{
    for (int token = 0; token < tokens; ++token) {
        const float* xt = x + token * xStride;
        const auto at = [&](int v) { return out + std::int64_t(v) * tokens + token; };
        if (part.isBinary()) {
            for (int v0 = 0; v0 < part.count; v0 += kBinaryRows)
                binaryBlockTimesX<kBinaryRows>(part, v0, std::min(kBinaryRows, part.count - v0), i0,
                                               i1, xt, tokens, at(v0));
        } else {
            // RTN: the high part (h is usually 1 to 4), in blocks of 4, 2 and 1.
            int v0 = 0;
            for (; v0 + 4 <= part.count; v0 += 4)
                rowBlockTimesX<Bits, 4>(part, v0, i0, i1, xt, tokens, at(v0));
            if (v0 + 2 <= part.count) {
                rowBlockTimesX<Bits, 2>(part, v0, i0, i1, xt, tokens, at(v0));
                v0 += 2;
            }
            if (v0 < part.count)
                rowBlockTimesX<Bits, 1>(part, v0, i0, i1, xt, tokens, at(v0));
        }
    }
}

// Rows [j, j + 16 Steps) of one group of an RTN part: y = (y +) base + the weights of every set
// bit, with 2 Steps independent sums. weights[v * Bits + p] = 2^p alpha_v t_v,
// base = -sum_v beta_v t_v.
template <int Bits, int Steps>
LQ_AVX2_TARGET void columnBlockTimesT(const PackedVectors& part, int j, const float* weights,
                                      float base, float* y, bool accumulate)
{
    __m256 acc[Steps][2];
    const __m256 baseVector = _mm256_set1_ps(base);
    for (int s = 0; s < Steps; ++s)
        for (int half = 0; half < 2; ++half) {
            float* at = y + j + s * kStepCodes + half * kLanes;
            acc[s][half] = accumulate ? _mm256_add_ps(_mm256_loadu_ps(at), baseVector) : baseVector;
        }
    for (int v = 0; v < part.count; ++v) {
        const std::uint8_t* bytes = codeBytes<Bits>(part, v, j);
        __m256 w[Bits];
        for (int p = 0; p < Bits; ++p)
            w[p] = _mm256_set1_ps(weights[v * Bits + p]);
        for (int s = 0; s < Steps; ++s) {
            __m256i word[2];
            loadStep<Bits>(bytes + s * kStepBytes<Bits>, word);
            for (int p = 0; p < Bits; ++p)
                for (int half = 0; half < 2; ++half)
                    acc[s][half] =
                        _mm256_add_ps(acc[s][half], planeSelect<Bits>(word[half], p, half, w[p]));
        }
    }
    for (int s = 0; s < Steps; ++s)
        for (int half = 0; half < 2; ++half)
            _mm256_storeu_ps(y + j + s * kStepCodes + half * kLanes, acc[s][half]);
}

// The same for a binary part: y = (y +) sum over v of +-d_v t_v by the codes' signs.
// weights[2 v] = d_v t_v, weights[2 v + 1] = -d_v t_v.
template <int Steps>
LQ_AVX2_TARGET void binaryColumnBlockTimesT(const PackedVectors& part, int j, const float* weights,
                                            float* y, bool accumulate)
{
    __m256 acc[Steps][2];
    for (int s = 0; s < Steps; ++s)
        for (int half = 0; half < 2; ++half)
            acc[s][half] = accumulate ? _mm256_loadu_ps(y + j + s * kStepCodes + half * kLanes)
                                      : _mm256_setzero_ps();
    for (int v = 0; v < part.count; ++v) {
        const std::uint8_t* bytes = codeBytes<1>(part, v, j);
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
    for (int s = 0; s < Steps; ++s)
        for (int half = 0; half < 2; ++half)
            _mm256_storeu_ps(y + j + s * kStepCodes + half * kLanes, acc[s][half]);
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
                    scaleOf(part, v * perVector + group) * t[std::int64_t(v) * tokens + token];
                weights[std::size_t(2 * v)] = w;
                weights[std::size_t(2 * v + 1)] = -w;
            }
            float* yt = y + token * yStride;
            int j = j0;
            for (; j + 4 * kStepCodes <= j1; j += 4 * kStepCodes)
                binaryColumnBlockTimesT<4>(part, j, weights.data(), yt, accumulate);
            if (j + 2 * kStepCodes <= j1) {
                binaryColumnBlockTimesT<2>(part, j, weights.data(), yt, accumulate);
                j += 2 * kStepCodes;
            }
            if (j < j1)
                binaryColumnBlockTimesT<1>(part, j, weights.data(), yt, accumulate);
        }
        j0 = j1;
    }
}

template <int Bits>
LQ_AVX2_TARGET void columnsTimesT(const PackedVectors& part, int i0, int i1, const float* t,
                                  int tokens, float* y, std::int64_t yStride, bool accumulate)
{
    if (part.isBinary())
        return binaryColumnsTimesT(part, i0, i1, t, tokens, y, yStride, accumulate);
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
            // Blocks of 4 steps (64 rows: 8 accumulators), then 2 and 1 for the rest.
            int j = j0;
            for (; j + 4 * kStepCodes <= j1; j += 4 * kStepCodes)
                columnBlockTimesT<Bits, 4>(part, j, weights.data(), base, yt, accumulate);
            if (j + 2 * kStepCodes <= j1) {
                columnBlockTimesT<Bits, 2>(part, j, weights.data(), base, yt, accumulate);
                j += 2 * kStepCodes;
            }
            if (j < j1)
                columnBlockTimesT<Bits, 1>(part, j, weights.data(), base, yt, accumulate);
        }
        j0 = j1;
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

bool avx2MaskKernelSupported()
{
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
}

void avx2RowsTimesX(const PackedVectors& part, int i0, int i1, const float* x, std::int64_t xStride,
                    int tokens, float* out)
{
    withAvx2Bits(part.bits, [&](auto bits) {
        rowsTimesX<decltype(bits)::value>(part, i0, i1, x, xStride, tokens, out);
    });
}

void avx2ColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t, int tokens,
                       float* y, std::int64_t yStride, bool accumulate)
{
    withAvx2Bits(part.bits, [&](auto bits) {
        columnsTimesT<decltype(bits)::value>(part, i0, i1, t, tokens, y, yStride, accumulate);
    });
}

#else

bool avx2MaskKernelSupported()
{
    return false;
}

// Never called: avx2MaskKernelSupported() is false without x86-64 and GCC-style target
// attributes.
void avx2RowsTimesX(const PackedVectors&, int, int, const float*, std::int64_t, int, float*) {}
void avx2ColumnsTimesT(const PackedVectors&, int, int, const float*, int, float*, std::int64_t,
                       bool)
{}

#endif

} // namespace lq::packed_detail
