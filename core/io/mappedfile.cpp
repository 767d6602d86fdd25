#include "mappedfile.h"

#include "error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lq {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(path, std::string("cannot open the file: ") + std::strerror(errno));
    struct stat info
    {
    };
    if (::fstat(fd, &info) != 0) {
        const int code = errno;
        ::close(fd);
        throw Error(path, std::string("cannot read the file's size: ") + std::strerror(code));
    }
    if (S_ISDIR(info.st_mode)) {
        ::close(fd);
        throw Error(path, "is a folder, not a file");
    }
    if (info.st_size == 0) {
        ::close(fd);
        throw Error(path, "the file is empty");
    }
    const auto size = static_cast<std::size_t>(info.st_size);
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int code = errno;
    ::close(fd); // the mapping keeps its own reference to the file
    if (data == MAP_FAILED)
        throw Error(path, std::string("cannot map the file into memory: ") + std::strerror(code));

    std::shared_ptr<MappedFile> file(new MappedFile);
    file->m_path = path;
    file->m_data = static_cast<const std::byte*>(data);
    file->m_size = size;
    return file;
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(const_cast<std::byte*>(m_data), m_size);
}

} // namespace lq
