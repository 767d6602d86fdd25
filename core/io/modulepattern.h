#pragma once

#include <string>

namespace lq {

// Whether a PEFT rank_pattern / alpha_pattern key applies to a module: PEFT matches the key as a
// regular expression against the end of the module name on a dot boundary,
// re.match(r"(.*\.)?(KEY)$", name). A key that is not a valid regex (or uses back-references),
// and keys or names beyond any real length (256 characters, a number of more than 9 digits, or
// repeat counts whose product exceeds 64), are compared literally on the same dot boundary.
// Matching time is polynomial in the key and the name whatever the key.
bool modulePatternMatches(const std::string& pattern, const std::string& moduleName);

} // namespace lq
