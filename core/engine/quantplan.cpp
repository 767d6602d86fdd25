#include "core/engine/quantplan.h"

#include "core/io/error.h"
#include "core/io/jsontext.h"
#include "core/io/textfile.h"
#include "core/io/untrustedtext.h"

#include <limits>
#include <map>
#include <nlohmann/json.hpp>

namespace lq {
namespace {

using Json = nlohmann::json;

// Typed, checked reads of a report's fields; a failure names the file and the field
// ("modules[3].h").
class ReportReader
{
public:
    explicit ReportReader(std::string file) : m_file(std::move(file)) {}

    [[noreturn]] void fail(const std::string& problem) const
    {
        throw Error(m_file, "not a usable quantization report: " + problem);
    }

    const Json& member(const Json& object, const char* key, const std::string& path) const
    {
        const auto it = object.find(key);
        if (it == object.end())
            fail("'" + path + key + "' is missing");
        return *it;
    }

    int integer(const Json& object, const char* key, const std::string& path, int low,
                int high) const
    {
        const Json& value = member(object, key, path);
        if (!value.is_number_integer() || value.get<std::int64_t>() < low ||
            value.get<std::int64_t>() > high)
            fail("'" + path + key + "' must be a whole number from " + std::to_string(low) +
                 " to " + std::to_string(high) + ", got " + describeJson(value));
        return value.get<int>();
    }

    std::string text(const Json& object, const char* key, const std::string& path) const
    {
        const Json& value = member(object, key, path);
        if (!value.is_string())
            fail("'" + path + key + "' must be a string, got " + describeJson(value));
        return value.get<std::string>();
    }

    // A name the settings know (quantsettings.h's fromString functions); `fallback` when absent.
    template <typename Enum>
    Enum named(const Json& object, const char* key, std::optional<Enum> (*parse)(std::string_view),
               Enum fallback) const
    {
        if (!object.contains(key))
            return fallback;
        const std::string name = text(object, key, "settings.");
        const std::optional<Enum> parsed = parse(name);
        if (!parsed)
            fail("'settings." + std::string(key) + "' has an unknown value '" + excerpt(name) +
                 "'");
        return *parsed;
    }

    double number(const Json& object, const char* key, double fallback) const
    {
        if (!object.contains(key))
            return fallback;
        const Json& value = object[key];
        if (!value.is_number())
            fail("'settings." + std::string(key) + "' must be a number, got " +
                 describeJson(value));
        return value.get<double>();
    }

private:
    std::string m_file;
};

// "a, b, c and 4 more": the first few names of a list for a message.
std::string firstNames(const std::vector<std::string>& names)
{
    constexpr std::size_t kShown = 3;
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < kShown; ++i)
        text += (i ? ", " : "") + names[i];
    if (names.size() > kShown)
        text += " and " + std::to_string(names.size() - kShown) + " more";
    return text;
}

} // namespace

QuantSettings QuantPlan::settingsFor(const Adapter& adapter) const
{
    std::map<std::string, const PlannedModule*> planned;
    for (const PlannedModule& module : modules)
        if (!planned.emplace(module.name, &module).second)
            throw Error(file, "module " + module.name +
                                  " is listed twice in the plan; which h and width to use "
                                  "is unclear");

    QuantSettings result = settings;
    result.hOverride.clear();
    result.bitsHighOverride.clear();
    std::vector<std::string> missing, otherRank;
    for (const LoraModule& module : adapter.modules()) {
        const auto found = planned.find(module.name);
        if (found == planned.end()) {
            missing.push_back(module.name);
            continue;
        }
        const PlannedModule& plan = *found->second;
        if (plan.r != module.r) {
            otherRank.push_back(module.name + " (rank " + std::to_string(module.r) + ", planned " +
                                std::to_string(plan.r) + ")");
            continue;
        }
        result.hOverride[module.name] = plan.h;
        result.bitsHighOverride[module.name] = plan.bitsHigh;
        planned.erase(found);
    }
    const std::string adapterName = adapter.path();
    if (!missing.empty())
        throw Error(file, std::to_string(missing.size()) + " module(s) of " + adapterName +
                              " are not in the plan: " + firstNames(missing));
    if (!otherRank.empty())
        throw Error(file, std::to_string(otherRank.size()) + " module(s) of " + adapterName +
                              " have another rank than planned: " + firstNames(otherRank));
    if (!planned.empty()) {
        std::vector<std::string> extra;
        for (const PlannedModule& module : modules)
            if (planned.count(module.name))
                extra.push_back(module.name);
        throw Error(file, std::to_string(extra.size()) + " planned module(s) are not in " +
                              adapterName + ": " + firstNames(extra));
    }
    return result;
}

