#include "modulepattern.h"

// g++ 12 with -fsanitize reports -Wmaybe-uninitialized inside libstdc++'s <regex> (a false
// positive in std::function's copy in the NFA builder). It is confined to this file, which
// exists to keep std::regex out of everything else.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <regex>

namespace lq {

bool modulePatternMatches(const std::string& pattern, const std::string& moduleName)
{
    // libstdc++'s regex recurses per character: beyond real module-name lengths fall back to
    // the literal comparison rather than risk the stack.
    constexpr std::size_t kMaxRegexInput = 1024;
    try {
        if (moduleName.size() <= kMaxRegexInput && pattern.size() <= kMaxRegexInput)
            return std::regex_match(moduleName, std::regex("(.*\\.)?(" + pattern + ")"));
    } catch (const std::regex_error&) {
    }
    if (moduleName == pattern)
        return true;
    const std::size_t tail = pattern.size();
    return moduleName.size() > tail &&
           moduleName.compare(moduleName.size() - tail, tail, pattern) == 0 &&
           moduleName[moduleName.size() - tail - 1] == '.';
}

} // namespace lq
