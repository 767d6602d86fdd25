#include "arguments.h"
#include "commands.h"
#include "core/engine/sweep.h"
#include "core/io/adapter.h"
#include "core/io/atomicfile.h"
#include "core/io/error.h"

#include <filesystem>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace lq::cli {

const char* const kSweepUsage =
    "usage: loraquant sweep PATH [--json FILE] [--csv FILE] [--methods LIST]\n"
    "                       [--rhos LIST] [--bits-high LIST] [--storage exact|compact]\n"
    "                       [--seed S] [--truncate-bits LIST] [--deltacome-bits LIST]\n"
    "                       [--compeft-densities LIST]\n"
    "\n"
    "Quantizes one adapter with every method over a range of settings and prints one row per\n"
    "(method, setting): the average bit width by the paper's count (codes only) and the true\n"
    "count (codes + scales + zero points + headers), and the relative error of B A\n"
    "(energy-weighted total and mean over modules). Methods:\n"
    "  rtn            whole-adapter RTN of the original B and A, 1 to 4 bits\n"
    "  binary         whole-adapter binary (sign times mean |w|)\n"
    "  random-split   LoRAQuant on the original components in a random order (the paper's\n"
    "                 ablation; h as the SVD split's, so the same bits)\n"
    "  norm-split     LoRAQuant on the original components ranked by ||b_i a_i^T||_F\n"
    "  svd-split      LoRAQuant as the paper, no refinement\n"
    "  paper-refine   LoRAQuant with the reference's refinement (300 SGD steps)\n"
    "  best-refine    LoRAQuant with --refine best\n"
    "  budget         the bit-budget allocation (h and b_h in {2, 3, 4} per module), with\n"
    "                 each svd-split row's true bits as the budget\n"
    "  truncate       rank truncation: leading SVD components in fp16, per module by energy\n"
    "                 per bit within each --truncate-bits budget (true count)\n"
    "  nf4            QLoRA's NF4 on B and A as stored, without and with double quantization\n"
    "  nf4-svd        NF4 on B', A' after the SVD, without and with double quantization\n"
    "  q8_0           llama.cpp's q8_0 (8.5 bits)\n"
    "  deltacome      Delta-CoMe 8/3/2-bit tiers over the SVD components (RTN, data-free), for\n"
    "                 each --deltacome-bits target (true count)\n"
    "  compeft        ComPEFT: top-density signs with one scale per factor, positions as a\n"
    "                 bitmap, for each --compeft-densities\n"
    "LoRAQuant rows run for every b_h and rho given. The last six methods keep their own\n"
    "formats (quantize --help, --baseline), so --storage does not change them.\n"
    "\n"
    "  --json FILE       also write the rows as JSON\n"
    "  --csv FILE        also write the rows as CSV\n"
    "  --methods LIST    comma-separated methods (default: all, in the order above)\n"
    "  --rhos LIST       comma-separated rho values in (0, 1] (default\n"
    "                    0.5,0.6,0.7,0.8,0.9,0.95)\n"
    "  --bits-high LIST  comma-separated b_h for the LoRAQuant rows (default 2,3)\n"
    "  --storage S       exact (default): the reference's storage, float32 scales, groups\n"
    "                    running on across components; compact: fp16 scales, groups inside\n"
    "                    each component (quantize's default). Every row uses it, group size 128\n"
    "  --seed S          seed of the random split (default 1)\n"
    "  --truncate-bits LIST      bit budgets of the truncate rows (default 1,2,3,4,6,8)\n"
    "  --deltacome-bits LIST     bit targets of the deltacome rows (default 1,2,3,4,6,8)\n"
    "  --compeft-densities LIST  densities of the compeft rows (default 0.05,0.1,0.2,0.5,1)\n"
    "\n"
    "Files are written atomically; the input is never changed. Progress goes to stderr on a\n"
    "terminal. Exit status 0 on success, 1 with the error on stderr, 2 for a wrong call.\n";

namespace {

namespace fs = std::filesystem;

std::vector<std::string> splitList(const std::string& text, const std::string& option)
{
    std::vector<std::string> items;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ','))
        items.push_back(item);
    if (items.empty() || text.back() == ',')
        throw UsageError("--" + option + " expects a comma-separated list, got '" + text + "'");
    for (const std::string& entry : items)
        if (entry.empty())
            throw UsageError("--" + option + " has an empty entry: '" + text + "'");
    return items;
}

