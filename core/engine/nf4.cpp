#include "core/engine/nf4.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace lq {
namespace {

// Midpoints between neighbouring levels; code = how many midpoints x reaches (ties upward).
constexpr std::array<float, 15> midpoints()
{
    std::array<float, 15> mid{};
    for (std::size_t i = 0; i < mid.size(); ++i)
        mid[i] = 0.5f * (kNf4Levels[i] + kNf4Levels[i + 1]);
    return mid;
}
constexpr std::array<float, 15> kMidpoints = midpoints();

std::size_t blocksOf(std::size_t count, std::size_t size)
{
    return (count + size - 1) / size;
}

} // namespace

int nf4Code(float x)
{
    int code = 0;
    for (float mid : kMidpoints)
        code += x >= mid ? 1 : 0;
    return code;
}

float Nf4Tensor::blockScale(std::size_t block) const
{
    if (!doubleQuant)
        return absmax[block];
    const float s = scaleScales[block / kNf4ScaleBlockSize];
    return float(scaleCodes[block]) * s / 127.0f + scaleMean;
}

std::vector<float> Nf4Tensor::dequantize() const
{
    std::vector<float> out(codes.size());
    for (std::size_t b = 0; b < blockCount(); ++b) {
        const float scale = blockScale(b);
        const std::size_t end = std::min(codes.size(), (b + 1) * kNf4BlockSize);
        for (std::size_t i = b * kNf4BlockSize; i < end; ++i)
            out[i] = kNf4Levels[codes[i]] * scale;
    }
    return out;
}

double Nf4Tensor::codeBits() const
{
    return 4.0 * double(codes.size());
}

double Nf4Tensor::storedBits() const
{
    if (!doubleQuant)
        return codeBits() + 32.0 * double(blockCount());
    return codeBits() + 8.0 * double(blockCount()) + 32.0 * double(scaleScales.size()) + 32.0;
}

Nf4Tensor quantizeNf4(std::span<const float> values, bool doubleQuant)
{
    Nf4Tensor t;
    t.doubleQuant = doubleQuant;
    t.codes.resize(values.size());
    const std::size_t blocks = blocksOf(values.size(), kNf4BlockSize);
    t.absmax.resize(blocks);
    for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t begin = b * kNf4BlockSize;
        const std::size_t end = std::min(values.size(), begin + kNf4BlockSize);
        float c = 0;
        for (std::size_t i = begin; i < end; ++i)
            c = std::max(c, std::fabs(values[i]));
        t.absmax[b] = c;
        // Division, not a multiplication by 1 / c, so that +-absmax lands exactly on +-1.
        for (std::size_t i = begin; i < end; ++i)
            t.codes[i] = std::uint8_t(c > 0 ? nf4Code(values[i] / c) : 7);
    }
    if (!doubleQuant || blocks == 0)
        return t;

    double sum = 0;
    for (float c : t.absmax)
        sum += c;
    t.scaleMean = float(sum / double(blocks));
    t.scaleCodes.resize(blocks);
    t.scaleScales.resize(blocksOf(blocks, kNf4ScaleBlockSize));
    for (std::size_t s = 0; s < t.scaleScales.size(); ++s) {
        const std::size_t begin = s * kNf4ScaleBlockSize;
        const std::size_t end = std::min(blocks, begin + kNf4ScaleBlockSize);
        float range = 0;
        for (std::size_t b = begin; b < end; ++b)
            range = std::max(range, std::fabs(t.absmax[b] - t.scaleMean));
        t.scaleScales[s] = range;
        for (std::size_t b = begin; b < end; ++b) {
            const float k =
                range > 0 ? std::round(127.0f * (t.absmax[b] - t.scaleMean) / range) : 0;
            t.scaleCodes[b] = std::int8_t(std::clamp(k, -127.0f, 127.0f));
        }
    }
    return t;
}

} // namespace lq
