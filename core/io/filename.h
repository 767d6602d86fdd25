#pragma once

#include <string>

namespace lq {

// The extension of the file `path` names, from the last dot of its name, lower-cased: ".json"
// for "out/Report.JSON"; empty when the name has no dot. Outputs pick their format by it.
std::string lowercaseExtension(const std::string& path);

} // namespace lq
