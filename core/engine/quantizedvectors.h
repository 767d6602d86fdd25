#pragma once

#include "core/engine/vectorgroups.h"

#include <cstdint>
#include <vector>

namespace lq {

// One part of one factor quantized in memory, a code per byte; the geometry and reconstruction
// model are VectorGroups' (vectorgroups.h).
//
// Binary maps a value of exactly 0 to +d (code 1): a packed format stores one bit per value,
// while the reference's torch.sign maps it to 0. Real factors almost never hold exact zeros.
// Scales are stored as computed from the values (RTN: max(max - min, 1e-5) / (2^b - 1); binary:
// mean |w|), rounded to scaleFormat before the codes are computed, so that the codes are those
// that the stored scale gives and a packed file reproduces dequantize() bit for bit.
struct QuantizedVectors : VectorGroups
{
    std::vector<std::uint8_t> codes; // count * length, one code per value
    std::vector<float> scales;       // one per group (already rounded to scaleFormat)
    std::vector<std::uint8_t> zeros; // one per group, RTN only
    // Groups whose scale exceeded the largest finite fp16 (65504) and was clamped to it; only
    // possible with ScaleFormat::F16 and values far outside any real adapter's range.
    int clampedScales = 0;

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
