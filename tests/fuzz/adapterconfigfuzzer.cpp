// fuzz_adapterconfig: arbitrary bytes as adapter_config.json.
//
// Contract under test: parseAdapterConfig either returns a config or throws lq::Error naming the
// file; and for a config it returns, rankFor / scaleFor (which match rank_pattern and
// alpha_pattern keys against module names, PEFT-style) finish without crashing or hanging on
// any pattern, and give a positive rank and a finite scale (a config the reader accepts never makes
// dW infinite).

#include "core/io/adapterconfig.h"
#include "core/io/error.h"
#include "fuzzinput.h"

#include <cmath>
#include <string>
#include <vector>

namespace {

constexpr const char* kFile = "adapter_config.json";

// Module names as real adapters spell them, plus each pattern key placed where PEFT would find
// it (so that the regex path, not only the literal fallback, runs on fuzzed patterns).
std::vector<std::string> moduleNamesFor(const lq::AdapterConfig& config)
{
    std::vector<std::string> names = {
        "base_model.model.model.layers.0.self_attn.q_proj",
        "base_model.model.transformer.h.11.attn.attention.v_proj",
        "base_model.model.gpt_neox.layers.3.attention.query_key_value",
    };
    for (const auto& [pattern, rank] : config.rankPattern)
        names.push_back("base_model.model.layers.1." + pattern);
    for (const auto& [pattern, alpha] : config.alphaPattern)
        names.push_back(pattern);
    constexpr std::size_t kMaxNames = 16; // enough to reach every pattern in small inputs
    if (names.size() > kMaxNames)
        names.resize(kMaxNames);
    return names;
}

} // namespace

// One mutation in eight nests the config deeper at a random place; the rest are libFuzzer's own.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t maxSize, unsigned seed)
{
    std::minstd_rand random(seed);
    if (random() % 8 != 0)
        return LLVMFuzzerMutate(data, size, maxSize);
    return size + lqfuzz::insertNesting(data, size, maxSize, random() % (size + 1), random);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    lq::AdapterConfig config;
    try {
        config = lq::parseAdapterConfig(text, kFile);
    } catch (const lq::Error& e) {
        if (e.file() != kFile || e.problem().empty())
            lqfuzz::violated("an error that does not name the file or the problem");
        return 0;
    }
    if (config.rawJson != text)
        lqfuzz::violated("rawJson is not the text that was read");
    for (const std::string& name : moduleNamesFor(config)) {
        for (const int rank : {1, 8, 64}) {
            const std::optional<int> expected = config.rankFor(name);
            if (expected && *expected <= 0)
                lqfuzz::violated("rankFor gave a rank that is not positive");
            const std::optional<double> scale = config.scaleFor(name, rank);
            if (scale && !std::isfinite(*scale))
                lqfuzz::violated("scaleFor gave an infinite or NaN scale");
        }
    }
    return 0;
}
