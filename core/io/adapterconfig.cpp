#include "core/io/adapterconfig.h"

#include "core/io/error.h"
#include "core/io/jsontext.h"
#include "core/io/modulepattern.h"
#include "core/io/textfile.h"
#include "core/io/untrustedtext.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace lq {
namespace {

using Json = nlohmann::json;

// A known key whose value has the wrong type is an error: guessing would give a wrong scale.
[[noreturn]] void wrongType(const std::string& file, const std::string& key, const Json& value,
                            const char* expected)
{
    throw Error(file,
                "adapter config key '" + excerpt(key) + "' must be " + expected + ", got " +
                    (value.is_structured() ? describeJson(value)
                                           : value.type_name() + (" " + describeJson(value))));
}

// The value of `key`, or null when absent; null means "not set" for every key PEFT writes.
const Json& field(const Json& object, const char* key)
{
    static const Json null;
    const auto it = object.find(key);
    return it == object.end() ? null : *it;
}

// The first pattern (in key order) matching the module. PEFT takes the first in the JSON's
// order; configs with two patterns matching one module are not seen in practice.
template <typename T>
const T* findPattern(const std::map<std::string, T>& patterns, const std::string& moduleName)
{
    for (const auto& [pattern, value] : patterns) {
        if (modulePatternMatches(pattern, moduleName))
            return &value;
    }
    return nullptr;
}

} // namespace

std::optional<double> AdapterConfig::scaleFor(const std::string& moduleName, int rank) const
{
    if (rank <= 0)
        return std::nullopt;
    std::optional<double> alpha = loraAlpha;
    if (const double* a = findPattern(alphaPattern, moduleName))
        alpha = *a;
    if (!alpha)
        return std::nullopt;
    return useRslora ? *alpha / std::sqrt(double(rank)) : *alpha / rank;
}

std::optional<int> AdapterConfig::rankFor(const std::string& moduleName) const
{
    if (const int* rank = findPattern(rankPattern, moduleName))
        return *rank;
    return r;
}

AdapterConfig parseAdapterConfig(const std::string& jsonText, const std::string& fileForErrors)
{
    const std::string& file = fileForErrors;
    const Json json = parseJson(jsonText, file, "adapter config JSON");
    if (!json.is_object())
        throw Error(file, "the adapter config is not a JSON object");

    AdapterConfig config;
    config.rawJson = jsonText;

    if (const Json& v = field(json, "r"); !v.is_null()) {
        if (!v.is_number_integer() || v.get<std::int64_t>() <= 0 ||
            v.get<std::int64_t>() > std::numeric_limits<int>::max())
            wrongType(file, "r", v, "a positive whole number");
        config.r = v.get<int>();
    }
    if (const Json& v = field(json, "lora_alpha"); !v.is_null()) {
        if (!v.is_number())
            wrongType(file, "lora_alpha", v, "a number");
        config.loraAlpha = v.get<double>();
    }
    for (auto [key, target] : {std::pair{"use_rslora", &config.useRslora},
                               std::pair{"fan_in_fan_out", &config.fanInFanOut},
                               std::pair{"use_dora", &config.useDora}}) {
        if (const Json& v = field(json, key); !v.is_null()) {
            if (!v.is_boolean())
                wrongType(file, key, v, "true or false");
            *target = v.get<bool>();
        }
    }
    if (const Json& v = field(json, "rank_pattern"); !v.is_null()) {
        if (!v.is_object())
            wrongType(file, "rank_pattern", v, "an object of module pattern -> rank");
        for (const auto& [pattern, rank] : v.items()) {
            // Above INT_MAX get<int>() would wrap to a negative rank (found with
            // fuzz_adapterconfig).
            if (!rank.is_number_integer() || rank.get<std::int64_t>() <= 0 ||
                rank.get<std::int64_t>() > std::numeric_limits<int>::max())
                wrongType(file, "rank_pattern." + pattern, rank, "a positive whole number");
            config.rankPattern[pattern] = rank.get<int>();
        }
    }
    if (const Json& v = field(json, "alpha_pattern"); !v.is_null()) {
        if (!v.is_object())
            wrongType(file, "alpha_pattern", v, "an object of module pattern -> alpha");
        for (const auto& [pattern, alpha] : v.items()) {
            if (!alpha.is_number())
                wrongType(file, "alpha_pattern." + pattern, alpha, "a number");
            config.alphaPattern[pattern] = alpha.get<double>();
        }
    }
    if (const Json& v = field(json, "target_modules"); !v.is_null()) {
        if (v.is_string()) {
            config.targetModulesRegex = v.get<std::string>();
        } else if (v.is_array()) {
            for (const Json& name : v) {
                if (!name.is_string())
                    wrongType(file, "target_modules", v, "a list of names or a string");
                config.targetModules.push_back(name.get<std::string>());
            }
        } else {
            wrongType(file, "target_modules", v, "a list of names or a string");
        }
    }
    if (const Json& v = field(json, "base_model_name_or_path"); !v.is_null()) {
        if (!v.is_string())
            wrongType(file, "base_model_name_or_path", v, "a string or null");
        config.baseModel = v.get<std::string>();
    }
    if (const Json& v = field(json, "peft_type"); !v.is_null()) {
        if (!v.is_string())
            wrongType(file, "peft_type", v, "a string");
        config.peftType = v.get<std::string>();
    }
    return config;
}

AdapterConfig readAdapterConfig(const std::string& path)
{
    return parseAdapterConfig(readTextFile(path, "adapter config"), path);
}

} // namespace lq
