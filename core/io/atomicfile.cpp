#include "atomicfile.h"

#include "error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <unistd.h>

namespace lq {
namespace {

std::string temporaryPathFor(const std::string& path)
{
    // A random suffix keeps two writers of the same file from sharing a temporary.
    std::random_device device;
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, ".tmp%08x", static_cast<unsigned>(device()));
    const std::filesystem::path target(path);
    // Built by appending: g++ 12 -O3 gives a false -Wrestrict on "." + std::string&&.
    std::string name = ".";
    name += target.filename().string();
    name += suffix;
    return (target.parent_path() / name).string();
}

std::string systemError(int code) { return std::strerror(code); }

void renameOver(const std::string& temporary, const std::string& path)
{
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        const int code = errno;
        std::remove(temporary.c_str());
        throw Error(path, "cannot replace the file: " + systemError(code));
    }
}

} // namespace

void writeFileAtomically(const std::string& path, std::span<const std::byte> content)
{
    const std::string temporary = temporaryPathFor(path);
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(path, "cannot create a file in that folder: " + systemError(errno));

    const auto fail = [&](int code) {
        ::close(fd);
        std::remove(temporary.c_str());
        throw Error(path, "write failed: " + systemError(code));
    };
    const std::byte* data = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        const ssize_t written = ::write(fd, data, left);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            fail(errno);
        }
        data += written;
        left -= static_cast<std::size_t>(written);
    }
    // Without fsync a crash right after the rename could leave an empty file under the real name.
    if (::fsync(fd) != 0)
        fail(errno);
    if (::close(fd) != 0) {
        const int code = errno;
        std::remove(temporary.c_str());
        throw Error(path, "write failed: " + systemError(code));
    }
    renameOver(temporary, path);
}

void writeFileAtomically(const std::string& path, const std::string& content)
{
    writeFileAtomically(path, std::as_bytes(std::span(content.data(), content.size())));
}

void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temporaryPath)>& produce)
{
    const std::string temporary = temporaryPathFor(path);
    try {
        produce(temporary);
    } catch (...) {
        std::remove(temporary.c_str());
        throw;
    }
    // The producer closed its file; make its content durable before it takes the real name.
    const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int code = errno;
        std::remove(temporary.c_str());
        throw Error(path, "the written file vanished: " + systemError(code));
    }
    const bool synced = ::fsync(fd) == 0;
    const int code = errno;
    ::close(fd);
    if (!synced) {
        std::remove(temporary.c_str());
        throw Error(path, "write failed: " + systemError(code));
    }
    renameOver(temporary, path);
}

} // namespace lq
