#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <sys/mman.h>
#include <system_error>
#include <unistd.h>

// The readers take a path; libFuzzer hands out bytes. An anonymous in-memory file (memfd)
// reached through /proc/self/fd gives the reader a real, regular file without touching the disk
// on every input.
namespace lqfuzz {

class MemoryFile
{
public:
    MemoryFile(const std::uint8_t* data, std::size_t size)
    {
        m_fd = ::memfd_create("lq-fuzz-input", MFD_CLOEXEC);
        if (m_fd < 0)
            fail("memfd_create");
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::write(m_fd, data + done, size - done);
            if (n <= 0)
                fail("write to memfd");
            done += std::size_t(n);
        }
        m_path = "/proc/self/fd/" + std::to_string(m_fd);
    }
    ~MemoryFile() { ::close(m_fd); }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;

    const std::string& path() const { return m_path; }

private:
    // A broken harness must not look like a finding in the code under test.
    [[noreturn]] static void fail(const char* what)
    {
        std::perror(what);
        std::_Exit(2);
    }

    int m_fd = -1;
    std::string m_path;
};

// For readers that cannot use /proc/self/fd (HDF5 refuses to open a memfd that way): the input
// as a plain file, on tmpfs when the caller passes a folder there.
inline void writeInputFile(const std::string& path, const std::uint8_t* data, std::size_t size)
{
    std::FILE* out = std::fopen(path.c_str(), "wb");
    if (!out || (size > 0 && std::fwrite(data, 1, size, out) != size) || std::fclose(out) != 0) {
        std::perror(path.c_str());
        std::_Exit(2);
    }
}

// A property of the code under test was violated: abort so that libFuzzer keeps the input.
[[noreturn]] inline void violated(const char* what)
{
    std::fprintf(stderr, "lq-fuzz: property violated: %s\n", what);
    std::abort();
}

// One scratch folder on tmpfs per process for the write-back checks (tmpfs makes the writer's
// fsync free); removed when the process exits.
struct ScratchFolder
{
    ScratchFolder()
    {
        char pattern[] = "/dev/shm/lq-fuzz-XXXXXX";
        char fallback[] = "/tmp/lq-fuzz-XXXXXX";
        const char* made = ::mkdtemp(pattern);
        if (!made)
            made = ::mkdtemp(fallback);
        if (!made)
            violated("cannot create a scratch folder (harness problem)");
        path = made;
    }
    ~ScratchFolder()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string path;
};

inline const std::string& scratchFolder()
{
    static const ScratchFolder folder;
    return folder.path;
}

// The nesting-depth mutation: inserts a run of 1 to 200 openers ('[' or '{"k":') at `at`, where
// byte-level mutations would take forever to build one. JSON nested past the readers' bound
// (kMaxJsonDepth, 64) must be refused; nested within it, read as any other JSON. Returns the
// number of bytes inserted (0 when the input has no room left).
inline std::size_t insertNesting(std::uint8_t* data, std::size_t size, std::size_t maxSize,
                                 std::size_t at, std::minstd_rand& random)
{
    const bool objects = random() % 2 == 0;
    const std::string opener = objects ? "{\"k\":" : "[";
    const std::size_t levels = 1 + random() % 200;
    std::size_t added = std::min(levels * opener.size(), maxSize - size);
    added -= added % opener.size();
    if (added == 0 || at > size)
        return 0;
    std::memmove(data + at + added, data + at, size - at);
    for (std::size_t i = 0; i < added; ++i)
        data[at + i] = std::uint8_t(opener[i % opener.size()]);
    return added;
}

} // namespace lqfuzz

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t maxSize);
