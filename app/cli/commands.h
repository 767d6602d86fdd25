#pragma once

#include <string>
#include <vector>

namespace lq::cli {

// One `loraquant` subcommand. `run` gets the arguments after the subcommand's name, prints its
// results to stdout and returns the exit code; it throws UsageError for a bad call and lq::Error
// for bad input, which main() reports on stderr.
struct Command
{
    const char* name;
    const char* summary;
    const char* usage; // full --help text
    int (*run)(const std::vector<std::string>& args);
};

int runInspect(const std::vector<std::string>& args);
int runSynth(const std::vector<std::string>& args);
int runQuantize(const std::vector<std::string>& args);
int runValidate(const std::vector<std::string>& args);
int runUnpack(const std::vector<std::string>& args);

extern const char* const kInspectUsage;
extern const char* const kSynthUsage;
extern const char* const kQuantizeUsage;
extern const char* const kValidateUsage;
extern const char* const kUnpackUsage;

} // namespace lq::cli
