#include "arguments.h"
#include "commands.h"
#include "core/io/adapter.h"
#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "core/packed/kernelvalidation.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedkernel.h"
#include "core/packed/packedunpack.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace lq::cli {

const char* const kValidateUsage =
    "usage: loraquant validate FILE.lqa.h5 [--tokens T] [--seed S] [--json]\n"
    "\n"
    "Checks the packed CPU kernels on every module of a packed adapter: applies\n"
    "Y = s B_hat (A_hat X) to T seeded random activation vectors (N(0, 1)) straight from the\n"
    "packed codes, and compares it with the scalar reference (dequantized weights, sums in\n"
    "double). Per module it prints the largest absolute error, the relative error\n"
    "max|Y - Y_ref| / max|Y_ref| against the tolerance 1e-5, and the kernel's time and\n"
    "throughput (packed weight bytes per second).\n"
    "\n"
    "  --tokens T   activation vectors per module, 1 to 4096 (default 8)\n"
    "  --seed S     seed of the activations (default 1; module i uses S + i)\n"
    "  --json       print one JSON object instead: {\"file\", \"tokens\", \"tolerance\",\n"
    "               \"passed\", \"max_rel_error\", \"kernel_seconds\", \"weight_bytes\",\n"
    "               \"weight_bytes_per_second\", \"flops_per_second\", \"modules\": [{\"name\", "
    "\"m\",\n"
    "               \"n\", \"r\", \"h\", \"bits_high\", \"max_abs_error\", \"rel_error\",\n"
    "               \"kernel_seconds\", \"weight_bytes\", \"passed\"}, ...]}\n"
    "\n"
    "Exit status 0 when every module is within the tolerance; 1 when any is not (or the file\n"
    "cannot be read, with the error on stderr); 2 for a wrong call.\n";

const char* const kUnpackUsage =
    "usage: loraquant unpack FILE.lqa.h5 -o DIR [--dtype f32|source]\n"
    "\n"
    "Writes the dequantized PEFT adapter of a packed file to DIR: adapter_model.safetensors\n"
    "with lora_A = A_hat and lora_B = B_hat under the source adapter's tensor names, every\n"
    "non-LoRA tensor and the safetensors metadata of the source unchanged, and the source's\n"
    "adapter_config.json text. PEFT and vLLM load it like the original.\n"
    "\n"
    "  -o, --output DIR  output folder (created if needed); never the source adapter's folder\n"
    "  --dtype T         f32 (default): lossless, every dequantized value is exact in float32;\n"
    "                    source: the dtype the source adapter stored (rounds for f16/bf16)\n"
    "\n"
    "Files are written atomically; the packed file is never changed. Exit status 0 on success,\n"
    "1 with the error on stderr, 2 for a wrong call.\n";

namespace {

using Json = nlohmann::ordered_json;

// Paths and names may hold bytes that are not UTF-8 (a path is any bytes): they print as U+FFFD
// instead of failing the whole output after the work is done.
std::string dumpJson(const Json& json)
{
    return json.dump(2, ' ', false, Json::error_handler_t::replace);
}

std::string format(const char* spec, double value)
{
    char text[64];
    std::snprintf(text, sizeof text, spec, value);
    return text;
}

std::string pad(const std::string& text, std::size_t width, bool right)
{
    const std::string fill(width > text.size() ? width - text.size() : 0, ' ');
    return right ? fill + text : text + fill;
}

// Table rows in layer order (the JSON keeps the file's): anything with a module `name`.
template <typename Module>
std::vector<int> layerOrderOf(const std::vector<Module>& modules)
{
    std::vector<int> layers;
    for (const Module& module : modules)
        layers.push_back(layerIndexOf(module.name));
    return layerOrder(layers);
}

ProgressFn terminalProgress(const char* what)
{
    if (!::isatty(STDERR_FILENO))
        return {};
    return [what](int done, int total) {
        std::cerr << '\r' << what << ' ' << done << " / " << total << (done == total ? "\n" : "")
                  << std::flush;
        return true;
    };
}

std::uint64_t fileBytes(const std::string& path)
{
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : size;
}

double moduleBitsPerWeight(const PackedModule& module)
{
    return double(module.storedBits()) / double(module.parameterCount());
}

} // namespace

