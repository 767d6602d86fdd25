#pragma once

#include <cstdint>
#include <string>

namespace lq {

// The most a small text file (an adapter config, a plan or report) may hold. The largest real
// ones are tens of kilobytes (a report of a 7B adapter's 224 modules); a larger file is an error,
// not something to read into memory.
inline constexpr std::uint64_t kMaxTextFileBytes = 16u << 20;

// The whole of a small text file (a config, a report). Throws lq::Error(path, ...) when it cannot
// be opened ("cannot open the <what>: <reason>"), is not a regular file (inputfile.h), is larger
// than kMaxTextFileBytes, or cannot be read.
std::string readTextFile(const std::string& path, const std::string& what);

} // namespace lq
