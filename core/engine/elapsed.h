#pragma once

#include <chrono>

namespace lq {

// Wall-clock seconds since `start`: the `seconds` figure every result reports.
inline double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace lq
