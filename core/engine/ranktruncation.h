#pragma once

#include "core/engine/baselinefactors.h"
#include "core/engine/quantresult.h"

#include <Eigen/Core>
#include <vector>

namespace lq {

// Rank truncation, the idea of kohya-ss's resize_lora (METHOD 10.1): keep the first k components
// of the SVD of B A (B'[:, :k], A'[:k, :], METHOD 1) in fp16 and drop the rest. No codes, no
// scales: every kept value costs 16 bits, so a module costs 16 k (m + n) bits (k itself sits in
// the module header's h byte). The kept factors are the balanced B' = U S^(1/2),
// A' = S^(1/2) V^T; resize_lora puts S on the up (B) side, which in fp16 changes nothing but
// rounding.

// The reconstruction of one module with k kept (clamped to [0, r]); dropped components are zero.
BaselineFactors truncateModule(const ModuleReparam& reparam, int k);

// The smallest k whose components hold at least `ratio` of the energy sum s_i^2 (at least 1
// when the update is not zero; 0 for a zero update). ratio in (0, 1].
int truncationRankForEnergy(const Eigen::VectorXf& singularValues, double ratio);

// Per-module k for an average true bit budget over the adapter: the components of every module
// taken greedily by energy per stored bit, s_i^2 / (16 (m + n)), while the average true bits
// (codes and the 16-byte module headers, over sum r (m + n) parameters) stay within
// `bitsPerParameter`. Inside a module that order is the SVD order, so the result is a prefix
// per module; it minimises the dropped energy for its bits up to one component (a knapsack
// solved greedily). shapes[i] = (m, n) of module i.
std::vector<int> truncationRanksForBudget(const std::vector<Eigen::VectorXf>& spectra,
                                          const std::vector<std::pair<int, int>>& shapes,
                                          double bitsPerParameter);

} // namespace lq
