#include "core/io/modulepattern.h"

// g++ 12 with -fsanitize reports -Wmaybe-uninitialized inside libstdc++'s <regex> (a false
// positive in std::function's copy in the NFA builder). It is confined to this file, which
// exists to keep std::regex out of everything else.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <regex>

namespace lq {

namespace {

// Whether a pattern could make libstdc++'s regex slow or undefined, so that it is compared
// literally instead. Two kinds, both found by fuzz_adapterconfig:
// - a number of more than 9 digits: the parser reads a back-reference or a repeat count (\12,
//   {3,5}) into a long without checking for overflow (undefined behaviour at 19 digits);
// - repeat counts whose product exceeds kMaxRepeats: the NFA holds a copy of the repeated part
//   per count, nested counts multiply, and matching costs states x name length
//   ("(.*.*.*.*.*.*.*.*.*.*.*.*){1001}*x": 0.1 s per module here, over 10 s under ASan).
// Real keys use small counts if any ("layers\.[0-9]{1,2}\.q_proj").
bool tooCostly(const std::string& pattern)
{
    constexpr int kMaxDigits = 9; // fits an int
    constexpr long kMaxRepeats = 64;
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    int run = 0;
    for (const char c : pattern) {
        run = digit(c) ? run + 1 : 0;
        if (run > kMaxDigits)
            return true;
    }
    // Counts of at most 9 digits: below 1e9, and the product is checked after each factor.
    const std::size_t size = pattern.size();
    const auto number = [&](std::size_t& i) {
        long value = 0;
        while (i < size && digit(pattern[i]))
            value = value * 10 + (pattern[i++] - '0');
        return value;
    };
    long product = 1;
    for (std::size_t i = 0; i < size; ++i) {
        if (pattern[i] == '\\') {
            ++i; // an escaped character is not a quantifier
        } else if (pattern[i] == '[') {
            // A bracket expression: braces inside are literal. "[]" and "[^]" start with ']'.
            std::size_t j = i + 1;
            if (j < size && pattern[j] == '^')
                ++j;
            if (j < size && pattern[j] == ']')
                ++j;
            while (j < size && pattern[j] != ']')
                j += pattern[j] == '\\' ? 2 : 1;
            i = j;
        } else if (pattern[i] == '{' && i + 1 < size && digit(pattern[i + 1])) {
            std::size_t j = i + 1;
            const long low = number(j);
            long count = low;
            if (j < size && pattern[j] == ',') {
                ++j;
                count = j < size && digit(pattern[j]) ? number(j) : low + 1;
            }
            if (j < size && pattern[j] == '}') {
                product *= std::max(count, 1L);
                if (product > kMaxRepeats)
                    return true;
                i = j;
            }
        }
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
    // 120), and tooCostly() keeping large repeat counts out, a typical pattern costs
    // microseconds per module.
    constexpr std::size_t kMaxRegexInput = 256;
    constexpr auto kFlags =
        std::regex::ECMAScript | std::regex::nosubs | std::regex_constants::__polynomial;
    try {
        if (moduleName.size() <= kMaxRegexInput && pattern.size() <= kMaxRegexInput &&
            !tooCostly(pattern))
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
