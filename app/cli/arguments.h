#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lq::cli {

// A mistake in how a command was called; main() prints it with the command's usage, exit 2.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// Options a subcommand accepts: name (without the leading dashes) -> whether it takes a value.
using OptionSpec = std::map<std::string, bool>;

// Parsed arguments of one subcommand. Accepts `--name value`, `--name=value`, `-o value` (for
// options named with one letter) and positionals; anything not in the spec is a UsageError.
class Arguments
{
public:
    Arguments(const std::vector<std::string>& args, const OptionSpec& spec);

    bool has(const std::string& name) const { return m_values.count(name) != 0; }
    std::optional<std::string> value(const std::string& name) const;
    std::string value(const std::string& name, const std::string& fallback) const;
    double number(const std::string& name, double fallback) const;
    int integer(const std::string& name, int fallback) const;
    const std::vector<std::string>& positionals() const { return m_positionals; }
    // The single positional, or a UsageError saying what is missing or extra.
    const std::string& onePositional(const std::string& what) const;

private:
    std::map<std::string, std::string> m_values;
    std::vector<std::string> m_positionals;
};

} // namespace lq::cli
