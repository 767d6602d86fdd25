#include "core/engine/quantizer.h"

#include "core/io/dtype.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace lq {

QuantizedVectors emptyVectors(QuantizedVectors::Scheme scheme, int bits, int count, int length,
                              const GroupSpec& spec)
{
    assert(spec.groupSize >= 1 && count >= 0 && length >= 0);
    QuantizedVectors q;
    q.scheme = scheme;
    q.bits = bits;
    q.count = count;
    q.length = length;
    q.groupSize = spec.groupSize;
    q.layout = spec.layout;
    q.scaleFormat = spec.scaleFormat;
    q.codes.resize(std::size_t(q.valueCount()));
    q.scales.resize(std::size_t(q.groupCount()));
    if (scheme == QuantizedVectors::Scheme::Rtn)
        q.zeros.resize(q.scales.size());
    return q;
}

float storedScale(float scale, ScaleFormat format, bool* clamped)
{
    if (format == ScaleFormat::F32)
        return scale;
    constexpr float kLargestHalf = 65504.0f;
    if (scale > kLargestHalf) {
        if (clamped)
            *clamped = true;
        return kLargestHalf;
    }
    return halfToFloat(floatToHalf(scale));
}

RtnGroup rtnGroup(float minValue, float maxValue, int bits, ScaleFormat format, bool* clamped)
{
    const float maxCode = float((1 << bits) - 1);
    RtnGroup group;
    // float32 throughout, as torch computes it: (max - min).clamp(min=1e-5) / max_int.
    group.scale = storedScale(std::max(maxValue - minValue, 1e-5f) / maxCode, format, clamped);
    // 1e-5 / 255 rounds to 0 in fp16: keep d > 0 so that w / d is finite.
    if (format == ScaleFormat::F16)
        group.scale = std::max(group.scale, kSmallestRtnScale);
    const float z = -roundHalfEven(minValue / group.scale);
    group.zero = std::clamp(z, 0.0f, maxCode);
    return group;
}

QuantizedVectors quantizeRtn(std::span<const float> values, int count, int length, int bits,
                             const GroupSpec& spec)
{
    assert(bits >= 1 && bits <= 8);
    assert(values.size() == std::size_t(count) * std::size_t(length));
    QuantizedVectors q = emptyVectors(QuantizedVectors::Scheme::Rtn, bits, count, length, spec);
    const float maxCode = float((1 << bits) - 1);
    const int groups = q.groupCount();
    for (int g = 0; g < groups; ++g) {
        const auto begin = std::size_t(q.groupBegin(g)), end = std::size_t(q.groupEnd(g));
        float lo = values[begin], hi = values[begin];
        for (std::size_t j = begin + 1; j < end; ++j) {
            lo = std::min(lo, values[j]);
            hi = std::max(hi, values[j]);
        }
        bool clamped = false;
        const RtnGroup group = rtnGroup(lo, hi, bits, spec.scaleFormat, &clamped);
        q.clampedScales += clamped ? 1 : 0;
        q.scales[std::size_t(g)] = group.scale;
        q.zeros[std::size_t(g)] = std::uint8_t(group.zero);
        for (std::size_t j = begin; j < end; ++j)
            q.codes[j] = std::uint8_t(rtnCode(values[j], group.scale, group.zero, maxCode));
    }
    return q;
}

QuantizedVectors quantizeBinary(std::span<const float> values, int count, int length,
                                const GroupSpec& spec)
{
    assert(values.size() == std::size_t(count) * std::size_t(length));
    QuantizedVectors q = emptyVectors(QuantizedVectors::Scheme::Binary, 1, count, length, spec);
    const int groups = q.groupCount();
    for (int g = 0; g < groups; ++g) {
        const auto begin = std::size_t(q.groupBegin(g)), end = std::size_t(q.groupEnd(g));
        double sum = 0;
        for (std::size_t j = begin; j < end; ++j) {
            sum += std::fabs(double(values[j]));
            q.codes[j] = values[j] >= 0.0f ? 1 : 0;
        }
        bool clamped = false;
        q.scales[std::size_t(g)] =
            storedScale(float(sum / double(end - begin)), spec.scaleFormat, &clamped);
        q.clampedScales += clamped ? 1 : 0;
    }
    return q;
}

} // namespace lq
