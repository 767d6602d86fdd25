#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lq {

// Element types of safetensors tensors (every one whose elements fill whole bytes). LoRA factors
// must be one of the first four, the floating-point types: computation is always float32, and the
// stored type is remembered so that a written adapter keeps it. The others occur in tensors that
// are carried over byte for byte (integer buffers, masks, 8-bit floats). New types go at the end:
// a packed file stores a factor's type by its number.
enum class DType : std::uint8_t
{
    F32,
    F16,
    BF16,
    F64,
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    F8E8M0,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64
};

// Whether a LoRA factor may have the type: F32, F16, BF16 or F64, the types convertToFloat and
// convertFromFloat take.
bool isFactorType(DType type);

std::size_t elementSize(DType type);
std::string_view dtypeName(DType type); // as in safetensors headers: "F32", "BF16", "F8_E4M3", ...
std::optional<DType> dtypeFromName(std::string_view name);
std::string knownDtypeNames(); // "F32, F16, BF16, F64, BOOL, U8, ...", for error messages

// IEEE binary16 and bfloat16 conversions; float -> 16 bit rounds to nearest, ties to even, and
// keeps Inf and NaN.
float halfToFloat(std::uint16_t bits);
std::uint16_t floatToHalf(float value);
float bf16ToFloat(std::uint16_t bits);
std::uint16_t floatToBf16(float value);

// Little-endian bytes of `type` <-> float32, for the factor types (isFactorType); any other type
// throws std::invalid_argument. `src.size()` / `dst.size()` must be count * elementSize(type).
void convertToFloat(DType type, std::span<const std::byte> src, std::span<float> dst);
void convertFromFloat(DType type, std::span<const float> src, std::span<std::byte> dst);

} // namespace lq
