#include "core/io/dtype.h"

#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <string>

namespace lq {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian values; this code copies them as they are");

namespace {

struct TypeInfo
{
    DType type;
    std::string_view name;
    std::size_t size;
    bool factor; // convertToFloat / convertFromFloat take it
};

constexpr TypeInfo kTypes[] = {
    {DType::F32, "F32", 4, true},         {DType::F16, "F16", 2, true},
    {DType::BF16, "BF16", 2, true},       {DType::F64, "F64", 8, true},
    {DType::Bool, "BOOL", 1, false},      {DType::U8, "U8", 1, false},
    {DType::I8, "I8", 1, false},          {DType::F8E5M2, "F8_E5M2", 1, false},
    {DType::F8E4M3, "F8_E4M3", 1, false}, {DType::F8E8M0, "F8_E8M0", 1, false},
    {DType::I16, "I16", 2, false},        {DType::U16, "U16", 2, false},
    {DType::I32, "I32", 4, false},        {DType::U32, "U32", 4, false},
    {DType::I64, "I64", 8, false},        {DType::U64, "U64", 8, false},
};

constexpr bool typesInOrder()
{
    for (std::size_t i = 0; i < std::size(kTypes); ++i)
        if (std::size_t(kTypes[i].type) != i)
            return false;
    return true;
}
static_assert(typesInOrder(), "kTypes is indexed by DType");

const TypeInfo* infoOf(DType type)
{
    const auto index = std::size_t(type);
    return index < std::size(kTypes) ? &kTypes[index] : nullptr;
}

[[noreturn]] void notAFactorType(DType type)
{
    throw std::invalid_argument("element type " + std::string(dtypeName(type)) +
                                " does not convert to float (F32, F16, BF16 and F64 do)");
}

} // namespace

std::string knownDtypeNames()
{
    std::string names;
    for (const TypeInfo& info : kTypes)
        names += (names.empty() ? "" : ", ") + std::string(info.name);
    return names;
}

bool isFactorType(DType type)
{
    const TypeInfo* info = infoOf(type);
    return info && info->factor;
}

std::size_t elementSize(DType type)
{
    const TypeInfo* info = infoOf(type);
    return info ? info->size : 0;
}

std::string_view dtypeName(DType type)
{
    const TypeInfo* info = infoOf(type);
    return info ? info->name : "?";
}

std::optional<DType> dtypeFromName(std::string_view name)
{
    for (const TypeInfo& info : kTypes) {
        if (info.name == name)
            return info.type;
    }
    return std::nullopt;
}

float halfToFloat(std::uint16_t bits)
{
    const std::uint32_t sign = std::uint32_t(bits & 0x8000u) << 16;
    const std::uint32_t exponent = (bits >> 10) & 0x1fu;
    std::uint32_t mantissa = bits & 0x3ffu;
    if (exponent == 0x1f) // Inf, NaN (payload kept in the top mantissa bits)
        return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
    if (exponent != 0)
        return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
    if (mantissa == 0)
        return std::bit_cast<float>(sign);
    // Subnormal half: mantissa * 2^-24. Normalise: shift until the implicit bit appears.
    int e = 113; // float exponent of 2^-14, the smallest normal half
    while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --e;
    }
    mantissa &= 0x3ffu;
    return std::bit_cast<float>(sign | (std::uint32_t(e) << 23) | (mantissa << 13));
}

