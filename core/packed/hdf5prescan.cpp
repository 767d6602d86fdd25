#include "core/packed/hdf5prescan.h"

#include <cstdint>
#include <cstring>
#include <string_view>

namespace lq::h5 {
namespace {

constexpr std::string_view kHeapSignature = "GCOL";
constexpr std::size_t kHeapHeaderBytes = 16;   // signature, version, 3 reserved, 8-byte size
constexpr std::size_t kObjectHeaderBytes = 16; // index, references, 4 reserved, 8-byte size

std::uint64_t load64(const std::byte* at)
{
    std::uint64_t value;
    std::memcpy(&value, at, 8); // little endian, as HDF5 stores it
    return value;
}

std::uint16_t load16(const std::byte* at)
{
    std::uint16_t value;
    std::memcpy(&value, at, 2);
    return value;
}

// Walks the collection at `start` as libhdf5 does; the offset of an object that would not move
// the walk forward, or 0 when the walk ends (the file's end counts as an end: the library fails
// to read such a collection instead of looping).
std::size_t stuckObject(std::span<const std::byte> bytes, std::size_t start)
{
    const std::uint64_t size = load64(bytes.data() + start + 8);
    const std::size_t end = size > bytes.size() - start ? bytes.size() : start + std::size_t(size);
    std::size_t at = start + kHeapHeaderBytes;
    while (at < end && bytes.size() - at >= kObjectHeaderBytes) {
        const std::uint16_t index = load16(bytes.data() + at);
        const std::uint64_t objectSize = load64(bytes.data() + at + 8);
        // Index 0 is the free space, whose size is the whole step; others add their header
        // and pad to 8 bytes. Either wraps to 0 for a crafted size.
        const std::uint64_t step =
            index == 0 ? objectSize : kObjectHeaderBytes + ((objectSize + 7) & ~std::uint64_t(7));
        if (step == 0)
            return at;
        if (step >= bytes.size() - at)
            return 0;
        at += std::size_t(step);
    }
    return 0;
}

} // namespace

std::string rawBytesProblem(std::span<const std::byte> bytes)
{
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    for (std::size_t at = text.find(kHeapSignature); at != std::string_view::npos;
         at = text.find(kHeapSignature, at + 1)) {
        if (bytes.size() - at < kHeapHeaderBytes || text[at + 4] != 1)
            continue;
        if (const std::size_t stuck = stuckObject(bytes, at))
            return "the HDF5 global heap at byte " + std::to_string(at) +
                   " is malformed (its object at byte " + std::to_string(stuck) +
                   " has a size that never advances), on which libhdf5 would loop forever";
    }
    return {};
}

} // namespace lq::h5
