#pragma once

#include "quantsettings.h"

#include <cstdint>
#include <vector>

namespace lq {

// A set of `count` vectors of `length` values each, quantized in groups of `groupSize`. This is
// one part of one factor: the high or low components of B' (vectors = columns, length m) or of
// A' (vectors = rows, length n). Values are laid out vector after vector.
//
// Reconstruction, per group G with scale d and zero point z:
//   RTN (bits b):  x = (q - z) * d,           q, z in [0, 2^b - 1]
//   Binary:        x = (2 q - 1) * d,         q in {0, 1} (1 = non-negative), d = mean |w|
// With GroupLayout::PerComponent groups restart at each vector (ceil(length / g) groups per
// vector, the last one possibly short); with Flattened they run on across vectors
// (ceil(count * length / g) groups in all).
struct QuantizedVectors
{
    enum class Scheme : std::uint8_t { Rtn, Binary };

    Scheme scheme = Scheme::Rtn;
    int bits = 2; // 1 for Binary
    int count = 0;
    int length = 0;
    int groupSize = 128;
    GroupLayout layout = GroupLayout::PerComponent;
    ScaleFormat scaleFormat = ScaleFormat::F16;
    std::vector<std::uint8_t> codes; // count * length, one code per value
    std::vector<float> scales;       // one per group (already rounded to scaleFormat)
    std::vector<std::uint8_t> zeros; // one per group, RTN only

    int groupCount() const;
    // Group index of value `i` of vector `v`.
    int groupOf(int v, int i) const;
    float dequantize(int v, int i) const;
    // All values, vector after vector (count * length).
    std::vector<float> dequantizeAll() const;

    // Bits as the paper counts them (codes only) and as stored (codes, scales, zero points).
    double paperBits() const;
    double trueBits() const;
};

} // namespace lq
