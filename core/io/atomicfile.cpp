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

std::string systemError(int code)
{
    return std::strerror(code);
}

void renameOver(const std::string& temporary, const std::string& path)
{
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        const int code = errno;
        std::remove(temporary.c_str());
        throw Error(path, "cannot replace the file: " + systemError(code));
    }
}

// Writes `content` to a new temporary file beside `path`, flushed to the disk; returns its name.
std::string stageContent(const std::string& path, std::span<const std::byte> content)
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
    return temporary;
}

std::string stageProduced(const std::string& path,
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
    return temporary;
}

} // namespace

void writeFileAtomically(const std::string& path, std::span<const std::byte> content)
{
    renameOver(stageContent(path, content), path);
}

void writeFileAtomically(const std::string& path, const std::string& content)
{
    writeFileAtomically(path, std::as_bytes(std::span(content.data(), content.size())));
}

void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temporaryPath)>& produce)
{
    renameOver(stageProduced(path, produce), path);
}

StagedFiles::~StagedFiles()
{
    for (const Staged& staged : m_staged)
        std::remove(staged.temporary.c_str());
}

void StagedFiles::add(const std::string& path, std::span<const std::byte> content)
{
    m_staged.reserve(m_staged.size() + 1); // no throw between staging and recording it
    m_staged.push_back({stageContent(path, content), path});
}

void StagedFiles::add(const std::string& path, const std::string& content)
{
    add(path, std::as_bytes(std::span(content.data(), content.size())));
}

void StagedFiles::add(const std::string& path,
                      const std::function<void(const std::string& temporaryPath)>& produce)
{
    m_staged.reserve(m_staged.size() + 1);
    m_staged.push_back({stageProduced(path, produce), path});
}

void StagedFiles::commit()
{
    // Each rename takes its temporary out of the list, so that a failure removes only the rest.
    while (!m_staged.empty()) {
        const Staged staged = m_staged.front();
        m_staged.erase(m_staged.begin());
        renameOver(staged.temporary, staged.path);
    }
}

} // namespace lq
