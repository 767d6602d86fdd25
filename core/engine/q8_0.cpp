#include "core/engine/q8_0.h"

#include "core/engine/quantizer.h"

#include <algorithm>
#include <cmath>

namespace lq {

std::vector<float> Q8_0Tensor::dequantize() const
{
    std::vector<float> out(codes.size());
    for (std::size_t i = 0; i < codes.size(); ++i)
        out[i] = float(codes[i]) * scales[i / kQ8_0BlockSize];
    return out;
}

Q8_0Tensor quantizeQ8_0(std::span<const float> values)
{
    Q8_0Tensor t;
    t.codes.resize(values.size());
    t.scales.resize((values.size() + kQ8_0BlockSize - 1) / kQ8_0BlockSize);
    for (std::size_t b = 0; b < t.scales.size(); ++b) {
        const std::size_t begin = b * kQ8_0BlockSize;
        const std::size_t end = std::min(values.size(), begin + kQ8_0BlockSize);
        float amax = 0;
        for (std::size_t i = begin; i < end; ++i)
            amax = std::max(amax, std::fabs(values[i]));
        const float d = amax / 127.0f;
        const float inverse = d > 0 ? 1.0f / d : 0.0f;
        for (std::size_t i = begin; i < end; ++i)
            t.codes[i] = std::int8_t(std::clamp(std::round(values[i] * inverse), -127.0f, 127.0f));
        t.scales[b] = storedScale(d, ScaleFormat::F16);
    }
    return t;
}

} // namespace lq
