#pragma once

#include "core/engine/quantizedvectors.h"

#include <algorithm>
#include <cmath>
#include <span>

namespace lq {

// The two group quantizers of METHOD 3, over `count` vectors of `length` values laid out vector
// after vector (`values.size() == count * length`).

// How the vectors are cut into groups and how the scales are stored.
struct GroupSpec
{
    int groupSize = 128;
    GroupLayout layout = GroupLayout::PerComponent;
    ScaleFormat scaleFormat = ScaleFormat::F16;
};

// torch.round: to the nearest integer, ties to even, computed as (x + 1.5 * 2^23) - 1.5 * 2^23,
// which the FPU rounds exactly that way for |x| < 2^22 (the sum lies in [2^23, 2^24) where the
// spacing of floats is 1, and 1.5 * 2^23 is even). Branch-free and vectorizable, unlike
// std::nearbyint without SSE4.1. Larger |x| falls back to std::nearbyint.
inline float roundHalfEven(float x)
{
    constexpr float kMagic = 12582912.0f; // 1.5 * 2^23
    if (!(std::fabs(x) < 4194304.0f))     // 2^22; also NaN
        return std::nearbyint(x);
    return (x + kMagic) - kMagic;
}

// `count` vectors of `length` values laid out as `spec` says, every code, scale and zero point 0:
// what the quantizers (and refinements that choose values themselves) fill in.
QuantizedVectors emptyVectors(QuantizedVectors::Scheme scheme, int bits, int count, int length,
                              const GroupSpec& spec);

// Asymmetric round-to-nearest with `bits` (1..8) per group G (METHOD 3, the reference's RTN):
//   d = max(max G - min G, 1e-5) / (2^b - 1)   in float32, then rounded to spec.scaleFormat
//   z = clamp(-round(min G / d), 0, 2^b - 1)
//   q = clamp(round(w / d) + z, 0, 2^b - 1),     w_hat = (q - z) d
// Invariant: when min G <= 0 <= max G (z not clamped), |w - w_hat| <= d / 2 + (rounding of the
// scale) for every w in G. A group of one sign has z clamped to 0 or 2^b - 1 and loses the far
// end of its range, exactly as in the reference (it quantizes the offset, not the range).
QuantizedVectors quantizeRtn(std::span<const float> values, int count, int length, int bits,
                             const GroupSpec& spec);

// 1 bit per value: d = mean |w| over G (accumulated in double, stored as scaleFormat),
// q = 1 for w >= 0 (so exact zeros map to +d, see quantizedvectors.h), w_hat = (2 q - 1) d.
// A short tail group's mean is over its own values; the reference pads the flattened tensor
// with zeros and divides by the full group size, which only matters when count * length is not
// a multiple of the group size (never in the shared adapters).
QuantizedVectors quantizeBinary(std::span<const float> values, int count, int length,
                                const GroupSpec& spec);

// The scale as stored: unchanged for F32; for F16 rounded to the nearest half (ties to even),
// values above 65504 clamped to it (`clamped` is set). RTN then raises a scale that rounded to 0
// to the smallest positive half (2^-24) so that it never divides by zero.
float storedScale(float scale, ScaleFormat format, bool* clamped = nullptr);

// The RTN scale and zero point of a group with the given extremes (as quantizeRtn computes them).
struct RtnGroup
{
    float scale = 0; // d, as stored
    float zero = 0;  // z, an integer in [0, 2^b - 1]
};
RtnGroup rtnGroup(float minValue, float maxValue, int bits, ScaleFormat format,
                  bool* clamped = nullptr);

// q = clamp(round(w / d) + z, 0, maxCode) for w in `values`, written to `codes`; the caller's
// hot loop (quantizeRtn, the paper refinement) in one place so that both round identically.
// Clamping w / d to +-512 before rounding changes no code (|z| <= 255) and keeps the fast path.
inline float rtnCode(float w, float scale, float zero, float maxCode)
{
    constexpr float kMagic = 12582912.0f;
    // std::min / std::max (not nested ?:) so that the loops calling this are if-converted and
    // vectorized (minps / maxps).
    const float x = std::min(std::max(w / scale, -512.0f), 512.0f);
    const float q = ((x + kMagic) - kMagic) + zero;
    return std::min(std::max(q, 0.0f), maxCode);
}

} // namespace lq
