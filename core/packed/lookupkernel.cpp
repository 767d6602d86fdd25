// GCC 12 reports -Wmaybe-uninitialized (and at -O1 -Wuninitialized) inside its own AVX-512
// headers for most of the shuffles used here: they start from _mm512_undefined_*(), which is
// meant to be uninitialized. The pragma has to come before any header that may pull in
// immintrin.h.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "core/packed/lookupkernel.h"

#include "core/packed/simdkernelsupport.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#define LQ_LOOKUP_KERNEL_X86 1
#include <immintrin.h>
// Nothing here runs unless the CPU has these (kerneldispatch.h chooses this path only then).
#define LQ_LOOKUP_TARGET                                                                           \
    [[gnu::target("avx512f,avx512dq,avx512bw,avx512vl,avx512vbmi,gfni,bmi2,f16c")]]
#else
#define LQ_LOOKUP_KERNEL_X86 0
#endif

namespace lq::packed_detail {
namespace {

#if LQ_LOOKUP_KERNEL_X86

constexpr int kLanes = 16;
// Values of one vector read at a time: 64 bytes of a 1-bit stream, one register per vector.
constexpr int kBlockValues = 512;
constexpr int kBlockSlices = kBlockValues / kLanes;

// The 16 subset sums of v[0 .. 3]: lane l holds the sum of v[k] over the set bits k of l.
LQ_LOOKUP_TARGET inline __m512 subsetSums(const float* v)
{
    __m512 sums = _mm512_maskz_mov_ps(0xAAAA, _mm512_set1_ps(v[0]));
    sums = _mm512_mask_add_ps(sums, 0xCCCC, sums, _mm512_set1_ps(v[1]));
    sums = _mm512_mask_add_ps(sums, 0xF0F0, sums, _mm512_set1_ps(v[2]));
    return _mm512_mask_add_ps(sums, 0xFF00, sums, _mm512_set1_ps(v[3]));
}

// The sum of the 16 lanes in every lane, in registers (a fixed order per lane: the rows of a
// block may see sums that differ in the last bit, each the same from call to call).
LQ_LOOKUP_TARGET inline __m512 allLanesSum(__m512 v)
{
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4E));
    return _mm512_add_ps(v, _mm512_permute_ps(v, 0xB1));
}

LQ_LOOKUP_TARGET inline void transpose16x16(__m512i (&block)[kLanes]);

// Vectors v0 .. v0 + count - 1 (count <= 16) of a 1-bit stream from value j on, `values` (a
// multiple of 16, at most 512) of each, turned so that block[k] lane b holds bits
// [j + 32 k, j + 32 k + 32) of vector v0 + b (bit i: value j + 32 k + i). Lanes past `count` and
// bits past `values` are zero; nothing past them is read.
LQ_LOOKUP_TARGET inline void loadTransposed(const PackedVectors& part, int v0, int count, int j,
                                            int values, __m512i (&block)[kLanes])
{
    const __mmask64 bytes =
        values == kBlockValues ? ~__mmask64(0) : (__mmask64(1) << (values / 8)) - 1;
    for (int b = 0; b < kLanes; ++b)
        block[b] =
            b < count ? _mm512_maskz_loadu_epi8(
                            bytes, part.codes.data() + (std::int64_t(v0 + b) * part.length + j) / 8)
                      : _mm512_setzero_si512();
    transpose16x16(block);
}

