#include "arguments.h"

#include <charconv>

namespace lq::cli {

Arguments::Arguments(const std::vector<std::string>& args, const OptionSpec& spec)
{
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
        const auto it = spec.find(name);
        if (it == spec.end())
            throw UsageError("unknown option '" + arg + "'");
        if (!it->second) {
            if (inlineValue)
                throw UsageError("option --" + name + " takes no value");
            m_values[name] = "";
            continue;
        }
        if (inlineValue) {
            m_values[name] = *inlineValue;
        } else if (i + 1 < args.size()) {
            m_values[name] = args[++i];
        } else {
            throw UsageError("option --" + name + " needs a value");
        }
    }
}

std::optional<std::string> Arguments::value(const std::string& name) const
{
    const auto it = m_values.find(name);
    if (it == m_values.end())
        return std::nullopt;
    return it->second;
}

std::string Arguments::value(const std::string& name, const std::string& fallback) const
{
    return value(name).value_or(fallback);
}

double Arguments::number(const std::string& name, double fallback) const
{
    const auto text = value(name);
    if (!text)
        return fallback;
    double result = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), result);
    if (ec != std::errc() || end != text->data() + text->size())
        throw UsageError("--" + name + " expects a number, got '" + *text + "'");
    return result;
}

int Arguments::integer(const std::string& name, int fallback) const
{
    const auto text = value(name);
    if (!text)
        return fallback;
    int result = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), result);
    if (ec != std::errc() || end != text->data() + text->size())
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
