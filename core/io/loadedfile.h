#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace lq {

// Frees a LoadedFile's bytes the way they were allocated: anonymous pages for a large file,
// new[] for a small one.
struct LoadedFileRelease
{
    std::size_t mapped = 0;
    void operator()(std::byte* data) const;
};

// A whole file read into memory once, shared by every SafetensorsFile copy.
//
// Not a memory map: a mapped file that another process truncates kills the reader with SIGBUS
// on the next access to a lost page, and a reader of untrusted downloads cannot rule that out.
// Reading costs one copy of the file: on the 80 MB adapter of bench_load, opening and every
// module's spectrum take 0.16 s warm against 0.14 s mapped (README, "Untrusted files").
//
// Threads: immutable after open(); bytes() may be read from any number of threads.
class LoadedFile
{
public:
    // Throws lq::Error naming `path` when it cannot be opened or read, is not a regular file
    // (inputfile.h), is empty (never a valid tensor file), or changed while it was read.
    // `what` names the file in those messages ("the packed file is a FIFO ...").
    static std::shared_ptr<const LoadedFile> open(const std::string& path,
                                                  const std::string& what = "file");

    const std::string& path() const { return m_path; }
    std::span<const std::byte> bytes() const { return {m_data.get(), m_size}; }
    std::uint64_t size() const { return m_size; }

private:
    LoadedFile() = default;

    using Bytes = std::unique_ptr<std::byte, LoadedFileRelease>;

    std::string m_path;
    Bytes m_data;
    std::size_t m_size = 0;
};

} // namespace lq
