#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace lq {

// A whole file mapped read-only into memory (mmap, MAP_PRIVATE). The pages are read lazily by
// the kernel, so opening a large adapter costs nothing until its tensors are touched, and the
// file is never written through the mapping. Shared by every SafetensorsFile copy; the mapping
// lives until the last owner goes away.
//
// Threads: immutable after open(); bytes() may be read from any number of threads.
class MappedFile
{
public:
    // Throws lq::Error naming `path` when it cannot be opened or mapped, is a folder, or is
    // empty (an empty file cannot be mapped and is never a valid tensor file).
    static std::shared_ptr<const MappedFile> open(const std::string& path);

    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& path() const { return m_path; }
    std::span<const std::byte> bytes() const { return {m_data, m_size}; }
    std::uint64_t size() const { return m_size; }

private:
    MappedFile() = default;

    std::string m_path;
    const std::byte* m_data = nullptr;
    std::size_t m_size = 0;
};

} // namespace lq