QuantPlan parseReportPlan(const std::string& jsonText, const std::string& file)
{
    const ReportReader reader(file);
    const Json json = parseJson(jsonText, file, "JSON");
    if (!json.is_object())
        reader.fail("the file is not a JSON object");
    if (const auto method = json.find("method"); method != json.end() && *method != "loraquant")
        reader.fail("it reports the whole-adapter baseline " + describeJson(*method) +
                    ", which has no split to repeat");
    if (const auto cancelled = json.find("cancelled");
        cancelled != json.end() && *cancelled == true)
        reader.fail("it reports a cancelled run, which has no modules");

    QuantPlan plan;
    plan.file = file;
    const Json& s = reader.member(json, "settings", "");
    if (!s.is_object())
        reader.fail("'settings' must be an object");
    QuantSettings& settings = plan.settings;
    settings.rho = reader.number(s, "rho", settings.rho);
    settings.split = reader.named(s, "split", &splitRuleFromString, settings.split);
    if (s.contains("fixed_h"))
        settings.fixedH =
            reader.integer(s, "fixed_h", "settings.", 0, std::numeric_limits<int>::max());
    settings.bitsHigh = reader.integer(s, "bits_high", "settings.", 1, 8);
    settings.groupSize =
        reader.integer(s, "group_size", "settings.", 1, std::numeric_limits<int>::max());
    settings.layout = reader.named(s, "group_layout", &groupLayoutFromString, settings.layout);
    settings.scaleFormat =
        reader.named(s, "scale_format", &scaleFormatFromString, settings.scaleFormat);
    settings.refine = reader.named(s, "refine", &refinementFromString, settings.refine);
    settings.order = reader.named(s, "components", &componentOrderFromString, settings.order);
    if (s.contains("components_seed")) {
        const Json& seed = s["components_seed"];
        if (!seed.is_number_unsigned())
            reader.fail("'settings.components_seed' must be a whole number >= 0, got " +
                        describeJson(seed));
        settings.orderSeed = seed.get<std::uint64_t>();
    }
    if (s.contains("refine_steps"))
        settings.refineSteps =
            reader.integer(s, "refine_steps", "settings.", 0, std::numeric_limits<int>::max());
    settings.refineLearningRate =
        reader.number(s, "refine_learning_rate", settings.refineLearningRate);

    const Json& modules = reader.member(json, "modules", "");
    if (!modules.is_array() || modules.empty())
        reader.fail("'modules' must be a list of at least one module");
    // A second entry for a module would either win or lose silently against the first.
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < modules.size(); ++i) {
        const Json& item = modules[i];
        const std::string path = "modules[" + std::to_string(i) + "].";
        if (!item.is_object())
            reader.fail("'modules[" + std::to_string(i) + "]' must be an object");
        PlannedModule module;
        module.name = reader.text(item, "name", path);
        if (const auto [first, added] = seen.emplace(module.name, i); !added)
            reader.fail("module " + module.name + " is listed twice (modules[" +
                        std::to_string(first->second) + "] and modules[" + std::to_string(i) +
                        "])");
        module.r = reader.integer(item, "r", path, 1, std::numeric_limits<int>::max());
        module.h = reader.integer(item, "h", path, 0, module.r);
        module.bitsHigh = reader.integer(item, "bits_high", path, 1, 8);
        plan.modules.push_back(std::move(module));
    }
    try {
        settings.validate();
    } catch (const Error& e) {
        reader.fail(e.problem());
    }
    return plan;
}

QuantPlan readReportPlan(const std::string& path)
{
    return parseReportPlan(readTextFile(path, "report"), path);
}

} // namespace lq
