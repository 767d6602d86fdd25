#pragma once

// Reading JSON from files that may be hostile (a safetensors header, an adapter config, a plan, a
// string attribute of a packed file), and quoting such values in messages.
//
// nlohmann::json copies and prints values recursively, so a document of 100,000 nested `[` would
// exhaust the stack there long after the parser accepted it. The depth is bounded before the
// parser builds anything; every JSON file this project reads nests at most 4 levels.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lq {

// The deepest nesting of arrays and objects accepted in any JSON that is read.
inline constexpr int kMaxJsonDepth = 64;

enum class DuplicateKeys
{
    Allow,
    Refuse
};

// Parses `text`, naming `file` and `what` ("safetensors header", "adapter config", ...) in the
// lq::Error thrown for malformed JSON, nesting deeper than kMaxJsonDepth or, when asked, a key
// given twice in one object. With DuplicateKeys::Allow the last value of a repeated key wins, as
// in Python's json module.
nlohmann::json parseJson(std::string_view text, const std::string& file, const std::string& what,
                         DuplicateKeys duplicates = DuplicateKeys::Allow);
nlohmann::ordered_json parseOrderedJson(std::string_view text, const std::string& file,
                                        const std::string& what,
                                        DuplicateKeys duplicates = DuplicateKeys::Allow);

// A JSON value for a message (bytes that are not UTF-8 as U+FFFD, jsonoutput.h), bounded like
// excerpt(): a scalar as JSON text, an array or object by kind and size ("an array of 3 items"),
// never recursing into it.
std::string describeJson(const nlohmann::json& value);
std::string describeJson(const nlohmann::ordered_json& value);

} // namespace lq
