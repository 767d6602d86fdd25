#pragma once

#include <string>

namespace lq {

// The whole of a small text file (a config, a report). Throws lq::Error(path, "cannot open the
// <what>: <reason>") or "cannot read the <what>".
std::string readTextFile(const std::string& path, const std::string& what);

} // namespace lq
