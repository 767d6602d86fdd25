#pragma once

#include "quantsettings.h"

#include <cstdint>
#include <vector>

namespace lq {

// A set of `count` vectors of `length` values each, quantized in groups of `groupSize`. This is
// one part of one factor: the high or low components of B' (vectors = columns, length m) or of
// A' (vectors = rows, length n). Values are laid out vector after vector.
//
// Reconstruction, per group G with scale d and zero point z:
//   RTN (bits b):  x = (q - z) * d,           q, z in [0, 2^b - 1]
//   Binary:        x = (2 q - 1) * d,         q in {0, 1} (1 = non-negative), d = mean |w|
// With GroupLayout::PerComponent groups restart at each vector (ceil(length / g) groups per
// vector, the last one possibly short); with Flattened they run on across vectors
// (ceil(count * length / g) groups in all).
//
// Binary maps a value of exactly 0 to +d (code 1): a packed format stores one bit per value,
// while the reference's torch.sign maps it to 0. Real factors almost never hold exact zeros.
// Scales are stored as computed from the values (RTN: max(max - min, 1e-5) / (2^b - 1); binary:
// mean |w|), rounded to scaleFormat before the codes are computed, so that the codes are those
// that the stored scale gives and a packed file reproduces dequantize() bit for bit.
struct QuantizedVectors
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
    std::vector<std::uint8_t> codes; // count * length, one code per value
    std::vector<float> scales;       // one per group (already rounded to scaleFormat)
    std::vector<std::uint8_t> zeros; // one per group, RTN only
    // Groups whose scale exceeded the largest finite fp16 (65504) and was clamped to it; only
    // possible with ScaleFormat::F16 and values far outside any real adapter's range.
    int clampedScales = 0;

    int groupCount() const;
    // Group index of value `i` of vector `v`.
    int groupOf(int v, int i) const;
    // Values of group `group` are the flat indices [groupBegin, groupEnd) of the vector-after-
    // vector array: in both layouts every group is contiguous there.
    std::int64_t groupBegin(int group) const;
    std::int64_t groupEnd(int group) const;
    std::int64_t valueCount() const { return std::int64_t(count) * length; }
    float dequantize(int v, int i) const;
    // All values, vector after vector (count * length).
    std::vector<float> dequantizeAll() const;
    // The same into `out` (valueCount() floats), which saves large callers a copy.
    void dequantizeInto(float* out) const;

    // Bits as the paper counts them (codes only) and as stored (codes, scales, zero points).
    double paperBits() const;
    double trueBits() const;
};

} // namespace lq