// block[k] lane b <- block[b] lane k, for 16 registers of 16 dwords.
LQ_LOOKUP_TARGET inline void transpose16x16(__m512i (&block)[kLanes])
{
    // Pairs of dwords, then of qwords, inside each 128-bit lane; then the 128-bit lanes of four
    // registers at a time, in two steps.
    __m512i t[kLanes];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_epi32(block[2 * i], block[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(block[2 * i], block[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        block[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        block[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        block[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        block[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    // Now 128-bit lane L of block[4 i + e] holds dword 4 L + e of vectors 4 i .. 4 i + 3.
    for (int e = 0; e < 4; ++e) {
        const __m512i low01 = _mm512_shuffle_i32x4(block[e], block[4 + e], 0x44);
        const __m512i high01 = _mm512_shuffle_i32x4(block[e], block[4 + e], 0xEE);
        const __m512i low23 = _mm512_shuffle_i32x4(block[8 + e], block[12 + e], 0x44);
        const __m512i high23 = _mm512_shuffle_i32x4(block[8 + e], block[12 + e], 0xEE);
        t[e] = _mm512_shuffle_i32x4(low01, low23, 0x88);
        t[4 + e] = _mm512_shuffle_i32x4(low01, low23, 0xDD);
        t[8 + e] = _mm512_shuffle_i32x4(high01, high23, 0x88);
        t[12 + e] = _mm512_shuffle_i32x4(high01, high23, 0xDD);
    }
    for (int k = 0; k < kLanes; ++k)
        block[k] = t[k];
}

// The scales of vectors v0 .. v0 + count - 1 (count <= 16) for their groups first .. first + n - 1
// (n <= 16; numbered within the vector, as groupsPerVector counts them): out[k] lane b is vector
// v0 + b's scale of group first + k. A masked load of each vector's n consecutive scales and one
// transpose, where 16 scalar loads and conversions per group cost as much as the lookups at
// rank 64.
LQ_LOOKUP_TARGET inline void loadScales(const PackedVectors& part, int v0, int count, int first,
                                        int n, __m512* out)
{
    const int perVector = groupsPerVector(part);
    const auto mask = __mmask16((1u << n) - 1);
    __m512i rows[kLanes];
    for (int b = 0; b < kLanes; ++b) {
        if (b >= count) {
            rows[b] = _mm512_setzero_si512();
            continue;
        }
        const std::size_t at = std::size_t(v0 + b) * std::size_t(perVector) + std::size_t(first);
        rows[b] = _mm512_castps_si512(
            part.scaleFormat == ScaleFormat::F16
                ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, part.scalesF16.data() + at))
                : _mm512_maskz_loadu_ps(mask, part.scalesF32.data() + at));
    }
    transpose16x16(rows);
    for (int k = 0; k < n; ++k)
        out[k] = _mm512_castsi512_ps(rows[k]);
}

// The subset sums of x[4 c .. 4 c + 3] (subsetSums) for the 4-column chunks c of [i0, i1), 16
// floats each: with more than 16 binary rows every block of 16 reads them instead of building
// them again (they are most of the A side's work).
struct SubsetSumTables
{
    const float* first = nullptr; // the chunk at i0
    int i0 = 0;
};

// The table of the 4 columns from j on: built here, or read from `tables` when Prebuilt.
template <bool Prebuilt>
LQ_LOOKUP_TARGET inline __m512 tableAt(const SubsetSumTables& tables, const float* x, int j)
{
    if constexpr (Prebuilt)
        return _mm512_loadu_ps(tables.first + std::int64_t(j - tables.i0) * 4);
    else
        return subsetSums(x + j);
}

// Up to 16 binary rows v0 .. v0 + count - 1 times x over [i0, i1): lane b of the result is row
// v0 + b's share. Per 16 columns one transposed dword half gives every row's 16 sign bits, and
// four lookups (one per 4 columns) add their subset sums of x.
template <bool Prebuilt>
LQ_LOOKUP_TARGET __m512 binaryRowsTimesX(const PackedVectors& part, int v0, int count, int i0,
                                         int i1, const float* x, const SubsetSumTables& tables)
{
    const int g = part.groupSize;
    const __m512 zero = _mm512_setzero_ps();
    __m512 total = zero, even = zero, odd = zero, sum = zero;
    for (int jb = i0; jb < i1; jb += kBlockValues) {
        const int values = std::min(kBlockValues, i1 - jb);
        __m512i bits[kLanes];
        loadTransposed(part, v0, count, jb, values, bits);
        // The groups this block of values touches: at most 512 / 16 + 1.
        const int firstGroup = jb / g;
        const int groups = (jb + values - 1) / g - firstGroup + 1;
        __m512 scale[kBlockSlices + kLanes];
        for (int k = 0; k < groups; k += kLanes)
            loadScales(part, v0, count, firstGroup + k, std::min(kLanes, groups - k), scale + k);
        for (int k = 0; k < values / kLanes; ++k) {
            const int j = jb + k * kLanes;
            const __m512i index = k % 2 == 0 ? bits[k / 2] : _mm512_srli_epi32(bits[k / 2], kLanes);
            sum = _mm512_add_ps(sum, _mm512_loadu_ps(x + j));
            // VPERMPS reads the low 4 bits of each index lane: no mask needed after the shift.
            even =
                _mm512_add_ps(even, _mm512_permutexvar_ps(index, tableAt<Prebuilt>(tables, x, j)));
            odd = _mm512_add_ps(odd, _mm512_permutexvar_ps(_mm512_srli_epi32(index, 4),
                                                           tableAt<Prebuilt>(tables, x, j + 4)));
            even = _mm512_add_ps(even, _mm512_permutexvar_ps(_mm512_srli_epi32(index, 8),
                                                             tableAt<Prebuilt>(tables, x, j + 8)));
            odd = _mm512_add_ps(odd, _mm512_permutexvar_ps(_mm512_srli_epi32(index, 12),
                                                           tableAt<Prebuilt>(tables, x, j + 12)));
            const int group = j / g;
            if (j + kLanes < std::min(i1, (group + 1) * g))
                continue;
            // The group ends here: value = 2 d q - d, so the rows get 2 d acc - d sum(x).
            const __m512 d = scale[group - firstGroup];
            total = _mm512_fmadd_ps(_mm512_add_ps(d, d), _mm512_add_ps(even, odd), total);
            total = _mm512_fnmadd_ps(d, allLanesSum(sum), total);
            even = odd = sum = zero;
        }
    }
    return total;
}

LQ_LOOKUP_TARGET void rowsTimesX(const PackedVectors& part, int i0, int i1, const float* x,
                                 std::int64_t xStride, int tokens, float* out)
{
    const bool shared = part.count > kLanes;
    thread_local std::vector<float> store;
    if (shared)
        store.resize(std::size_t(i1 - i0) * 4);
    const SubsetSumTables tables{store.data(), i0};
    for (int token = 0; token < tokens; ++token) {
        const float* xt = x + token * xStride;
        if (shared)
            for (int j = i0; j < i1; j += 4)
                _mm512_storeu_ps(store.data() + std::int64_t(j - i0) * 4, subsetSums(xt + j));
        for (int v0 = 0; v0 < part.count; v0 += kLanes) {
            const int count = std::min(kLanes, part.count - v0);
            alignas(64) float lane[kLanes];
            _mm512_store_ps(lane,
                            shared ? binaryRowsTimesX<true>(part, v0, count, i0, i1, xt, tables)
                                   : binaryRowsTimesX<false>(part, v0, count, i0, i1, xt, tables));
            for (int b = 0; b < count; ++b)
                out[std::int64_t(v0 + b) * tokens + token] = lane[b];
        }
    }
}

// Byte permutes of the B side (see columnBlockTimesT), made once.
struct ColumnPermutes
{
    alignas(64) std::array<std::uint8_t, 64> toBitBlocks{};
    alignas(64) std::array<std::uint8_t, 64> rowsLow{};
    alignas(64) std::array<std::uint8_t, 64> rowsHigh{};

    constexpr ColumnPermutes()
    {
        // In: dword c = 32 rows of column c (byte q: rows 8 q .. 8 q + 7). Out: qword 2 q + h
        // holds byte q of columns 8 h + 7 .. 8 h (in that order: GF2P8AFFINEQB numbers the
        // matrix rows from the top byte down).
        for (int q = 0; q < 4; ++q)
            for (int h = 0; h < 2; ++h)
                for (int p = 0; p < 8; ++p)
                    toBitBlocks[std::size_t((q * 2 + h) * 8 + p)] =
                        std::uint8_t((8 * h + 7 - p) * 4 + q);
        // After the bit transpose byte i of qword 2 q + h holds columns 8 h .. 8 h + 7 of row
        // 8 q + i; dword k of the index gets row k's two bytes (bytes 2 and 3 are zeroed).
        for (int k = 0; k < kLanes; ++k)
            for (int h = 0; h < 2; ++h) {
                rowsLow[std::size_t(4 * k + h)] = std::uint8_t((k / 8 * 2 + h) * 8 + k % 8);
                rowsHigh[std::size_t(4 * k + h)] = std::uint8_t(((2 + k / 8) * 2 + h) * 8 + k % 8);
            }
    }
};

constexpr ColumnPermutes kColumnPermutes;

// Rows [j, end) of one group for up to 4 Tables of lookups: y = (y +) base + per 4 columns the
// subset sum their bits select.
template <int Tables>
LQ_LOOKUP_TARGET inline void lookupRows(const __m512i* index, const __m512 (&table)[4], float base,
                                        float* y, int j, int end, bool accumulate)
{
    const __m512 baseVector = _mm512_set1_ps(base);
    for (; j < end; j += kLanes, ++index) {
        __m512 even = _mm512_add_ps(baseVector, _mm512_permutexvar_ps(*index, table[0]));
        __m512 odd = _mm512_setzero_ps();
        if constexpr (Tables > 1)
            odd = _mm512_permutexvar_ps(_mm512_srli_epi32(*index, 4), table[1]);
        if constexpr (Tables > 2)
            even =
                _mm512_add_ps(even, _mm512_permutexvar_ps(_mm512_srli_epi32(*index, 8), table[2]));
        if constexpr (Tables > 3)
            odd =
                _mm512_add_ps(odd, _mm512_permutexvar_ps(_mm512_srli_epi32(*index, 12), table[3]));
        __m512 sum = Tables > 1 ? _mm512_add_ps(even, odd) : even;
        if (accumulate)
            sum = _mm512_add_ps(_mm512_loadu_ps(y + j), sum);
        _mm512_storeu_ps(y + j, sum);
    }
}

// Binary columns c0 .. c0 + count - 1 (count <= 16) of B_hat times their share of t, for rows
// [i0, i1). The column bits of 32 rows, once transposed (loadTransposed: register k lane c =
// column c's rows), go through a byte permute into eight 8 x 8 bit blocks, one GF2P8AFFINEQB
// turns each block over, and two byte permutes give two index registers: lane k = row k's 16
// column bits. The index registers serve every token.
LQ_LOOKUP_TARGET void columnBlockTimesT(const PackedVectors& part, int c0, int count, int i0,
                                        int i1, const float* t, int tokens, float* y,
                                        std::int64_t yStride, bool accumulate)
{
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    const __m512i toBitBlocks = _mm512_load_si512(kColumnPermutes.toBitBlocks.data());
    const __m512i rowsLow = _mm512_load_si512(kColumnPermutes.rowsLow.data());
    const __m512i rowsHigh = _mm512_load_si512(kColumnPermutes.rowsHigh.data());
    // Byte i of each qword of this constant is 1 << i: with the bit block as the matrix operand,
    // GF2P8AFFINEQB gives byte i = bit i of every matrix byte, i.e. the transposed block.
    const __m512i unit = _mm512_set1_epi64(0x8040201008040201);
    const __mmask64 lowTwoBytes = 0x3333333333333333;
    const int tables = (count + 3) / 4;
    for (int jb = i0; jb < i1; jb += kBlockValues) {
        const int values = std::min(kBlockValues, i1 - jb);
        __m512i bits[kLanes];
        loadTransposed(part, c0, count, jb, values, bits);
        __m512i index[kBlockSlices];
        for (int k = 0; 32 * k < values; ++k) {
            const __m512i blocks = _mm512_gf2p8affine_epi64_epi8(
                unit, _mm512_permutexvar_epi8(toBitBlocks, bits[k]), 0);
            index[2 * k] = _mm512_maskz_permutexvar_epi8(lowTwoBytes, rowsLow, blocks);
            index[2 * k + 1] = _mm512_maskz_permutexvar_epi8(lowTwoBytes, rowsHigh, blocks);
        }
        for (int token = 0; token < tokens; ++token) {
            float* yt = y + token * yStride;
            for (int j = jb; j < jb + values;) {
                const int group = j / g;
                const int end = std::min(jb + values, (group + 1) * g);
                // Binary: value = 2 d q - d, so a set bit adds 2 d t_c and every row gets -d t_c.
                alignas(64) float weight[kLanes] = {};
                float base = 0;
                for (int c = 0; c < count; ++c) {
                    const float d = groupScale(part, (c0 + c) * perVector + group);
                    const float tc = t[std::int64_t(c0 + c) * tokens + token];
                    weight[c] = (2.0f * d) * tc;
                    base -= d * tc;
                }
                __m512 table[4];
                for (int q = 0; q < 4; ++q)
                    table[q] = subsetSums(weight + 4 * q);
                const __m512i* first = index + (j - jb) / kLanes;
                switch (tables) {
                case 1:
                    lookupRows<1>(first, table, base, yt, j, end, accumulate);
                    break;
                case 2:
                    lookupRows<2>(first, table, base, yt, j, end, accumulate);
                    break;
                case 3:
                    lookupRows<3>(first, table, base, yt, j, end, accumulate);
                    break;
                default:
                    lookupRows<4>(first, table, base, yt, j, end, accumulate);
                }
                j = end;
            }
        }
    }
}

// ---- RTN parts of 1 to 4 bits: the code itself is the index -------------------------------

// For b <= 4 the 16 codes of 16 values are at most 64 bits: one broadcast load, and one
// VPMULTISHIFTQB puts code k's bits at the bottom of dword k (above them lie the next codes'
// bits, which the table ignores by repeating itself every 2^b entries).
template <int Bits>
LQ_LOOKUP_TARGET inline __m512i codeIndex(const std::uint8_t* bytes)
{
    static_assert(Bits >= 1 && Bits <= 4);
    std::uint64_t word;
    std::memcpy(&word, bytes, sizeof word);
    alignas(64) static constexpr auto control = [] {
        std::array<std::uint8_t, 64> c{};
        for (int k = 0; k < kLanes; ++k)
            c[std::size_t(4 * k)] = std::uint8_t(Bits * k);
        return c;
    }();
    return _mm512_multishift_epi64_epi8(_mm512_load_si512(control.data()),
                                        _mm512_set1_epi64(std::int64_t(word)));
}

// Lane l = (l mod 2^b - z) d: every code's value, as the reference dequantizes it.
template <int Bits>
LQ_LOOKUP_TARGET inline __m512 valueTable(const PackedVectors& part, int group)
{
    alignas(64) static constexpr auto codes = [] {
        std::array<float, kLanes> c{};
        for (int l = 0; l < kLanes; ++l)
            c[std::size_t(l)] = float(l % (1 << Bits));
        return c;
    }();
    const __m512 zero = _mm512_set1_ps(float(part.zero(group)));
    return _mm512_mul_ps(_mm512_sub_ps(_mm512_load_ps(codes.data()), zero),
                         _mm512_set1_ps(groupScale(part, group)));
}

// acc + the values of the 16 codes at `at` (looked up in `table`) times x[0 .. 15].
template <int Bits>
LQ_LOOKUP_TARGET inline __m512 codeTerm(const std::uint8_t* at, __m512 table, const float* x,
                                        __m512 acc)
{
    return _mm512_fmadd_ps(_mm512_permutexvar_ps(codeIndex<Bits>(at), table), _mm512_loadu_ps(x),
                           acc);
}

// Rows of an RTN part times x over [i0, i1): per 16 values one lookup gives their values, one
// multiply-add takes them times x; four accumulators in registers so that the multiply-adds do
// not wait on each other.
template <int Bits>
LQ_LOOKUP_TARGET void codeRowsTimesX(const PackedVectors& part, int i0, int i1, const float* x,
                                     std::int64_t xStride, int tokens, float* out)
{
    constexpr int kStep = 2 * Bits; // bytes of 16 codes
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    for (int token = 0; token < tokens; ++token) {
        const float* xt = x + token * xStride;
        for (int v = 0; v < part.count; ++v) {
            const std::uint8_t* bytes = codeBytes<Bits>(part, v, i0);
            __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int j0 = i0; j0 < i1;) {
                const int group = j0 / g;
                const int j1 = std::min(i1, (group + 1) * g);
                const __m512 table = valueTable<Bits>(part, v * perVector + group);
                int j = j0;
                for (; j + 4 * kLanes <= j1; j += 4 * kLanes, bytes += 4 * kStep) {
                    acc0 = codeTerm<Bits>(bytes, table, xt + j, acc0);
                    acc1 = codeTerm<Bits>(bytes + kStep, table, xt + j + kLanes, acc1);
                    acc2 = codeTerm<Bits>(bytes + 2 * kStep, table, xt + j + 2 * kLanes, acc2);
                    acc3 = codeTerm<Bits>(bytes + 3 * kStep, table, xt + j + 3 * kLanes, acc3);
                }
                for (; j < j1; j += kLanes, bytes += kStep)
                    acc0 = codeTerm<Bits>(bytes, table, xt + j, acc0);
                j0 = j1;
            }
            out[std::int64_t(v) * tokens + token] =
                laneSum(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
        }
    }
}

// Columns of an RTN part times their share of t, rows [i0, i1): per group and column one table
// holds the column's values times t_c, and every 16 outputs add one lookup in it (column after
// column, so the outputs pass through L1 once per column: the high part has few columns).
template <int Bits>
LQ_LOOKUP_TARGET void codeColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t,
                                        int tokens, float* y, std::int64_t yStride, bool accumulate)
{
    constexpr int kStep = 2 * Bits; // bytes of 16 codes
    const int g = part.groupSize;
    const int perVector = groupsPerVector(part);
    for (int token = 0; token < tokens; ++token) {
        float* yt = y + token * yStride;
        for (int j0 = i0; j0 < i1;) {
            const int group = j0 / g;
            const int j1 = std::min(i1, (group + 1) * g);
            for (int v = 0; v < part.count; ++v) {
                const __m512 table =
                    _mm512_mul_ps(valueTable<Bits>(part, v * perVector + group),
                                  _mm512_set1_ps(t[std::int64_t(v) * tokens + token]));
                const std::uint8_t* bytes = codeBytes<Bits>(part, v, j0);
                if (v == 0 && !accumulate) {
                    for (int j = j0; j < j1; j += kLanes, bytes += kStep)
                        _mm512_storeu_ps(yt + j,
                                         _mm512_permutexvar_ps(codeIndex<Bits>(bytes), table));
                } else {
                    for (int j = j0; j < j1; j += kLanes, bytes += kStep)
                        _mm512_storeu_ps(yt + j, _mm512_add_ps(_mm512_loadu_ps(yt + j),
                                                               _mm512_permutexvar_ps(
                                                                   codeIndex<Bits>(bytes), table)));
                }
            }
            j0 = j1;
        }
    }
}

#endif

} // namespace

#if LQ_LOOKUP_KERNEL_X86

void lookupRowsTimesX(const PackedVectors& part, int i0, int i1, const float* x,
                      std::int64_t xStride, int tokens, float* out)
{
    if (part.isBinary())
        return rowsTimesX(part, i0, i1, x, xStride, tokens, out);
    // The dispatch (kerneldispatch.h) sends only widths the code lookup takes.
    withBits(part.bits, [&](auto bits) {
        if constexpr (decltype(bits)::value <= kMaxLookupCodeBits)
            codeRowsTimesX<decltype(bits)::value>(part, i0, i1, x, xStride, tokens, out);
    });
}

void lookupColumnsTimesT(const PackedVectors& part, int i0, int i1, const float* t, int tokens,
                         float* y, std::int64_t yStride, bool accumulate)
{
    if (!part.isBinary())
        return withBits(part.bits, [&](auto bits) {
            if constexpr (decltype(bits)::value <= kMaxLookupCodeBits)
                codeColumnsTimesT<decltype(bits)::value>(part, i0, i1, t, tokens, y, yStride,
                                                         accumulate);
        });
    // Blocks of 16 columns; after the first the block adds to what the earlier ones wrote.
    for (int c0 = 0; c0 < part.count; c0 += kLanes)
        columnBlockTimesT(part, c0, std::min(kLanes, part.count - c0), i0, i1, t, tokens, y,
                          yStride, accumulate || c0 > 0);
}

#else

// Never called: CpuFeatures::detected() finds no AVX-512 without x86-64 and GCC-style target
// attributes.
void lookupRowsTimesX(const PackedVectors&, int, int, const float*, std::int64_t, int, float*) {}
void lookupColumnsTimesT(const PackedVectors&, int, int, const float*, int, float*, std::int64_t,
                         bool)
{}

#endif

} // namespace lq::packed_detail