int runValidate(const std::vector<std::string>& args)
{
    const Arguments arguments(args, {{"tokens", true}, {"seed", true}, {"json", false}});
    const std::string& path = arguments.onePositional("FILE.lqa.h5");
    KernelValidationSettings settings;
    settings.tokens = arguments.integer("tokens", settings.tokens);
    if (settings.tokens < 1 || settings.tokens > 4096)
        throw UsageError("--tokens must be 1 to 4096, got " + std::to_string(settings.tokens));
    const int seed = arguments.integer("seed", 1);
    if (seed < 0)
        throw UsageError("--seed must be a non-negative whole number");
    settings.seed = std::uint64_t(seed);

    const PackedAdapter adapter = readPackedAdapter(path);
    const KernelValidationResult result =
        validateKernels(adapter, settings, terminalProgress("validating module"));

    if (arguments.has("json")) {
        Json json;
        json["file"] = path;
        json["tokens"] = result.tokens;
        json["tolerance"] = result.tolerance;
        json["passed"] = result.passed;
        json["max_rel_error"] = result.maxRelError;
        json["kernel_seconds"] = result.kernelSeconds;
        json["reference_seconds"] = result.referenceSeconds;
        json["weight_bytes"] = result.weightBytes;
        json["weight_bytes_per_second"] = result.weightBytesPerSecond();
        json["flops_per_second"] = result.flopsPerSecond();
        Json modules = Json::array();
        for (const ModuleValidation& m : result.modules)
            modules.push_back({{"name", m.name},
                               {"m", m.m},
                               {"n", m.n},
                               {"r", m.r},
                               {"h", m.h},
                               {"bits_high", m.bitsHigh},
                               {"max_abs_error", m.maxAbsError},
                               {"rel_error", m.relError},
                               {"kernel_seconds", m.kernelSeconds},
                               {"weight_bytes", m.weightBytes},
                               {"passed", m.passed}});
        json["modules"] = std::move(modules);
        json["warnings"] = result.warnings;
        std::cout << dumpJson(json) << '\n';
        return result.passed ? 0 : 1;
    }

    std::size_t width = 6;
    for (const ModuleValidation& m : result.modules)
        width = std::max(width, m.name.size());
    std::cout << "file       " << path << '\n'
              << "tokens     " << result.tokens << " activation vectors per module (seed "
              << settings.seed << ")\n"
              << "tolerance  max|Y - Y_ref| / max|Y_ref| <= " << format("%.0e", result.tolerance)
              << "\n\n"
              << pad("module", width, false) << pad("m", 7, true) << pad("n", 7, true)
              << pad("r", 5, true) << pad("h", 4, true) << pad("b_h", 4, true)
              << pad("max abs err", 13, true) << pad("rel err", 11, true)
              << pad("kernel us", 11, true) << "  result\n";
    int failed = 0;
    for (const int i : layerOrderOf(result.modules)) {
        const ModuleValidation& m = result.modules[std::size_t(i)];
        failed += m.passed ? 0 : 1;
        std::cout << pad(m.name, width, false) << pad(std::to_string(m.m), 7, true)
                  << pad(std::to_string(m.n), 7, true) << pad(std::to_string(m.r), 5, true)
                  << pad(std::to_string(m.h), 4, true) << pad(std::to_string(m.bitsHigh), 4, true)
                  << pad(format("%.3e", m.maxAbsError), 13, true)
                  << pad(format("%.2e", m.relError), 11, true)
                  << pad(format("%.1f", m.kernelSeconds * 1e6), 11, true) << "  "
                  << (m.passed ? "ok" : "FAIL") << '\n';
    }
    std::cout << "\nmodules    " << result.modules.size() - std::size_t(failed) << " of "
              << result.modules.size() << " within tolerance, largest relative error "
              << format("%.2e", result.maxRelError) << '\n'
              << "kernel     " << format("%.3f", result.kernelSeconds * 1e3)
              << " ms for all modules, " << format("%.2f", result.weightBytesPerSecond() / 1e9)
              << " GB/s of packed weights, " << format("%.2f", result.flopsPerSecond() / 1e9)
              << " GFLOP/s\n";
    for (const std::string& warning : result.warnings)
        std::cout << "warning    " << warning << '\n';
    std::cout << (result.passed ? "PASSED" : "FAILED") << '\n';
    return result.passed ? 0 : 1;
}

