#include "arguments.h"
#include "commands.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/baseline.h"
#include "core/engine/bitbudget.h"
#include "core/engine/dequantizedadapter.h"
#include "core/engine/fieldbaseline.h"
#include "core/engine/report.h"
#include "core/io/adapter.h"
#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "outofmemory.h"
#include "quantizeoptions.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <unistd.h>

namespace lq::cli {

const char* const kQuantizeUsage =
    "usage: loraquant quantize PATH [--rho 0.8] [--split ratio|ratio-count|fixed:H]\n"
    "                          [--bits-high 2] [--group-size 128] [--refine none|paper|best]\n"
    "                          [--baseline NAME[:ARG]] [--paper-exact]\n"
    "                          [--report FILE.json|FILE.csv] [--export-peft DIR]\n"
    "                          [--export-packed FILE.lqa.h5]\n"
    "                          [--budget BITS [--budget-count paper|true]]\n"
    "                          [--components svd|random|norm] [--plan FILE]\n"
    "\n"
    "Quantizes a PEFT LoRA adapter (a folder with adapter_model.safetensors, or the\n"
    ".safetensors file itself) with LoRAQuant (arXiv 2510.26690): per module, the SVD of B A\n"
    "is split into h high-precision components (RTN with --bits-high bits) and r - h\n"
    "components in 1 bit (sign times mean |w|), in groups of --group-size values. Prints a\n"
    "summary: the average bit width by the paper's count (codes only) and the true count\n"
    "(codes + scales + zero points + headers), and the relative error of B A (energy-weighted\n"
    "total and mean over modules).\n"
    "\n"
    "  --rho R           energy share for the ratio rules, in (0, 1] (default 0.8)\n"
    "  --split RULE      ratio: the reference's rule (h = the smallest 0-based k whose\n"
    "                    cumulative energy e_k >= rho, at least 1; default); ratio-count: the\n"
    "                    smallest number of components whose energy reaches rho; fixed:H: h = H\n"
    "                    for every module (clamped to r)\n"
    "  --bits-high B     bits of the high part, 1 to 8 (default 2)\n"
    "  --group-size G    values per quantization group, >= 1 (default 128)\n"
    "  --refine R        none (default); paper: the reference's per-component SGD on the\n"
    "                    group ranges (300 steps, lr 0.01); best: this project's refinement,\n"
    "                    which chooses codes, scales and zero points of all four parts to\n"
    "                    minimise the module's whole error (same storage, so the same bits)\n"
    "  --baseline M      instead of LoRAQuant, compress the adapter with another method, for\n"
    "                    comparison at equal bits (the true count includes every stored bit):\n"
    "                    rtn:B         B-bit RTN (1 to 8) of the original B and A in row-major\n"
    "                                  groups of --group-size\n"
    "                    binary        sign times mean |w|, the same groups\n"
    "                    truncate:K    rank truncation: the first K SVD components of B A in\n"
    "                                  fp16, the rest dropped (kohya's resize_lora); also\n"
    "                                  truncate:energy=E (per module the fewest components\n"
    "                                  with energy share E) and truncate:bits=BITS (per module\n"
    "                                  by energy per bit, BITS average true bits)\n"
    "                    nf4, nf4-dq   QLoRA's 4-bit NormalFloat, blocks of 64 with a float32\n"
    "                                  absmax (4.5 bits); -dq double-quantizes the absmaxes\n"
    "                                  (8-bit, blocks of 256: 4.127 bits)\n"
    "                    nf4-svd, nf4-svd-dq  the same on B', A' after the SVD\n"
    "                    q8_0          llama.cpp's q8_0: blocks of 32 int8 with an fp16\n"
    "                                  scale (8.5 bits)\n"
    "                    deltacome:BITS  Delta-CoMe tiers, data-free: SVD components by\n"
    "                                  falling s_i in 8-, 3-, 2-bit RTN or dropped, tier sizes\n"
    "                                  for BITS average true bits (RTN, not the paper's GPTQ)\n"
    "                    compeft:D     ComPEFT: the top fraction D of each factor's values as\n"
    "                                  signs, one fp16 scale per factor fitted to the update,\n"
    "                                  positions as a bitmap (about 1 + D bits)\n"
    "                    --group-size and --paper-exact apply to rtn and binary only\n"
    "  --paper-exact     store scales in float32 and let groups run on across components, as\n"
    "                    the public reference does (default: fp16 scales, groups inside each\n"
    "                    component)\n"
    "  --budget BITS     instead of one rho for all, choose each module's h and high bit\n"
    "                    width to minimise the adapter's total error with at most BITS bits\n"
    "                    per weight on average (greedy on each module's error curve for every\n"
    "                    h and width, measured without refinement); widths from 2, 3, 4, or\n"
    "                    only --bits-high when given. Not with --rho, --split or --baseline\n"
    "  --budget-count C  the count BITS is in: paper (codes only; default, 1 to 4) or true\n"
    "                    (with scales, zero points and headers)\n"
    "  --plan FILE       repeat an earlier run's choices: each module's h and high width, the\n"
    "                    groups, scales and refinement, from its packed adapter (.lqa.h5) or\n"
    "                    JSON report (--report, or the workbench's Export Report). The adapter\n"
    "                    needs the plan's modules and ranks: the same adapter, or another one\n"
    "                    trained for the same base model and target modules. --refine may\n"
    "                    change the refinement; the other quantization options do not apply\n"
    "  --components O    which components the high part keeps (the paper's ablations): svd\n"
    "                    (default) the leading components of the SVD of B A; random: the\n"
    "                    original components (column i of B, row i of A) in a seeded random\n"
    "                    order; norm: the original ones ranked by ||b_i a_i^T||_F. h still\n"
    "                    comes from the SVD spectrum, so the bits are the same. Not with\n"
    "                    --baseline, --budget or --export-packed\n"
    "  --report FILE     also write the full report, JSON or CSV by the extension\n"
    "  --export-peft DIR write the dequantized adapter (B_hat, A_hat in the input's dtype, same\n"
    "                    keys, config and non-LoRA tensors) as a PEFT folder that PEFT and vLLM\n"
    "                    load unchanged; never into the input's folder. It replaces the\n"
    "                    adapter in DIR: with no config in the input, an adapter_config.json\n"
    "                    there is removed (other files stay)\n"
    "  --export-packed FILE.lqa.h5  write the packed adapter (HDF5: b-bit codes, scales, zero\n"
    "                    points; its size is the true bit count; docs/FORMAT.md); LoRAQuant only\n"
    "\n"
    "Files are written atomically (temporary file, then rename); the input is never changed.\n"
    "Exit status 0 on success, 1 with the error on stderr, 2 for a wrong call.\n";

namespace {

namespace fs = std::filesystem;

std::optional<BaselineSettings> parseBaseline(const std::string& text)
{
    BaselineSettings baseline;
    if (text == "binary") {
        baseline.method = BaselineMethod::Binary;
        return baseline;
    }
    if (text.rfind("rtn:", 0) == 0) {
        const std::string number = text.substr(4);
        if (number.size() == 1 && number[0] >= '1' && number[0] <= '8') {
            baseline.method = BaselineMethod::Rtn;
            baseline.bits = number[0] - '0';
            return baseline;
        }
    }
    if (text.rfind("rtn", 0) == 0)
        throw UsageError("--baseline rtn:B needs B = 1 to 8, got '" + text + "'");
    return std::nullopt;
}

// Whether `output` names one of the adapter's own files (an atomic rename would replace it).
bool isInputFile(const std::string& output, const Adapter& adapter)
{
    std::error_code ec;
    if (!fs::exists(output, ec))
        return false;
    std::vector<fs::path> inputs;
    if (!adapter.safetensorsPath().empty()) {
        inputs.emplace_back(adapter.safetensorsPath());
        inputs.push_back(fs::path(adapter.safetensorsPath()).parent_path() / "adapter_config.json");
    }
    for (const fs::path& input : inputs)
        if (fs::exists(input, ec) && fs::equivalent(output, input, ec))
            return true;
    return false;
}

// Progress on stderr, only for a person watching a terminal.
ProgressFn terminalProgress()
{
    if (!::isatty(STDERR_FILENO))
        return {};
    return [](int done, int total) {
        std::cerr << "\rquantizing module " << done << " / " << total << (done == total ? "\n" : "")
                  << std::flush;
        return true;
    };
}

} // namespace

int runQuantize(const std::vector<std::string>& args)
{
    OptionSpec spec = quantOptionSpec();
    spec.insert(
        spec.end(),
        {{"baseline", true}, {"report", true}, {"export-peft", true}, {"export-packed", true}});
    const Arguments arguments(args, spec);
    const std::string& path = arguments.onePositional("PATH (an adapter folder or .safetensors)");
    const QuantRecipe recipe = parseQuantRecipe(arguments);
    QuantSettings settings = recipe.settings;
    const std::optional<QuantPlan>& plan = recipe.plan;
    // A packed file records no component order: only the SVD's, whether chosen here or by the
    // plan, can be exported.
    if (const ComponentOrder order = plan ? plan->settings.order : settings.order;
        order != ComponentOrder::Svd && arguments.has("export-packed"))
        throw UsageError("--export-packed does not apply to the components " + toString(order) +
                         " (a packed file records no order)");

    std::optional<BaselineSettings> baseline;
    std::optional<FieldBaselineSettings> field;
    if (const auto text = arguments.value("baseline")) {
        for (const char* option : {"rho", "split", "bits-high", "refine"})
            if (arguments.has(option))
                throw UsageError(std::string("--") + option +
                                 " does not apply to --baseline (a baseline has no SVD split)");
        baseline = parseBaseline(*text);
        if (baseline) {
            baseline->groupSize = settings.groupSize;
            baseline->scaleFormat = settings.scaleFormat;
        } else {
            field = fieldBaselineFromString(*text);
            if (!field)
                throw UsageError(std::string("--baseline must be rtn:B (B = 1 to 8), binary, ") +
                                 kFieldBaselineForms + ", got '" + *text + "'");
            for (const char* option : {"group-size", "paper-exact"})
                if (arguments.has(option))
                    throw UsageError(std::string("--") + option + " does not apply to --baseline " +
                                     *text + " (its format fixes its blocks and scales)");
        }
    }

    const std::optional<double> budget = recipe.budget;
    const BitCount budgetCount = recipe.budgetCount;

    const Adapter adapter = whileDoing("reading " + path, [&] { return Adapter::load(path); });
    if (plan)
        settings = settingsFor(recipe, adapter);
    const auto report = arguments.value("report");
    const auto exportFolder = arguments.value("export-peft");
    // Refuse before the work, not after it.
    if (report && isInputFile(*report, adapter))
        throw Error(*report, "refusing to overwrite the input adapter with a report");
    if (exportFolder && isInputFile(*exportFolder, adapter))
        throw Error(*exportFolder, "refusing to overwrite the input adapter");
    const auto packedFile = arguments.value("export-packed");
    if (packedFile)
        checkPackedExport(*packedFile, adapter, baseline.has_value() || field.has_value());
    // Every output can be written, or the run stops here rather than after the work.
    if (report)
        checkReportPath(*report);
    if (exportFolder)
        checkCanWriteFolder(*exportFolder);
    if (packedFile)
        checkCanWriteFile(*packedFile);
    for (const std::string& warning : adapter.warnings())
        std::cerr << "warning: " << warning << '\n';

    const std::string quantizing = "quantizing " + path;
    QuantResult result;
    if (baseline) {
        result = whileDoing(
            quantizing, [&] { return quantizeBaseline(adapter, *baseline, terminalProgress()); });
    } else if (field) {
        result = whileDoing(
            quantizing, [&] { return quantizeFieldBaseline(adapter, *field, terminalProgress()); });
    } else if (budget) {
        const std::vector<int>& widths = recipe.budgetWidths;
        const ErrorCurves curves =
            whileDoing(quantizing, [&] { return computeErrorCurves(adapter, settings, widths); });
        const BudgetAllocation allocation = allocateBudget(curves, *budget, budgetCount);
        result = whileDoing(quantizing, [&] {
            return quantizeAdapter(adapter, settings, allocation, terminalProgress());
        });
        // The summary's method line shows the settings' rho and width, which the budget
        // replaces: say so, and what each module got.
        std::string list, spread;
        for (int bits : widths) {
            list += (list.empty() ? "" : ", ") + std::to_string(bits);
            int modules = 0;
            for (const ModuleResult& module : result.modules)
                modules += module.h > 0 && module.bitsHigh == bits ? 1 : 0;
            spread += ", " + std::to_string(modules) + " with " + std::to_string(bits) + "-bit";
        }
        int allBinary = 0;
        for (const ModuleResult& module : result.modules)
            allBinary += module.h == 0 ? 1 : 0;
        char line[512];
        std::snprintf(line, sizeof line,
                      "budget     %.4g bits per weight, %s count: each module's h and high width "
                      "(%s) chosen\n"
                      "           from error curves without refinement (%.2f s); the rho and "
                      "width below are not used\n"
                      "           modules: %d all 1-bit%s high parts\n",
                      *budget, toString(budgetCount).c_str(), list.c_str(), curves.seconds,
                      allBinary, spread.c_str());
        std::cout << line;
    } else {
        result = whileDoing(quantizing,
                            [&] { return quantizeAdapter(adapter, settings, terminalProgress()); });
        if (plan)
            std::cout << "plan       " << plan->file << ": each module's h and high width ("
                      << plan->modules.size() << " modules); the rho, split and width below are "
                      << "not used\n";
    }
    std::cout << reportSummary(result);

    if (report) {
        writeReport(*report, result);
        std::cout << "report     " << *report << '\n';
    }
    if (exportFolder) {
        writeDequantizedAdapter(*exportFolder, adapter, result);
        std::cout << "exported   " << *exportFolder
                  << " (dequantized PEFT adapter, stored dtype of the input)\n";
    }
    if (packedFile)
        writePackedExport(*packedFile, adapter, result);
    return 0;
}

} // namespace lq::cli
