#include "core/engine/quantizedvectors.h"

namespace lq {

float QuantizedVectors::dequantize(int v, int i) const
{
    const std::size_t at = std::size_t(std::int64_t(v) * length + i);
    const int group = groupOf(v, i);
    return reconstruct(codes[at], isBinary() ? 0u : zeros[std::size_t(group)],
                       scales[std::size_t(group)]);
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
    return double(storedBits());
}

} // namespace lq
