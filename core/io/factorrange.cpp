#include "core/io/factorrange.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace lq {
namespace {

std::string fewDigits(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.5g", value);
    return text;
}

} // namespace

std::string factorRangeProblem(double largestA, double largestB, std::int64_t m, std::int64_t n,
                               std::int64_t r)
{
    constexpr double kLargestSum = double(std::numeric_limits<float>::max()) / 65536.0;
    double bound[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        const double largest = i == 0 ? largestA : largestB;
        const std::string factor = i == 0 ? "lora_A" : "lora_B";
        if (!std::isfinite(largest))
            return factor + " holds Inf or NaN values";
        if (std::isinf(static_cast<float>(largest)))
            return factor + " holds values up to " + fewDigits(largest) +
                   ", beyond float32's range (largest " +
                   fewDigits(std::numeric_limits<float>::max()) + "), in which it is computed";
        bound[i] = largest * largest * double(i == 0 ? n : m) * double(r);
        if (bound[i] > kLargestSum)
            return factor + " holds values up to " + fewDigits(largest) +
                   ", too large to compute with in float32: the sums of their squares would "
                   "reach " +
                   fewDigits(bound[i]) + " (at most " + fewDigits(kLargestSum) + " is safe)";
    }
    if (bound[0] * bound[1] > kLargestSum)
        return "lora_A and lora_B hold values too large to compute with in float32: the squares "
               "of the singular values of B A would reach " +
               fewDigits(bound[0] * bound[1]) + " (at most " + fewDigits(kLargestSum) + " is safe)";
    return {};
}

} // namespace lq
