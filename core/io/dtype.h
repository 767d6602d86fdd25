#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace lq {

// Element types a safetensors adapter may store. Computation is always float32; the stored type
// is remembered so that a written adapter keeps it.
enum class DType : std::uint8_t
{
    F32,
    F16,
    BF16,
    F64
};

std::size_t elementSize(DType type);
std::string_view dtypeName(DType type); // "F32", "F16", "BF16", "F64" as in safetensors headers
std::optional<DType> dtypeFromName(std::string_view name);

// IEEE binary16 and bfloat16 conversions; float -> 16 bit rounds to nearest, ties to even, and
// keeps Inf and NaN.
float halfToFloat(std::uint16_t bits);
std::uint16_t floatToHalf(float value);
float bf16ToFloat(std::uint16_t bits);
std::uint16_t floatToBf16(float value);

// Little-endian bytes of `type` <-> float32. `src.size()` / `dst.size()` must be
// count * elementSize(type).
void convertToFloat(DType type, std::span<const std::byte> src, std::span<float> dst);
void convertFromFloat(DType type, std::span<const float> src, std::span<std::byte> dst);

} // namespace lq