int runUnpack(const std::vector<std::string>& args)
{
    const Arguments arguments(args, {{"output", true, 'o'}, {"dtype", true}});
    const std::string& path = arguments.onePositional("FILE.lqa.h5");
    const auto folder = arguments.value("output");
    if (!folder || folder->empty())
        throw UsageError("missing -o DIR (the output folder)");
    const std::string dtype = arguments.value("dtype", "f32");
    if (dtype != "f32" && dtype != "source")
        throw UsageError("--dtype must be f32 or source, got '" + dtype + "'");

    checkCanWriteFolder(*folder); // before reading and decoding, not after
    const PackedAdapter adapter = readPackedAdapter(path);
    writeUnpackedAdapter(*folder, adapter, path,
                         dtype == "f32" ? UnpackType::F32 : UnpackType::Source);
    std::cout << "unpacked   " << adapter.modules.size() << " modules, " << adapter.parameterCount()
              << " LoRA parameters (" << (dtype == "f32" ? "float32" : "source dtypes") << ") and "
              << adapter.otherTensors.size() << " other tensors to " << *folder << '\n';
    return 0;
}

int runInspectPacked(const std::string& path, bool json)
{
    const PackedAdapter adapter = readPackedAdapter(path);
    const QuantSettings& s = adapter.settings;
    const std::uint64_t bytes = fileBytes(path);
    const std::int64_t parameters = adapter.parameterCount();
    const double fileBitsPerWeight = parameters ? 8.0 * double(bytes) / double(parameters) : 0.0;
    if (json) {
        Json out;
        out["path"] = path;
        out["format"] = kPackedFormatName;
        out["format_version"] = kPackedFormatVersion;
        out["created_by"] = adapter.createdBy;
        out["file_bytes"] = bytes;
        out["source"] = {{"path", adapter.source.path},
                         {"sha256", adapter.source.sha256},
                         {"bytes", adapter.source.bytes},
                         {"has_config", adapter.source.configJson.has_value()}};
        out["settings"] = {{"rho", s.rho},
                           {"split_rule", toString(s.split)},
                           {"bits_high", s.bitsHigh},
                           {"group_size", s.groupSize},
                           {"group_layout", toString(s.layout)},
                           {"scale_format", toString(s.scaleFormat)},
                           {"refinement", toString(s.refine)}};
        Json modules = Json::array();
        for (const PackedModule& m : adapter.modules)
            modules.push_back({{"name", m.name},
                               {"m", m.m},
                               {"n", m.n},
                               {"r", m.r},
                               {"h", m.h},
                               {"bits_high", m.bitsHigh},
                               {"lora_scale", m.loraScale},
                               {"rel_err", m.relErr},
                               {"stored_bits", m.storedBits()},
                               {"bits_per_weight_true", moduleBitsPerWeight(m)}});
        out["modules"] = std::move(modules);
        out["totals"] = {{"modules", adapter.modules.size()},
                         {"parameters", parameters},
                         {"avg_bits_paper", adapter.avgBitsPaper()},
                         {"avg_bits_true", adapter.avgBitsTrue()},
                         {"file_bits_per_parameter", fileBitsPerWeight},
                         {"rel_err_total", adapter.relErrTotal}};
        Json other = Json::array();
        for (const TensorData& t : adapter.otherTensors)
            other.push_back(t.name);
        out["other_tensors"] = std::move(other);
        std::cout << dumpJson(out) << '\n';
        return 0;
    }

    std::cout << "packed     " << path << " (" << kPackedFormatName << " v" << kPackedFormatVersion
              << ", " << bytes << " bytes" << (adapter.createdBy.empty() ? "" : ", ")
              << adapter.createdBy << ")\n"
              << "source     " << adapter.source.path
              << (adapter.source.sha256.empty() ? std::string(" (held in memory)")
                                                : "\n           sha256 " + adapter.source.sha256)
              << '\n'
              << "settings   rho " << format("%g", s.rho) << ", split " << toString(s.split)
              << ", b_h " << s.bitsHigh << ", group " << s.groupSize << " (" << toString(s.layout)
              << ", " << toString(s.scaleFormat) << " scales), refinement " << toString(s.refine)
              << '\n';
    for (const TensorData& t : adapter.otherTensors)
        std::cout << "kept       " << t.name << " (not a LoRA factor, " << t.bytes.size()
                  << " bytes)\n";
    std::size_t width = 6;
    for (const PackedModule& m : adapter.modules)
        width = std::max(width, m.name.size());
    std::cout << '\n'
              << pad("module", width, false) << pad("m", 7, true) << pad("n", 7, true)
              << pad("r", 5, true) << pad("h", 4, true) << pad("b_h", 4, true)
              << pad("bits/w", 8, true) << pad("rel err", 9, true) << '\n';
    for (const int i : layerOrderOf(adapter.modules)) {
        const PackedModule& m = adapter.modules[std::size_t(i)];
        std::cout << pad(m.name, width, false) << pad(std::to_string(m.m), 7, true)
                  << pad(std::to_string(m.n), 7, true) << pad(std::to_string(m.r), 5, true)
                  << pad(std::to_string(m.h), 4, true) << pad(std::to_string(m.bitsHigh), 4, true)
                  << pad(format("%.3f", moduleBitsPerWeight(m)), 8, true)
                  << pad(format("%.4f", m.relErr), 9, true) << '\n';
    }
    std::cout << "\ntotals     " << adapter.modules.size() << " modules, " << parameters
              << " parameters; average bits per parameter: paper count "
              << format("%.3f", adapter.avgBitsPaper()) << ", true count (codes + scales + zero "
              << "points + headers) " << format("%.3f", adapter.avgBitsTrue()) << ", whole file "
              << format("%.3f", fileBitsPerWeight) << "\n           relative error of B A "
              << "(energy-weighted total) " << format("%.4f", adapter.relErrTotal) << '\n';
    return 0;
}

void checkPackedExport(const std::string& path, const Adapter& adapter, bool baseline)
{
    if (baseline)
        throw UsageError("--export-packed stores LoRAQuant results; it does not apply to "
                         "--baseline");
    if (!isPackedAdapterPath(path))
        throw UsageError("--export-packed needs a file name ending in .lqa.h5, got '" + path + "'");
    std::error_code ec;
    for (const std::string& input : {adapter.safetensorsPath(), adapter.path()})
        if (!input.empty() && std::filesystem::exists(path, ec) &&
            std::filesystem::equivalent(path, input, ec))
            throw Error(path, "refusing to overwrite the input adapter");
}

void writePackedExport(const std::string& path, const Adapter& adapter, const QuantResult& result)
{
    exportPackedAdapter(path, adapter, result);
    std::cout << "packed     " << path << " (" << fileBytes(path)
              << " bytes; layout in docs/FORMAT.md)\n";
}

} // namespace lq::cli
