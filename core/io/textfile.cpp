#include "textfile.h"

#include "error.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lq {

std::string readTextFile(const std::string& path, const std::string& what)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path, "cannot open the " + what + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw Error(path, "cannot read the " + what);
    return text.str();
}

} // namespace lq
