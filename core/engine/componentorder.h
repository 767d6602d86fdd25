#pragma once

#include "core/engine/quantresult.h"
#include "core/engine/quantsettings.h"

#include <Eigen/Core>
#include <cstdint>
#include <string>

namespace lq {

// The paper's ablations of the split (METHOD 7; QuantSettings::order): instead of the SVD
// components, the original components of B A = sum_i b_i a_i^T (b_i column i of B, a_i row i of
// A), in a seeded random order or ranked by ||b_i a_i^T||_F = ||b_i|| ||a_i||, largest first
// (ties by index). The result has the layout of a reparameterization (Bp m x r, Ap r x n,
// Bp Ap = B A up to float rounding) so that the rest of the engine treats it alike; its
// singularValues are copied from `svdSingularValues`, so the split rule picks the same h as for
// the SVD split and the bit count does not change with the order.
//
// Each component is balanced, b_i * sqrt(||a_i|| / ||b_i||) and a_i * sqrt(||b_i|| / ||a_i||),
// as S^(1/2) balances the SVD's: a trained LoRA's B and A differ in scale by orders of magnitude,
// and the RTN range floor (1e-5, METHOD 3) would otherwise treat the two factors differently.
// A component with b_i = 0 or a_i = 0 becomes two zero vectors (never NaN).
//
// Random: a Fisher-Yates shuffle driven by std::mt19937_64 (whose output the standard fixes)
// seeded with `seed` mixed with the FNV-1a hash of the module's name, so every module gets its
// own order, the same on every run and platform, whatever the thread count.
ModuleReparam orderedComponents(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                                const Eigen::VectorXf& svdSingularValues, ComponentOrder order,
                                std::uint64_t seed, const std::string& moduleName);

} // namespace lq
