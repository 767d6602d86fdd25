#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace lq {

// Dense packing of b-bit codes, b = 1..8, the code stream of the packed format (FORMAT.md).
//
// Bit order, little-endian and least significant bit first: code k occupies stream bits
// [k b, (k + 1) b), stream bit t is bit (t mod 8) of byte floor(t / 8) (bit 0 = value 1), and a
// code's own bit 0 comes first. Equivalently, with the bytes read as one little-endian integer N,
//   code k = (N >> (k b)) & (2^b - 1).
// For b = 3, 5, 6, 7 a code may straddle two bytes. A stream of `count` codes is
// ceil(count b / 8) bytes and the bits after the last code are zero.
//
// Example, b = 3, codes 5, 1, 6 (binary 101, 001, 110):
//   byte 0 = 10 001 101 = 0x8D (bit 7..0: low two bits of 6, then 1, then 5),
//   byte 1 = 0000000 1 = 0x01 (the high bit of 6).

inline constexpr int kMinCodeBits = 1;
inline constexpr int kMaxCodeBits = 8;

static_assert(std::endian::native == std::endian::little,
              "the packed format's fast paths read code words in host byte order");

constexpr std::int64_t packedByteCount(std::int64_t count, int bits)
{
    return (count * bits + 7) / 8;
}

// Code k of a stream, one at a time: the scalar reference every fast path is tested against.
// The stream must hold at least code k.
inline unsigned codeAt(const std::uint8_t* packed, int bits, std::int64_t k)
{
    const std::int64_t bit = k * bits;
    const std::int64_t byte = bit >> 3;
    const int shift = int(bit & 7);
    unsigned window = packed[byte];
    if (shift + bits > 8)
        window |= unsigned(packed[byte + 1]) << 8;
    return (window >> shift) & ((1u << bits) - 1u);
}

// Packs `codes` (each < 2^bits) into `packed`, which must be packedByteCount(codes.size(), bits)
// bytes; padding bits are zeroed. Throws lq::Error("packed codes", ...) for a code that does not
// fit, or a wrong bit width or buffer size (the caller handed over inconsistent data).
void packCodes(std::span<const std::uint8_t> codes, int bits, std::span<std::uint8_t> packed);
std::vector<std::uint8_t> packCodes(std::span<const std::uint8_t> codes, int bits);

// Codes [first, first + codes.size()) of a stream of b-bit codes, one per byte. `packed` must hold
// them (lq::Error otherwise). Byte-aligned runs of 8 codes take a fast path; the unaligned head
// and the short tail go one code at a time.
void unpackCodes(std::span<const std::uint8_t> packed, int bits, std::int64_t first,
                 std::span<std::uint8_t> codes);

// True when every bit after the first `count` codes of `packed` is zero. A set bit there is a
// code that no reader looks at: the stream was written for another length or bit width.
bool paddingIsZero(std::span<const std::uint8_t> packed, int bits, std::int64_t count);

} // namespace lq