std::uint16_t floatToHalf(float value)
{
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    const std::uint32_t sign = (bits >> 16) & 0x8000u;
    const std::uint32_t exponent = (bits >> 23) & 0xffu;
    std::uint32_t mantissa = bits & 0x7fffffu;
    if (exponent == 0xff) {
        if (mantissa == 0)
            return std::uint16_t(sign | 0x7c00u);
        // NaN stays NaN: keep the top payload bits and force the quiet bit so that a payload
        // living only in the low bits cannot turn into Inf.
        return std::uint16_t(sign | 0x7c00u | 0x200u | (mantissa >> 13));
    }
    const int e = int(exponent) - 127 + 15; // biased half exponent
    if (e >= 31) // >= 2^16: beyond the largest finite half after rounding
        return std::uint16_t(sign | 0x7c00u);
    if (e <= 0) {
        // Subnormal half (or zero): value = (1.mantissa) 2^(e - 15); in units of 2^-24 that is
        // the 24-bit significand shifted right by 14 - e. Below 2^-25 everything rounds to 0.
        if (e < -10)
            return std::uint16_t(sign);
        mantissa |= 0x800000u;
        const int shift = 14 - e;
        std::uint32_t half = mantissa >> shift;
        const std::uint32_t rest = mantissa & ((1u << shift) - 1);
        const std::uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u)))
            ++half; // a carry into bit 10 gives the smallest normal, which is right
        return std::uint16_t(sign | half);
    }
    std::uint32_t half = (std::uint32_t(e) << 10) | (mantissa >> 13);
    const std::uint32_t rest = mantissa & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
        ++half; // a carry out of the mantissa bumps the exponent; out of e = 30 it gives Inf
    return std::uint16_t(sign | half);
}

float bf16ToFloat(std::uint16_t bits)
{
    return std::bit_cast<float>(std::uint32_t(bits) << 16);
}

std::uint16_t floatToBf16(float value)
{
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN: keep sign and top payload, force quiet
        return std::uint16_t((bits >> 16) | 0x40u);
    // Round to nearest, ties to even: add 0x7fff plus the lowest kept bit, then truncate.
    // Overflow carries into the exponent and ends at Inf, as it should.
    const std::uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
    return std::uint16_t(rounded >> 16);
}

namespace {

// All 65536 halves as floats: converting large F16 adapters is then one load per value.
const std::array<float, 65536>& halfTable()
{
    static const std::array<float, 65536> table = [] {
        std::array<float, 65536> t{};
        for (std::uint32_t i = 0; i < 65536; ++i)
            t[i] = halfToFloat(std::uint16_t(i));
        return t;
    }();
    return table;
}

} // namespace

void convertToFloat(DType type, std::span<const std::byte> src, std::span<float> dst)
{
    assert(src.size() == dst.size() * elementSize(type));
    const std::size_t count = dst.size();
    switch (type) {
    case DType::F32:
        if (count)
            std::memcpy(dst.data(), src.data(), count * 4);
        return;
    case DType::F16: {
        const auto& table = halfTable();
        for (std::size_t i = 0; i < count; ++i) {
            std::uint16_t bits;
            std::memcpy(&bits, src.data() + 2 * i, 2);
            dst[i] = table[bits];
        }
        return;
    }
    case DType::BF16:
        for (std::size_t i = 0; i < count; ++i) {
            std::uint16_t bits;
            std::memcpy(&bits, src.data() + 2 * i, 2);
            dst[i] = bf16ToFloat(bits);
        }
        return;
    case DType::F64:
        for (std::size_t i = 0; i < count; ++i) {
            double v;
            std::memcpy(&v, src.data() + 8 * i, 8);
            dst[i] = static_cast<float>(v); // round to nearest
        }
        return;
    default:
        notAFactorType(type);
    }
}

void convertFromFloat(DType type, std::span<const float> src, std::span<std::byte> dst)
{
    assert(dst.size() == src.size() * elementSize(type));
    const std::size_t count = src.size();
    switch (type) {
    case DType::F32:
        if (count)
            std::memcpy(dst.data(), src.data(), count * 4);
        return;
    case DType::F16:
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint16_t bits = floatToHalf(src[i]);
            std::memcpy(dst.data() + 2 * i, &bits, 2);
        }
        return;
    case DType::BF16:
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint16_t bits = floatToBf16(src[i]);
            std::memcpy(dst.data() + 2 * i, &bits, 2);
        }
        return;
    case DType::F64:
        for (std::size_t i = 0; i < count; ++i) {
            const double v = src[i];
            std::memcpy(dst.data() + 8 * i, &v, 8);
        }
        return;
    default:
        notAFactorType(type);
    }
}

} // namespace lq
