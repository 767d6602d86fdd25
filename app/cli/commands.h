#pragma once

#include <string>
#include <vector>

namespace lq {
class Adapter;
struct QuantResult;
} // namespace lq

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
int runSweep(const std::vector<std::string>& args);
int runBatch(const std::vector<std::string>& args);

// Packed files (packedcommands.cpp): `inspect FILE.lqa.h5`, and quantize's --export-packed
// (checked before the work, written after it).
int runInspectPacked(const std::string& path, bool json);
void checkPackedExport(const std::string& path, const Adapter& adapter, bool baseline);
void writePackedExport(const std::string& path, const Adapter& adapter, const QuantResult& result);

extern const char* const kInspectUsage;
extern const char* const kSynthUsage;
extern const char* const kQuantizeUsage;
extern const char* const kValidateUsage;
extern const char* const kUnpackUsage;
extern const char* const kSweepUsage;
extern const char* const kBatchUsage;

} // namespace lq::cli
