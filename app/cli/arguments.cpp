#include "arguments.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace lq::cli {
namespace {

// How messages name an option: "--rho", or "-o/--output" when it has a short alias.
std::string displayName(const Option& option)
{
    std::string text;
    if (option.shortName) {
        text += '-';
        text += option.shortName;
        text += '/';
    }
    return text + "--" + option.name;
}

const Option* findOption(const OptionSpec& spec, const std::string& name)
{
    for (const Option& option : spec)
        if (option.name == name ||
            (option.shortName && name.size() == 1 && name[0] == option.shortName))
            return &option;
    return nullptr;
}

} // namespace

Arguments::Arguments(const std::vector<std::string>& args, const OptionSpec& spec)
{
    std::vector<std::string> spellings; // as given, parallel to m_values
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.size() < 2 || arg[0] != '-' || arg == "--") {
            m_positionals.push_back(arg);
            continue;
        }
        std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
        std::optional<std::string> inlineValue;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            inlineValue = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const Option* option = findOption(spec, name);
        if (!option)
            throw UsageError("unknown option '" + arg + "'");
        const std::string given = arg.substr(0, arg.find('='));
        // A second value would silently win over the first (which output is written?), so a
        // repeated option is a mistake to point out, whichever of its names each one used.
        for (std::size_t k = 0; k < m_values.size(); ++k) {
            if (m_values[k].first != option->name)
                continue;
            const std::string how = spellings[k] == given
                                        ? " twice"
                                        : " twice (as " + spellings[k] + " and " + given + ")";
            throw UsageError("option " + displayName(*option) + " is given" + how +
                             "; give it once");
        }
        std::string value;
        if (!option->takesValue) {
            if (inlineValue)
                throw UsageError("option " + displayName(*option) + " takes no value");
        } else if (inlineValue) {
            value = *inlineValue;
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            throw UsageError("option " + displayName(*option) + " needs a value");
        }
        m_values.emplace_back(option->name, std::move(value));
        spellings.push_back(given);
    }
}

bool Arguments::has(const std::string& name) const
{
    return value(name).has_value();
}

std::optional<std::string> Arguments::value(const std::string& name) const
{
    const auto it = std::find_if(m_values.begin(), m_values.end(),
                                 [&](const auto& entry) { return entry.first == name; });
    if (it == m_values.end())
        return std::nullopt;
    return it->second;
}

std::string Arguments::value(const std::string& name, const std::string& fallback) const
{
    return value(name).value_or(fallback);
}

double parseNumber(const std::string& text, const std::string& option)
{
    // from_chars takes no spaces, signs other than '-', or hex; it reads "nan" and "inf", and
    // reports 1e999 as out of range: all of these are one mistake, not a number to work with.
    double result = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), result);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(result))
        throw UsageError(option + " expects a finite number, got '" + text + "'");
    return result;
}

double Arguments::number(const std::string& name, double fallback) const
{
    const auto text = value(name);
    return text ? parseNumber(*text, "--" + name) : fallback;
}

int Arguments::integer(const std::string& name, int fallback) const
{
    const auto text = value(name);
    if (!text)
        return fallback;
    int result = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), result);
    if (text->empty() || ec != std::errc() || end != text->data() + text->size())
        throw UsageError("--" + name + " expects a whole number, got '" + *text + "'");
    return result;
}

const std::string& Arguments::onePositional(const std::string& what) const
{
    if (m_positionals.empty())
        throw UsageError("missing " + what);
    if (m_positionals.size() > 1)
        throw UsageError("unexpected argument '" + m_positionals[1] + "'");
    return m_positionals.front();
}

} // namespace lq::cli
