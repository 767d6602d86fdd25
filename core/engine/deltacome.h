#pragma once

#include "core/engine/baselinefactors.h"
#include "core/engine/quantresult.h"

#include <array>
#include <vector>

namespace lq {

// Delta-CoMe's mixed precision over singular vectors, data-free (Ping et al., "Delta-CoMe:
// Training-Free Delta-Compression with Mixed-Precision", 2024; METHOD 10.4). The components of
// the SVD of B A (B', A', METHOD 1), in order of falling s_i, fall into tiers: the first k8 get
// 8 bits, the next k3 3 bits, the next k2 2 bits, the rest are dropped. Each component's column
// of B' and row of A' is quantized with the asymmetric RTN of METHOD 3 (groups of 128 inside the
// vector, fp16 scales, b-bit zero points). Delta-CoMe quantizes with GPTQ, which needs
// activations of the base model; this uses RTN instead, so that it stays data-free like the
// other methods here. The tier sizes cost 3 bytes per module besides the header.

inline constexpr std::array<int, 3> kDeltaComeBits = {8, 3, 2};
inline constexpr int kDeltaComeGroupSize = 128;
inline constexpr int kDeltaComeTierBits = 24;

struct DeltaComeTiers
{
    int k8 = 0, k3 = 0, k2 = 0;
    int kept() const { return k8 + k3 + k2; }
    int bitsOf(int component) const; // 8, 3, 2 or 0
};

// Per component i and width b in {0, 2, 3, 8} (index 0..3): the squared error
// ||b'_i a'_i^T - Q(b'_i) Q(a'_i)^T||_F^2 (the energy s_i^2 for b = 0), and per width the
// stored bits of one component (codes, scales, zero points of both vectors). The allocation
// below treats the module's error as the sum over components; the components are orthogonal,
// so it is that sum plus the cross terms of their rounding errors, which the final error
// (measured exactly) includes.
struct DeltaComeModuleTable
{
    std::vector<std::array<double, 4>> error; // [component][0: dropped, 1: 2-bit, 2: 3, 3: 8]
    std::array<double, 4> componentBits{};    // [0, 2-bit, 3-bit, 8-bit]
};
DeltaComeModuleTable deltaComeTable(const ModuleReparam& reparam);

// The tiers that minimise (estimated error + lambda * bits) for one module: O(r).
DeltaComeTiers deltaComeTiersFor(const DeltaComeModuleTable& table, double lambda);

// One module quantized with the given tiers.
BaselineFactors deltaComeModule(const ModuleReparam& reparam, const DeltaComeTiers& tiers);

// Tier sizes for every module so that the adapter's average true bits (tiers, codes, scales,
// zero points, tier sizes and module headers over sum r (m + n)) stay within bitsPerParameter:
// one lambda for all modules, found by bisection, the smallest that fits. `parameters` is
// sum r (m + n).
std::vector<DeltaComeTiers> deltaComeAllocate(const std::vector<DeltaComeModuleTable>& tables,
                                              double parameters, double bitsPerParameter);

} // namespace lq
