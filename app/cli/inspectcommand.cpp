#include "arguments.h"
#include "commands.h"

#include <iostream>

namespace lq::cli {

// Placeholder until the command is implemented; exits non-zero so nothing mistakes it for done.
const char* const kInspectUsage = "usage: loraquant inspect PATH [--json]\n";

int runInspect(const std::vector<std::string>&)
{
    std::cerr << "not implemented yet\n";
    return 1;
}

} // namespace lq::cli
