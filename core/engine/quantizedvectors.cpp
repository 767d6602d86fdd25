#include "quantizedvectors.h"

#include <cassert>

namespace lq {
namespace {

int ceilDiv(std::int64_t a, std::int64_t b)
{
    return int((a + b - 1) / b);
}

} // namespace

int QuantizedVectors::groupCount() const
{
    if (count == 0 || length == 0)
        return 0;
    if (layout == GroupLayout::PerComponent)
        return count * ceilDiv(length, groupSize);
    return ceilDiv(valueCount(), groupSize);
}

int QuantizedVectors::groupOf(int v, int i) const
{
    assert(v >= 0 && v < count && i >= 0 && i < length);
    if (layout == GroupLayout::PerComponent)
        return v * ceilDiv(length, groupSize) + i / groupSize;
    return int((std::int64_t(v) * length + i) / groupSize);
}

std::int64_t QuantizedVectors::groupBegin(int group) const
{
    if (layout == GroupLayout::PerComponent) {
        const int perVector = ceilDiv(length, groupSize);
        return std::int64_t(group / perVector) * length +
               std::int64_t(group % perVector) * groupSize;
    }
    return std::int64_t(group) * groupSize;
}

std::int64_t QuantizedVectors::groupEnd(int group) const
{
    if (layout == GroupLayout::PerComponent) {
        const int perVector = ceilDiv(length, groupSize);
        const std::int64_t vectorEnd = std::int64_t(group / perVector + 1) * length;
        return std::min(groupBegin(group) + groupSize, vectorEnd);
    }
    return std::min(groupBegin(group) + groupSize, valueCount());
}

float QuantizedVectors::dequantize(int v, int i) const
{
    const std::size_t at = std::size_t(std::int64_t(v) * length + i);
    const int group = groupOf(v, i);
    const float d = scales[std::size_t(group)];
    if (scheme == Scheme::Binary)
        return codes[at] ? d : -d;
    return (float(codes[at]) - float(zeros[std::size_t(group)])) * d;
}

std::vector<float> QuantizedVectors::dequantizeAll() const
{
    std::vector<float> values(static_cast<std::size_t>(valueCount()));
    dequantizeInto(values.data());
    return values;
}

void QuantizedVectors::dequantizeInto(float* out) const
{
    const int groups = groupCount();
    for (int g = 0; g < groups; ++g) {
        const float d = scales[std::size_t(g)];
        const auto begin = std::size_t(groupBegin(g)), end = std::size_t(groupEnd(g));
        if (scheme == Scheme::Binary) {
            for (std::size_t j = begin; j < end; ++j)
                out[j] = codes[j] ? d : -d;
        } else {
            const float z = float(zeros[std::size_t(g)]);
            for (std::size_t j = begin; j < end; ++j)
                out[j] = (float(codes[j]) - z) * d;
        }
    }
}

double QuantizedVectors::paperBits() const
{
    return double(valueCount()) * bits;
}

double QuantizedVectors::trueBits() const
{
    const int scaleBits = scaleFormat == ScaleFormat::F16 ? 16 : 32;
    const int zeroBits = scheme == Scheme::Rtn ? bits : 0;
    return paperBits() + double(groupCount()) * (scaleBits + zeroBits);
}

} // namespace lq
