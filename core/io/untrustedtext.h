#pragma once

// Text that came from a file (names, values, paths) on its way into a message or an output that
// must be UTF-8. A hostile file can put megabytes, control bytes or bytes that are not UTF-8 in
// any string; these keep messages short and readable and outputs valid.

#include <cstddef>
#include <string>
#include <string_view>

namespace lq {

// `text` for a message: at most about `limit` bytes (a UTF-8 sequence is never cut), control
// bytes as \xNN, bytes outside valid UTF-8 as U+FFFD, and "... (N bytes)" when it was cut.
std::string excerpt(std::string_view text, std::size_t limit = 120);

// Well-formed UTF-8 (Unicode 15, table 3-7: no overlong forms, no surrogates, nothing above
// U+10FFFF).
bool isValidUtf8(std::string_view text);
// `text` with every byte outside a valid UTF-8 sequence replaced by U+FFFD.
std::string toValidUtf8(std::string_view text);

} // namespace lq
