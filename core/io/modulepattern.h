#pragma once

#include <string>

namespace lq {

// Whether a PEFT rank_pattern / alpha_pattern key applies to a module: PEFT matches the key as a
// regular expression against the end of the module name on a dot boundary,
// re.match(r"(.*\.)?(KEY)$", name). A key that is not a valid regex, or names beyond any real
// length (1024 characters), are compared literally on the same dot boundary.
bool modulePatternMatches(const std::string& pattern, const std::string& moduleName);

} // namespace lq
