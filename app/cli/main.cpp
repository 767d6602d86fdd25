#include "arguments.h"
#include "commands.h"
#include "core/engine/allocatorsettings.h"
#include "core/io/error.h"
#include "outofmemory.h"

#include <algorithm>
#include <cstring>
#include <iostream>

#ifndef LQ_VERSION
#define LQ_VERSION "unknown"
#endif

namespace {

using lq::cli::Command;

const Command kCommands[] = {
    {"inspect", "singular spectra and sizes of an adapter or a packed file", lq::cli::kInspectUsage,
     lq::cli::runInspect},
    {"quantize", "quantize an adapter with LoRAQuant; report and export", lq::cli::kQuantizeUsage,
     lq::cli::runQuantize},
    {"validate", "check the packed CPU kernels against the reference", lq::cli::kValidateUsage,
     lq::cli::runValidate},
    {"unpack", "write the dequantized PEFT adapter of a packed file", lq::cli::kUnpackUsage,
     lq::cli::runUnpack},
    {"synth", "write a synthetic PEFT adapter with real model shapes", lq::cli::kSynthUsage,
     lq::cli::runSynth},
    {"sweep", "compare every method over a range of bit widths on one adapter",
     lq::cli::kSweepUsage, lq::cli::runSweep},
    {"batch", "quantize many adapters: resumable, shardable, with a summary", lq::cli::kBatchUsage,
     lq::cli::runBatch},
};

void printOverview(std::ostream& out)
{
    out << "usage: loraquant COMMAND [options]\n\n"
           "Compress LoRA adapters to ultra-low bit widths (LoRAQuant, arXiv 2510.26690).\n\n"
           "commands:\n";
    for (const Command& c : kCommands)
        out << "  " << c.name << std::string(12 - std::strlen(c.name), ' ') << c.summary << '\n';
    out << "\n'loraquant COMMAND --help' describes a command. 'loraquant --version' prints the "
           "version.\n";
}

} // namespace

int main(int argc, char** argv)
{
    lq::keepFreedBlocksForReuse();
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        printOverview(std::cout);
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        std::cout << "loraquant " << LQ_VERSION << '\n';
        return 0;
    }
    const auto it = std::find_if(std::begin(kCommands), std::end(kCommands),
                                 [&](const Command& c) { return args[0] == c.name; });
    if (it == std::end(kCommands)) {
        std::cerr << "loraquant: unknown command '" << args[0] << "'\n\n";
        printOverview(std::cerr);
        return 2;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (std::find(rest.begin(), rest.end(), "--help") != rest.end() ||
        std::find(rest.begin(), rest.end(), "-h") != rest.end()) {
        std::cout << it->usage;
        return 0;
    }
    try {
        return it->run(rest);
    } catch (const lq::cli::UsageError& e) {
        std::cerr << "loraquant " << it->name << ": " << e.what() << "\n\n" << it->usage;
        return 2;
    } catch (const lq::Error& e) {
        std::cerr << "loraquant " << it->name << ": " << e.what() << '\n';
        return 1;
    } catch (const lq::cli::OutOfMemory& e) {
        std::cerr << "loraquant " << it->name << ": out of memory while " << e.doing() << '\n';
        return 1;
    } catch (const std::bad_alloc&) {
        // Where no command said what it was doing; the message is still not "std::bad_alloc".
        std::cerr << "loraquant " << it->name << ": out of memory\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "loraquant " << it->name << ": " << e.what() << '\n';
        return 1;
    }
}
