#include "core/io/atomicfile.h"

#include "core/io/error.h"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <random>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace lq {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTemporaryMark = ".tmp-";

std::string systemError(int code)
{
    return std::strerror(code);
}

// This host's part of a temporary's name: a folder on a network drive can hold temporaries of
// another host's writers, whose process ids mean nothing here.
const std::string& hostTag()
{
    static const std::string tag = [] {
        char name[256] = {};
        if (::gethostname(name, sizeof name - 1) != 0)
            name[0] = '\0';
        std::uint32_t hash = 2166136261u; // FNV-1a
        for (const char* c = name; *c; ++c)
            hash = (hash ^ std::uint8_t(*c)) * 16777619u;
        char text[16];
        std::snprintf(text, sizeof text, "%08x", hash);
        return std::string(text);
    }();
    return tag;
}

bool isHex(std::string_view text)
{
    return text.size() == 8 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// The writer's process id if `name` is one of this host's temporaries for a target whose
// temporaries start with `prefix`: prefix, then PID-HOST-RANDOM and nothing else.
std::optional<pid_t> temporaryOwner(std::string_view name, std::string_view prefix)
{
    if (name.substr(0, prefix.size()) != prefix)
        return std::nullopt;
    const std::string_view rest = name.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string_view::npos || rest.size() != dash + 18 || rest[dash + 9] != '-' ||
        rest.substr(dash + 1, 8) != hostTag() || !isHex(rest.substr(dash + 10)))
        return std::nullopt;
    const std::string_view digits = rest.substr(0, dash);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0)
        return std::nullopt;
    return pid;
}

// Removes what killed writers of `target` on this host left. Best effort: a folder that cannot
// be listed or a file that cannot be removed only means the stale file stays; the write goes on.
void removeStaleTemporaries(const fs::path& target)
{
    std::string prefix = "."; // appended, as in temporaryPathFor (-Wrestrict)
    prefix += target.filename().string();
    prefix += kTemporaryMark;
    const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    std::error_code ec;
    fs::directory_iterator it(folder, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const auto pid = temporaryOwner(name, prefix);
        // kill(pid, 0) fails with ESRCH only when no such process exists (EPERM: it exists,
        // owned by someone else). A reused id keeps a stale file, never removes a live one.
        if (pid && *pid != ::getpid() && ::kill(*pid, 0) != 0 && errno == ESRCH)
            ::unlink(it->path().c_str());
    }
}

std::string temporaryPathFor(const std::string& path)
{
    const fs::path target(path);
    removeStaleTemporaries(target);
    // The random part keeps two writers of the same file in one process (or a reused process
    // id) from sharing a temporary.
    std::random_device device;
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, "%ld-%s-%08x", static_cast<long>(::getpid()),
                  hostTag().c_str(), static_cast<unsigned>(device()));
    // Built by appending: g++ 12 -O3 gives a false -Wrestrict on "." + std::string&&.
    std::string name = ".";
    name += target.filename().string();
    name += kTemporaryMark;
    name += suffix;
    return (target.parent_path() / name).string();
}

// Creates and removes an empty temporary for `target`: whether a write of it can begin.
void probeFolder(const std::string& target, const std::string& reported, const char* problem)
{
    const std::string temporary = temporaryPathFor(target);
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(reported, problem + systemError(errno));
    ::close(fd);
    ::unlink(temporary.c_str());
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

void checkCanWriteFile(const std::string& path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec))
        throw Error(path, "is a folder; a file is written there");
    probeFolder(path, path, "cannot create a file in that folder: ");
}

void checkCanWriteFolder(const std::string& folder)
{
    fs::path existing(folder);
    if (!existing.has_filename()) // "out/"
        existing = existing.parent_path();
    std::error_code ec;
    bool missing = false;
    while (!existing.empty() && !fs::exists(existing, ec)) {
        existing = existing.parent_path();
        missing = true;
    }
    if (existing.empty())
        existing = ".";
    if (!fs::is_directory(existing, ec))
        throw Error(folder, missing ? existing.string() + " is a file, not a folder"
                                    : std::string("is a file, not a folder"));
    probeFolder((existing / "write-check").string(), folder,
                missing ? "cannot create the output folder: "
                        : "cannot create a file in that folder: ");
}

void StagedFiles::removeOnCommit(const std::string& path)
{
    m_removed.push_back(path);
}

void StagedFiles::commit()
{
    // Files to remove are moved aside first: that can fail (a read-only folder) while nothing
    // has changed yet, and can be undone.
    std::vector<std::pair<std::string, std::string>> aside; // path, its temporary name
    const auto restore = [&aside] {
        for (auto it = aside.rbegin(); it != aside.rend(); ++it)
            std::rename(it->second.c_str(), it->first.c_str());
    };
    for (const std::string& path : m_removed) {
        struct stat info
        {
        };
        if (::lstat(path.c_str(), &info) != 0 && errno == ENOENT)
            continue;
        if (S_ISDIR(info.st_mode)) {
            restore();
            throw Error(path, "is a folder, where this write leaves no file of that name");
        }
        const std::string temporary = temporaryPathFor(path);
        if (std::rename(path.c_str(), temporary.c_str()) != 0) {
            const int code = errno;
            restore();
            throw Error(path, "cannot remove the file of an earlier write: " + systemError(code));
        }
        aside.emplace_back(path, temporary);
    }
    m_removed.clear();
    // Each rename takes its temporary out of the list, so that a failure removes only the rest.
    // Moved-aside files go back only while nothing is replaced: beside new files an old one
    // (another adapter's config) would be wrong, which the reported failure already says.
    bool replacedAny = false;
    while (!m_staged.empty()) {
        const Staged staged = m_staged.front();
        m_staged.erase(m_staged.begin());
        try {
            renameOver(staged.temporary, staged.path);
        } catch (...) {
            if (!replacedAny)
                restore();
            else
                for (const auto& entry : aside)
                    std::remove(entry.second.c_str());
            throw;
        }
        replacedAny = true;
    }
    for (const auto& entry : aside)
        std::remove(entry.second.c_str());
}

} // namespace lq
