#pragma once

#include "core/io/adapter.h"
#include "core/io/progress.h"

#include <Eigen/Core>
#include <vector>

namespace lq {

// What the singular spectrum of one module's update B A says about how well it compresses:
// component i carries energy s_i^2 (METHOD 1), so a steep spectrum puts most of the update in
// the first few components.
struct SpectrumSummary
{
    std::vector<double> singularValues; // r values, descending, >= 0
    double energy = 0;                  // sum s_i^2 = ||B A||_F^2
    double topShare = 0;                // s_1^2 / energy; 0 when energy is 0
    // The smallest number of components whose energy share reaches 80% / 90%, i.e. the smallest
    // k with (s_1^2 + ... + s_k^2) >= share * energy (METHOD 2's "RatioCount" rule, one more
    // than the reference's 0-based h for the same share). 0 when energy is 0.
    int componentsFor80 = 0;
    int componentsFor90 = 0;
};

// The smallest k with (s_1^2 + ... + s_k^2) >= share * (sum of all s_i^2); 0 for a zero spectrum.
int componentsForEnergy(const std::vector<double>& singularValues, double share);

SpectrumSummary summarizeSpectrum(const Eigen::VectorXf& singularValues);

// Every module's spectrum, computed from B and A without the m x n product, modules in parallel
// (OpenMP), one module's float32 factors per thread at a time, so memory stays near the
// file's size. `progress` is called after each module (never two calls at once); when it returns
// false the remaining modules are skipped and the result is empty.
std::vector<SpectrumSummary> adapterSpectra(const Adapter& adapter,
                                            const ProgressFn& progress = {});

} // namespace lq
