#pragma once

// What the vector kernels (maskkernel.cpp and avx2maskkernel.cpp, lookupkernel.cpp) read the same
// way: where a vector's groups and codes are, the group scales, the per-width dispatch and the
// fixed-order lane sum. Internal to core/packed.

#include "core/packed/packedformat.h"

#include <cstdint>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace lq::packed_detail {

// Both layouts number the groups the same way for the parts the vector kernels take (whole groups
// per vector, kerneldispatch.h): vector v's groups are v * perVector .. v * perVector + perVector
// - 1.
inline int groupsPerVector(const PackedVectors& part)
{
    return (part.length + part.groupSize - 1) / part.groupSize;
}

// Value j of vector v of a b-bit stream, for j + v * length a multiple of 8.
template <int Bits>
const std::uint8_t* codeBytes(const PackedVectors& part, int v, int j)
{
    return part.codes.data() + (std::int64_t(v) * part.length + j) / 8 * Bits;
}

// Calls f(std::integral_constant<int, bits>()) for bits in 1..8: one switch for every kernel that
// is compiled per code width.
template <typename F>
void withBits(int bits, F&& f)
{
    switch (bits) {
    case 1:
        return f(std::integral_constant<int, 1>());
    case 2:
        return f(std::integral_constant<int, 2>());
    case 3:
        return f(std::integral_constant<int, 3>());
    case 4:
        return f(std::integral_constant<int, 4>());
    case 5:
        return f(std::integral_constant<int, 5>());
    case 6:
        return f(std::integral_constant<int, 6>());
    case 7:
        return f(std::integral_constant<int, 7>());
    default:
        return f(std::integral_constant<int, 8>());
    }
}

// lane[0] + ... + lane[Lanes - 1] in a fixed tree order (halves added pairwise), so that a
// kernel's result does not depend on how the compiler would reduce a register.
template <int Lanes>
inline float treeSum(float (&lane)[Lanes])
{
    for (int width = Lanes / 2; width > 0; width /= 2)
        for (int k = 0; k < width; ++k)
            lane[k] += lane[k + width];
    return lane[0];
}

#if defined(__x86_64__) && defined(__GNUC__)

// Scale d of a group. F16C converts a binary16 scale in one instruction; for finite values (all a
// validated part holds) it is the value finiteHalfToFloat() gives. Only F16C, so that it inlines
// into the AVX-512 and the AVX2 kernels alike.
[[gnu::target("f16c")]] inline float groupScale(const PackedVectors& part, int group)
{
    const auto index = std::size_t(group);
    return part.scaleFormat == ScaleFormat::F16 ? _cvtsh_ss(part.scalesF16[index])
                                                : part.scalesF32[index];
}

// The 16 lanes added in a fixed tree order (GCC 12's _mm512_reduce_add_ps trips
// -Wmaybe-uninitialized inside its own header).
[[gnu::target("avx512f")]] inline float laneSum(__m512 v)
{
    alignas(64) float lane[16];
    _mm512_store_ps(lane, v);
    return treeSum(lane);
}

#endif

} // namespace lq::packed_detail
