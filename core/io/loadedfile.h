#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace lq {

// A whole file read into memory once, shared by every SafetensorsFile copy.
//
// Not a memory map: a mapped file that another process truncates kills the reader with SIGBUS
// on the next access to a lost page, and a reader of untrusted downloads cannot rule that out.
// Reading costs one copy of the file, which the adapter's own conversion to float32 dwarfs
// (bench_load measures both, docs/FORMAT.md "Threat model").
//
// Threads: immutable after open(); bytes() may be read from any number of threads.
class LoadedFile
{
public:
    // Throws lq::Error naming `path` when it cannot be opened or read, is not a regular file
    // (inputfile.h), is empty (never a valid tensor file), or changed while it was read.
    static std::shared_ptr<const LoadedFile> open(const std::string& path);

    const std::string& path() const { return m_path; }
    std::span<const std::byte> bytes() const { return {m_data.get(), m_size}; }
    std::uint64_t size() const { return m_size; }

private:
    LoadedFile() = default;

    std::string m_path;
    std::unique_ptr<std::byte[]> m_data;
    std::size_t m_size = 0;
};

} // namespace lq
