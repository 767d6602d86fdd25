#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace lq {

// SHA-256 (FIPS 180-4), incremental. The packed format records the source adapter's digest so
// that a reader can tell which file a packed adapter was made from.
class Sha256
{
public:
    Sha256();
    void update(std::span<const std::byte> data);
    // The digest as 64 lower-case hex digits; the object is spent afterwards.
    std::string hexDigest();

private:
    void compress(const std::uint8_t* block);

    std::array<std::uint32_t, 8> m_state;
    std::array<std::uint8_t, 64> m_block{};
    std::size_t m_blockUsed = 0;
    std::uint64_t m_totalBytes = 0;
};

std::string sha256Hex(std::span<const std::byte> data);
// The digest of a whole file, read in blocks; throws lq::Error naming the file when it cannot be
// read.
std::string sha256File(const std::string& path);

} // namespace lq
