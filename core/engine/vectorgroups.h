#pragma once

#include "core/engine/quantsettings.h"

#include <cstdint>

namespace lq {

// The smallest scale an RTN group stores: fp16's smallest subnormal, 2^-24. A zero scale would
// make w / d infinite when codes are chosen; every code of such a group reconstructs to (nearly)
// 0, which is what a group of zeros needs, and 1e-5 / 255 (the reference's floor over 8 bits) is
// below half of it.
inline constexpr float kSmallestRtnScale = 5.9604644775390625e-8f;

// The geometry and reconstruction model shared by one quantized part in memory
// (QuantizedVectors: a code per byte) and packed (PackedVectors: codes bit-packed): `count`
// vectors of `length` values each, vector after vector, quantized in groups of `groupSize`.
// This is one part of one factor: the high or low components of B' (vectors = columns, length m)
// or of A' (vectors = rows, length n).
//
// Reconstruction, per group with scale d and zero point z (METHOD 3):
//   RTN (bits b):  x = (q - z) * d,           q, z in [0, 2^b - 1]
//   Binary:        x = (2 q - 1) * d,         q in {0, 1} (1 = non-negative), d = mean |w|
// With GroupLayout::PerComponent groups restart at each vector (ceil(length / g) groups per
// vector, the last one possibly short); with Flattened they run on across vectors
// (ceil(count * length / g) groups in all). Either way each group is one contiguous run of the
// vector-after-vector array.
struct VectorGroups
{
    enum class Scheme : std::uint8_t
    {
        Rtn,
        Binary
    };

    Scheme scheme = Scheme::Rtn;
    int bits = 2; // 1 for Binary
    int count = 0;
    int length = 0;
    int groupSize = 128;
    GroupLayout layout = GroupLayout::PerComponent;
    ScaleFormat scaleFormat = ScaleFormat::F16;

    bool isBinary() const { return scheme == Scheme::Binary; }
    std::int64_t valueCount() const { return std::int64_t(count) * length; }
    // 0 for an empty shape or a group size that is not positive (a damaged packed file).
    int groupCount() const;
    // Group index of value `i` of vector `v`.
    int groupOf(int v, int i) const { return spanAt(v, i).group; }
    // Values of group `group` are the flat indices [groupBegin, groupEnd).
    std::int64_t groupBegin(int group) const;
    std::int64_t groupEnd(int group) const;

    // The group that holds value i of vector v, and where that group ends inside the vector
    // (exclusive): values [i, end) of vector v share one scale and zero point.
    struct Span
    {
        int group;
        int end;
    };
    Span spanAt(int v, int i) const
    {
        if (layout == GroupLayout::PerComponent) {
            const int inVector = i / groupSize;
            const int perVector = (length + groupSize - 1) / groupSize;
            const std::int64_t end = std::int64_t(inVector + 1) * groupSize;
            return {v * perVector + inVector, int(end < length ? end : length)};
        }
        const std::int64_t flat = std::int64_t(v) * length + i;
        const auto group = int(flat / groupSize);
        const std::int64_t end = std::int64_t(group + 1) * groupSize - std::int64_t(v) * length;
        return {group, int(end < length ? end : length)};
    }

    // The reconstruction model above for one code.
    float reconstruct(unsigned code, unsigned zero, float scale) const
    {
        if (isBinary())
            return code ? scale : -scale;
        return (float(code) - float(zero)) * scale;
    }

    // Bits as stored: a code per value, a scale per group, and for RTN a zero point per group
    // (the true count's part for this vector set; METHOD 5).
    std::int64_t storedBits() const;
};

} // namespace lq
