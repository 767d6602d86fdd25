#include "core/io/textfile.h"

#include "core/io/error.h"
#include "core/io/inputfile.h"

namespace lq {

std::string readTextFile(const std::string& path, const std::string& what)
{
    const InputFile input = InputFile::open(path, what);
    if (input.size() > kMaxTextFileBytes)
        throw Error(path, "the " + what + " is " + std::to_string(input.size()) +
                              " bytes, over the " + std::to_string(kMaxTextFileBytes >> 20) +
                              " MiB limit for small text files");
    std::string text(std::size_t(input.size()), '\0');
    input.readAll(reinterpret_cast<std::byte*>(text.data()));
    return text;
}

} // namespace lq
