#pragma once

// Opening files that may be hostile. A path where a file is expected can name a FIFO, a device
// or a socket (`adapter_config.json -> /dev/zero`); reading those blocks or never ends. Every
// reader opens its input through InputFile, which refuses anything but a regular file (after
// following symbolic links) without blocking, and reads a whole file only if it still has the
// size it had when opened.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace lq {

class InputFile
{
public:
    // Throws lq::Error naming `path`: "cannot open the <what>: <reason>", "the <what> is a
    // folder", "the <what> is a FIFO, not a regular file" (device, socket, ...).
    static InputFile open(const std::string& path, const std::string& what);

    InputFile(InputFile&& other) noexcept;
    InputFile& operator=(InputFile&& other) noexcept;
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    ~InputFile();

    int descriptor() const { return m_fd; }
    // The size when opened.
    std::uint64_t size() const { return m_size; }

    // Reads the whole file into `out` (size() bytes). Throws lq::Error "the file changed while
    // it was read" when it is shorter or longer than when it was opened.
    void readAll(std::byte* out) const;
    // Reads `count` bytes from `offset` into `out`; the same error when the file ends first.
    void readAt(std::uint64_t offset, std::byte* out, std::uint64_t count) const;

private:
    InputFile(std::string path, int fd, std::uint64_t size);

    std::string m_path;
    int m_fd = -1;
    std::uint64_t m_size = 0;
};

} // namespace lq
