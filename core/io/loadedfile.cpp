#include "loadedfile.h"

#include "error.h"
#include "inputfile.h"

namespace lq {

std::shared_ptr<const LoadedFile> LoadedFile::open(const std::string& path)
{
    const InputFile input = InputFile::open(path, "file");
    if (input.size() == 0)
        throw Error(path, "the file is empty");
    std::shared_ptr<LoadedFile> file(new LoadedFile);
    file->m_path = path;
    file->m_size = std::size_t(input.size());
    // Default-initialised: the read fills every byte, so zeroing them first would be wasted.
    file->m_data.reset(new std::byte[file->m_size]);
    input.readAll(file->m_data.get());
    return file;
}

} // namespace lq
