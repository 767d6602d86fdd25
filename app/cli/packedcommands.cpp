#include "arguments.h"
#include "commands.h"

#include <iostream>

namespace lq::cli {

// Placeholders until the packed format lands; they exit non-zero so nothing mistakes them for done.
const char* const kValidateUsage = "usage: loraquant validate FILE.lqa.h5 [--tokens T] [--json]\n";
const char* const kUnpackUsage = "usage: loraquant unpack FILE.lqa.h5 -o DIR\n";

int runValidate(const std::vector<std::string>&)
{
    std::cerr << "the packed format is not implemented yet\n";
    return 1;
}

int runUnpack(const std::vector<std::string>&)
{
    std::cerr << "the packed format is not implemented yet\n";
    return 1;
}

} // namespace lq::cli
