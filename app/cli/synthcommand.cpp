#include "arguments.h"
#include "commands.h"

#include <iostream>

namespace lq::cli {

// Placeholder until the command is implemented; exits non-zero so nothing mistakes it for done.
const char* const kSynthUsage = "usage: loraquant synth --preset NAME -o DIR\n";

int runSynth(const std::vector<std::string>&)
{
    std::cerr << "not implemented yet\n";
    return 1;
}

} // namespace lq::cli
