#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lq {

// What the engine needs from a PEFT adapter_config.json. Unknown keys are ignored (new PEFT
// versions add many) but the whole JSON text is kept in `rawJson` so that a written adapter
// carries the same config.
struct AdapterConfig
{
    std::optional<int> r;
    std::optional<double> loraAlpha;
    bool useRslora = false;
    bool fanInFanOut = false;
    bool useDora = false; // DoRA: a learned magnitude rescales each output column after B A
    std::map<std::string, int> rankPattern;     // module-name pattern -> rank
    std::map<std::string, double> alphaPattern; // module-name pattern -> alpha
    std::vector<std::string> targetModules;     // list form
    std::string targetModulesRegex;             // string form (a regex or a single name)
    std::optional<std::string> baseModel;       // may be null or a local path
    std::string peftType;
    std::string rawJson;

    // The scale s in dW = s * B A for a module with the given name and rank: alpha / r, or
    // alpha / sqrt(r) with use_rslora, with rank_pattern / alpha_pattern applied. Empty when
    // the config does not say (no config, or no lora_alpha).
    std::optional<double> scaleFor(const std::string& moduleName, int rank) const;
    // The rank the config expects for a module: its rank_pattern entry, else r.
    std::optional<int> rankFor(const std::string& moduleName) const;
};

// Parses adapter_config.json. Throws lq::Error naming the file when it cannot be read or is not
// a JSON object, or when a known key has the wrong type.
AdapterConfig readAdapterConfig(const std::string& path);
AdapterConfig parseAdapterConfig(const std::string& jsonText, const std::string& fileForErrors);

} // namespace lq
