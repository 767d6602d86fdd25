#include "arguments.h"
#include "commands.h"
#include "core/io/atomicfile.h"
#include "core/io/synthesizer.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <iostream>

namespace lq::cli {

const char* const kSynthUsage =
    "usage: loraquant synth --preset NAME -o DIR [--rank R] [--targets all|qv]\n"
    "                       [--dtype f16|bf16|f32] [--seed S] [--count N]\n"
    "\n"
    "Writes a synthetic PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json)\n"
    "with the layer shapes of a real model and singular spectra that decay like those of\n"
    "real adapters. The same options always give the same bytes.\n"
    "\n"
    "  --preset NAME   llama2-7b (32 layers, 4096 hidden, 11008 MLP), llama2-13b (40, 5120,\n"
    "                  13824), mistral-7b (32, 4096, k/v 1024, 14336) or tiny (4, 256, k/v 128,\n"
    "                  512)\n"
    "  --rank R        LoRA rank (default 16); lora_alpha is written as 2 R\n"
    "  --targets T     all: q, k, v, o, gate, up, down projections (default); qv: q and v\n"
    "  --dtype T       stored element type: f16 (default), bf16 or f32\n"
    "  --seed S        random seed, a non-negative whole number (default 1)\n"
    "  --count N       write N varied adapters instead, DIR/adapter-00001 .. (for batch tests\n"
    "                  and benchmarks): each with its own rank (2, 4, 8, 16), targets (all or\n"
    "                  qv), dtype, spectral decay and seed, drawn from --seed and its number;\n"
    "                  --rank, --targets and --dtype, when given, hold for all of them\n"
    "  -o, --output DIR  output folder (created if needed; files are replaced atomically)\n";

namespace {

std::uint64_t parseSeed(const std::string& text)
{
    std::uint64_t seed = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
    if (ec != std::errc() || end != text.data() + text.size())
        throw UsageError("--seed expects a non-negative whole number, got '" + text + "'");
    return seed;
}

DType parseDtype(const std::string& text)
{
    if (text == "f16")
        return DType::F16;
    if (text == "bf16")
        return DType::BF16;
    if (text == "f32")
        return DType::F32;
    throw UsageError("--dtype must be f16, bf16 or f32, got '" + text + "'");
}

} // namespace

int runSynth(const std::vector<std::string>& args)
{
    const Arguments arguments(args, {{"preset", true},
                                     {"rank", true},
                                     {"targets", true},
                                     {"dtype", true},
                                     {"seed", true},
                                     {"count", true},
                                     {"output", true, 'o'}});
    if (!arguments.positionals().empty())
        throw UsageError("unexpected argument '" + arguments.positionals().front() + "'");
    SynthSettings settings;
    const auto preset = arguments.value("preset");
    if (!preset)
        throw UsageError("missing --preset");
    if (!findSynthPreset(*preset))
        throw UsageError("unknown preset '" + *preset +
                         "'; choose llama2-7b, llama2-13b, mistral-7b or tiny");
    settings.preset = *preset;
    settings.rank = arguments.integer("rank", 16);
    const std::string targets = arguments.value("targets", "all");
    if (targets == "all")
        settings.targets = SynthTargets::All;
    else if (targets == "qv")
        settings.targets = SynthTargets::QV;
    else
        throw UsageError("--targets must be all or qv, got '" + targets + "'");
    settings.dtype = parseDtype(arguments.value("dtype", "f16"));
    settings.seed = parseSeed(arguments.value("seed", "1"));
    const auto output = arguments.value("output");
    if (!output || output->empty())
        throw UsageError("missing -o DIR");

    checkCanWriteFolder(*output);
    if (arguments.has("count")) {
        const int count = arguments.integer("count", 1);
        if (count < 1)
            throw UsageError("--count must be at least 1");
        const int width = std::max(5, int(std::to_string(count).size()));
        std::int64_t bytes = 0;
        for (int i = 0; i < count; ++i) {
            SynthSettings variant = synthVariant(settings, std::uint64_t(i));
            if (arguments.has("rank"))
                variant.rank = settings.rank;
            if (arguments.has("targets"))
                variant.targets = settings.targets;
            if (arguments.has("dtype"))
                variant.dtype = settings.dtype;
            std::string number = std::to_string(i + 1);
            number.insert(0, std::size_t(width) - number.size(), '0');
            const SynthResult result = writeSyntheticAdapter(
                (std::filesystem::path(*output) / ("adapter-" + number)).string(), variant);
            bytes += std::int64_t(result.fileBytes);
            for (const std::string& warning : result.warnings)
                std::cerr << "warning: " << warning << '\n';
        }
        std::cout << "wrote " << count << " adapters in " << *output << " (preset "
                  << settings.preset << ", " << bytes << " bytes of tensors)\n";
        return 0;
    }
    const SynthResult result = writeSyntheticAdapter(*output, settings);
    std::cout << "wrote " << *output << ": " << result.modules << " modules, " << result.parameters
              << " parameters, " << result.fileBytes << " bytes (preset " << settings.preset
              << ", rank " << settings.rank << ", " << targets << ", " << dtypeName(settings.dtype)
              << ", seed " << settings.seed << ")\n";
    for (const std::string& warning : result.warnings)
        std::cerr << "warning: " << warning << '\n';
    return 0;
}

} // namespace lq::cli
