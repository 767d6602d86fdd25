#include "core/packed/bitpacking.h"

#include "core/io/error.h"

#include <cstring>
#include <string>

namespace lq {
namespace {

void checkBits(int bits)
{
    if (bits < kMinCodeBits || bits > kMaxCodeBits)
        throw Error("packed codes", "bit width " + std::to_string(bits) + " is not in 1..8");
}

// Eight codes are exactly `Bits` bytes, so a run of whole 8-code chunks that starts at a code
// index divisible by 8 starts on a byte and never shares a byte with its neighbours.
template <int Bits>
void unpackChunks(const std::uint8_t* bytes, std::int64_t chunks, std::uint8_t* out)
{
    constexpr std::uint64_t mask = (1u << Bits) - 1u;
    for (std::int64_t c = 0; c < chunks; ++c) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes + c * Bits, Bits);
        for (int k = 0; k < 8; ++k)
            out[c * 8 + k] = std::uint8_t((word >> (k * Bits)) & mask);
    }
}

template <int Bits>
void packChunks(const std::uint8_t* codes, std::int64_t chunks, std::uint8_t* bytes)
{
    for (std::int64_t c = 0; c < chunks; ++c) {
        std::uint64_t word = 0;
        for (int k = 0; k < 8; ++k)
            word |= std::uint64_t(codes[c * 8 + k]) << (k * Bits);
        std::memcpy(bytes + c * Bits, &word, Bits);
    }
}

using ChunkFn = void (*)(const std::uint8_t*, std::int64_t, std::uint8_t*);

ChunkFn unpackFor(int bits)
{
    static constexpr ChunkFn table[] = {unpackChunks<1>, unpackChunks<2>, unpackChunks<3>,
                                        unpackChunks<4>, unpackChunks<5>, unpackChunks<6>,
                                        unpackChunks<7>, unpackChunks<8>};
    return table[bits - 1];
}

ChunkFn packFor(int bits)
{
    static constexpr ChunkFn table[] = {packChunks<1>, packChunks<2>, packChunks<3>, packChunks<4>,
                                        packChunks<5>, packChunks<6>, packChunks<7>, packChunks<8>};
    return table[bits - 1];
}

} // namespace

void packCodes(std::span<const std::uint8_t> codes, int bits, std::span<std::uint8_t> packed)
{
    checkBits(bits);
    const auto count = std::int64_t(codes.size());
    if (std::int64_t(packed.size()) != packedByteCount(count, bits))
        throw Error("packed codes", std::to_string(count) + " codes of " + std::to_string(bits) +
                                        " bits need " +
                                        std::to_string(packedByteCount(count, bits)) +
                                        " bytes, the buffer has " + std::to_string(packed.size()));
    const unsigned limit = 1u << bits;
    for (std::int64_t k = 0; k < count; ++k)
        if (codes[std::size_t(k)] >= limit)
            throw Error("packed codes", "code " + std::to_string(codes[std::size_t(k)]) +
                                            " at index " + std::to_string(k) + " does not fit in " +
                                            std::to_string(bits) + " bits");

    const std::int64_t chunks = count / 8;
    packFor(bits)(codes.data(), chunks, packed.data());
    // The tail: fewer than 8 codes in the last, partly used bytes. No codes means no buffer at
    // all (data() may be null), and memset on null is undefined even for 0 bytes (UBSan).
    if (!packed.empty())
        std::memset(packed.data() + chunks * bits, 0, packed.size() - std::size_t(chunks * bits));
    for (std::int64_t k = chunks * 8; k < count; ++k) {
        const std::int64_t bit = k * bits;
        const unsigned value = unsigned(codes[std::size_t(k)]) << (bit & 7);
        packed[std::size_t(bit >> 3)] |= std::uint8_t(value & 0xFF);
        if ((bit & 7) + bits > 8)
            packed[std::size_t((bit >> 3) + 1)] |= std::uint8_t(value >> 8);
    }
}

std::vector<std::uint8_t> packCodes(std::span<const std::uint8_t> codes, int bits)
{
    checkBits(bits);
    std::vector<std::uint8_t> packed(
        std::size_t(packedByteCount(std::int64_t(codes.size()), bits)));
    packCodes(codes, bits, packed);
    return packed;
}

void unpackCodes(std::span<const std::uint8_t> packed, int bits, std::int64_t first,
                 std::span<std::uint8_t> codes)
{
    checkBits(bits);
    const auto count = std::int64_t(codes.size());
    if (first < 0 || packedByteCount(first + count, bits) > std::int64_t(packed.size()))
        throw Error("packed codes",
                    "codes " + std::to_string(first) + " to " + std::to_string(first + count) +
                        " lie outside a stream of " + std::to_string(packed.size()) + " bytes");
    std::int64_t k = 0;
    // Head: one at a time up to a code index divisible by 8 (a byte boundary for every width).
    for (; k < count && (first + k) % 8 != 0; ++k)
        codes[std::size_t(k)] = std::uint8_t(codeAt(packed.data(), bits, first + k));
    const std::int64_t chunks = (count - k) / 8;
    unpackFor(bits)(packed.data() + (first + k) / 8 * bits, chunks, codes.data() + k);
    k += chunks * 8;
    for (; k < count; ++k)
        codes[std::size_t(k)] = std::uint8_t(codeAt(packed.data(), bits, first + k));
}

bool paddingIsZero(std::span<const std::uint8_t> packed, int bits, std::int64_t count)
{
    checkBits(bits);
    const std::int64_t usedBits = count * bits;
    std::int64_t byte = usedBits / 8;
    if (usedBits % 8 != 0) {
        if (byte >= std::int64_t(packed.size()))
            return true;
        if (packed[std::size_t(byte)] >> (usedBits % 8))
            return false;
        ++byte;
    }
    for (; byte < std::int64_t(packed.size()); ++byte)
        if (packed[std::size_t(byte)] != 0)
            return false;
    return true;
}

} // namespace lq
