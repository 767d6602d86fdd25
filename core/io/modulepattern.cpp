#include "modulepattern.h"

// g++ 12 with -fsanitize reports -Wmaybe-uninitialized inside libstdc++'s <regex> (a false
// positive in std::function's copy in the NFA builder). It is confined to this file, which
// exists to keep std::regex out of everything else.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <regex>

namespace lq {

namespace {

// libstdc++ reads the number of a back-reference or a repeat count (\12, {3,5}) into a long
// without checking for overflow: 19 digits are undefined behaviour (found by fuzz_adapterconfig,
// reported by UBSan). No real key has a number of more than a few digits.
bool hasLongNumber(const std::string& pattern)
{
    constexpr int kMaxDigits = 9; // fits an int
    int run = 0;
    for (const char c : pattern) {
        run = c >= '0' && c <= '9' ? run + 1 : 0;
        if (run > kMaxDigits)
            return true;
    }
    return false;
}

} // namespace

bool modulePatternMatches(const std::string& pattern, const std::string& moduleName)
{
    // The pattern comes from a downloaded config, so matching must be bounded. libstdc++'s
    // default (backtracking) executor is exponential on keys like "(.*.*.*)*x" (found by
    // with fuzz_adapterconfig: one such key hung Adapter::load) and recurses per character.
    // __polynomial selects its Thompson-NFA executor instead: O(states x name length), no
    // recursion per character; it refuses back-references (regex_error -> literal comparison),
    // and nosubs drops capture bookkeeping we do not need. libstdc++ caps a pattern at 100000
    // NFA states (regex_error beyond); with names capped at 256 characters (real ones are under
    // 120) the worst pattern costs about 0.3 s per module, a typical one microseconds.
    constexpr std::size_t kMaxRegexInput = 256;
    constexpr auto kFlags =
        std::regex::ECMAScript | std::regex::nosubs | std::regex_constants::__polynomial;
    try {
        if (moduleName.size() <= kMaxRegexInput && pattern.size() <= kMaxRegexInput &&
            !hasLongNumber(pattern))
            return std::regex_match(moduleName, std::regex("(.*\\.)?(" + pattern + ")", kFlags));
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