// Refuses an output that is one of the adapter's own files (the rename would replace it).
void checkOutput(const std::string& output, const Adapter& adapter)
{
    std::error_code ec;
    if (!fs::exists(output, ec) || adapter.safetensorsPath().empty())
        return;
    const fs::path tensors(adapter.safetensorsPath());
    for (const fs::path& input : {tensors, tensors.parent_path() / "adapter_config.json"})
        if (fs::exists(input, ec) && fs::equivalent(output, input, ec))
            throw Error(output, "refusing to overwrite the input adapter with a sweep");
}

} // namespace

int runSweep(const std::vector<std::string>& args)
{
    const Arguments arguments(args, {{"json", true},
                                     {"csv", true},
                                     {"methods", true},
                                     {"rhos", true},
                                     {"bits-high", true},
                                     {"storage", true},
                                     {"seed", true},
                                     {"truncate-bits", true},
                                     {"deltacome-bits", true},
                                     {"compeft-densities", true}});
    const std::string& path = arguments.onePositional("PATH (an adapter folder or .safetensors)");

    SweepSettings settings;
    if (const auto text = arguments.value("methods")) {
        settings.methods.clear();
        for (const std::string& name : splitList(*text, "methods")) {
            const auto method = sweepMethodFromString(name);
            if (!method)
                throw UsageError("unknown method '" + name +
                                 "'; choose from rtn, binary, random-split, norm-split, "
                                 "svd-split, paper-refine, best-refine, budget, truncate, nf4, "
                                 "nf4-svd, q8_0, deltacome, compeft");
            settings.methods.push_back(*method);
        }
    }
    if (const auto text = arguments.value("rhos")) {
        settings.rhos.clear();
        for (const std::string& item : splitList(*text, "rhos"))
            settings.rhos.push_back(parseNumber(item, "--rhos"));
    }
    if (const auto text = arguments.value("bits-high")) {
        settings.bitsHigh.clear();
        for (const std::string& item : splitList(*text, "bits-high")) {
            const double bits = parseNumber(item, "--bits-high");
            if (bits != int(bits))
                throw UsageError("--bits-high expects whole numbers, got '" + item + "'");
            settings.bitsHigh.push_back(int(bits));
        }
    }
    for (const auto& [option, list] : {std::pair{"truncate-bits", &settings.truncateBits},
                                       std::pair{"deltacome-bits", &settings.deltaComeBits},
                                       std::pair{"compeft-densities", &settings.compeftDensities}})
        if (const auto text = arguments.value(option)) {
            list->clear();
            for (const std::string& item : splitList(*text, option))
                list->push_back(parseNumber(item, std::string("--") + option));
        }
    const std::string storage = arguments.value("storage", "exact");
    if (storage == "compact") {
        settings.layout = GroupLayout::PerComponent;
        settings.scaleFormat = ScaleFormat::F16;
    } else if (storage != "exact") {
        throw UsageError("--storage must be exact or compact, got '" + storage + "'");
    }
    if (const auto seed = arguments.value("seed")) {
        const double value = parseNumber(*seed, "--seed");
        if (value < 0 || value != double(std::uint64_t(value)))
            throw UsageError("--seed expects a non-negative whole number, got '" + *seed + "'");
        settings.seed = std::uint64_t(value);
    }
    try {
        settings.validate();
    } catch (const Error& e) {
        throw UsageError(e.problem());
    }

    const Adapter adapter = Adapter::load(path);
    const auto json = arguments.value("json");
    const auto csv = arguments.value("csv");
    for (const auto& output : {json, csv})
        if (output)
            checkOutput(*output, adapter);
    // The extension decides the format; check it before the work, not after.
    if (json && fs::path(*json).extension() != ".json")
        throw UsageError("--json FILE must end in .json, got '" + *json + "'");
    if (csv && fs::path(*csv).extension() != ".csv")
        throw UsageError("--csv FILE must end in .csv, got '" + *csv + "'");
    for (const auto& output : {json, csv})
        if (output)
            checkCanWriteFile(*output);
    for (const std::string& warning : adapter.warnings())
        std::cerr << "warning: " << warning << '\n';

    ProgressFn progress;
    if (::isatty(STDERR_FILENO))
        progress = [](int done, int total) {
            std::cerr << "\rsweep: " << done << " / " << total << " module runs"
                      << (done == total ? "\n" : "") << std::flush;
            return true;
        };
    const SweepResult result = lq::runSweep(adapter, settings, progress);
    std::cout << sweepTable(result);
    if (json) {
        writeSweep(*json, result);
        std::cout << "json       " << *json << '\n';
    }
    if (csv) {
        writeSweep(*csv, result);
        std::cout << "csv        " << *csv << '\n';
    }
    return 0;
}

} // namespace lq::cli
