#pragma once

#include <cstdint>

namespace lq {

// Bit accounting (METHOD 5). Two figures, always labelled where shown:
// - paper: codes only, h (m + n) b_h + (r - h)(m + n) bits per module, as the paper counts;
// - true: every stored bit: codes, one scale per group (16 or 32 bits), one b-bit zero point per
//   RTN group, and a fixed per-module header.

// The per-module header the true count charges. The packed format (core/packed) stores exactly
// this much per module besides its codes, scales and zero points: m, n, r as uint32 (12 bytes);
// h, the high bit width, the group layout and the scale format as uint8 (4 bytes). Module names
// and file-level metadata are not counted (they do not scale with the adapter's size).
inline constexpr int kModuleHeaderBytes = 16;
inline constexpr int kModuleHeaderBits = 8 * kModuleHeaderBytes;

// The paper's count for one module: h (m + n) b_h + (r - h)(m + n).
inline double paperModuleBits(int m, int n, int r, int h, int bitsHigh)
{
    const double length = double(m) + double(n);
    return double(h) * length * bitsHigh + double(r - h) * length;
}

} // namespace lq
