#include "core/io/inputfile.h"

#include "core/io/error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace lq {
namespace {

const char* kindOf(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

} // namespace

InputFile InputFile::open(const std::string& path, const std::string& what)
{
    // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer that may never come.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        const int code = errno;
        // A socket cannot be opened at all (ENXIO); say what it is rather than why open failed.
        struct stat info
        {
        };
        if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode))
            throw Error(path, "the " + what + " is " + kindOf(info.st_mode) +
                                  ", not a regular file; refusing to read it");
        throw Error(path, "cannot open the " + what + ": " + std::strerror(code));
    }
    InputFile file(path, fd, 0);
    struct stat info
    {
    };
    if (::fstat(fd, &info) != 0)
        throw Error(path, "cannot read the size of the " + what + ": " + std::strerror(errno));
    if (S_ISDIR(info.st_mode))
        throw Error(path, "the " + what + " is a folder, not a file");
    if (!S_ISREG(info.st_mode))
        throw Error(path, "the " + what + " is " + kindOf(info.st_mode) +
                              ", not a regular file; refusing to read it");
    // Back to blocking reads: a regular file never blocks, and a short read must not be EAGAIN.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    file.m_size = std::uint64_t(info.st_size);
    return file;
}

InputFile::InputFile(std::string path, int fd, std::uint64_t size)
    : m_path(std::move(path)), m_fd(fd), m_size(size)
{}

InputFile::InputFile(InputFile&& other) noexcept
    : m_path(std::move(other.m_path)), m_fd(std::exchange(other.m_fd, -1)), m_size(other.m_size)
{}

InputFile& InputFile::operator=(InputFile&& other) noexcept
{
    if (this != &other) {
        if (m_fd >= 0)
            ::close(m_fd);
        m_path = std::move(other.m_path);
        m_fd = std::exchange(other.m_fd, -1);
        m_size = other.m_size;
    }
    return *this;
}

InputFile::~InputFile()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

void InputFile::readAt(std::uint64_t offset, std::byte* out, std::uint64_t count) const
{
    std::uint64_t done = 0;
    while (done < count) {
        const std::size_t chunk = std::size_t(std::min<std::uint64_t>(count - done, 1u << 26));
        const ssize_t got = ::pread(m_fd, out + done, chunk, off_t(offset + done));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            throw Error(m_path, std::string("read failed: ") + std::strerror(errno));
        }
        if (got == 0)
            throw Error(m_path, "the file changed while it was read (it was " +
                                    std::to_string(m_size) + " bytes when opened, then ended at " +
                                    std::to_string(offset + done) + ")");
        done += std::uint64_t(got);
    }
}

void InputFile::readAll(std::byte* out) const
{
    readAt(0, out, m_size);
    std::byte extra;
    if (::pread(m_fd, &extra, 1, off_t(m_size)) > 0)
        throw Error(m_path, "the file changed while it was read (it grew past the " +
                                std::to_string(m_size) + " bytes it had when opened)");
}

} // namespace lq
