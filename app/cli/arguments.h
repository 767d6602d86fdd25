#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lq::cli {

// A mistake in how a command was called; main() prints it with the command's usage, exit 2.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

// One option a subcommand accepts. `name` is the long name without dashes, the one has() and
// value() take; `shortName` is an optional one-letter alias (-o for --output). Both spellings
// are the same option, so giving it through each is giving it twice.
struct Option
{
    std::string name;
    bool takesValue = false;
    char shortName = 0;
};
using OptionSpec = std::vector<Option>;

// Parsed arguments of one subcommand. Accepts `--name value`, `--name=value`, `-o value` (short
// names and, as before, `-name`) and positionals. Anything not in the spec, a missing value, a
// value given to a flag, and an option given more than once are UsageErrors naming the option.
class Arguments
{
public:
    Arguments(const std::vector<std::string>& args, const OptionSpec& spec);

    bool has(const std::string& name) const;
    std::optional<std::string> value(const std::string& name) const;
    std::string value(const std::string& name, const std::string& fallback) const;
    // Numeric options follow one rule: a value that is not a finite number in plain notation
    // (nan, inf, 1e999, "3 ", "0x10") is a UsageError naming the option, never a later error.
    double number(const std::string& name, double fallback) const;
    int integer(const std::string& name, int fallback) const;
    const std::vector<std::string>& positionals() const { return m_positionals; }
    // The single positional, or a UsageError saying what is missing or extra.
    const std::string& onePositional(const std::string& what) const;

private:
    std::vector<std::pair<std::string, std::string>> m_values; // long name -> value, in order
    std::vector<std::string> m_positionals;
};

// The rule of Arguments::number for a value that is not a whole option (an item of a
// comma-separated list); `option` is how the message names it ("--rhos").
double parseNumber(const std::string& text, const std::string& option);

} // namespace lq::cli
