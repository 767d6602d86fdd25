#pragma once

#include "widgets/learnmodule.h"

#include <QString>
#include <vector>

namespace lq::gui {

class AdapterDocument;

// The Learn view's numbers for one module (widgets/learnmodule.h), from what the document holds
// already: its factors, the cached reparameterization, its singular values, the current result's
// codes, and the budget curves when they have been computed. Nothing here quantizes: decoding
// one module's codes and summing r squares take well under a millisecond, so it runs on the UI
// thread.
widgets::LearnModule learnModule(AdapterDocument& document, int module);

// The relative error of truncating a module to its first k components, k = 0..r:
// sqrt(sum_{i>k} s_i^2 / sum_i s_i^2) (Eckart-Young: the best rank-k approximation), at
// 16 k / r bits per LoRA parameter (k (m + n) values of 16 bits over r (m + n) parameters).
// All zero for a zero update.
std::vector<widgets::ReconstructionPoint>
truncationCurve(const std::vector<double>& singularValues);

// The explanatory text, with the numbers of the module shown: where its energy sits before and
// after the SVD, what the before shares' cross terms amount to, what the high and the 1-bit
// components hold, and what truncation at the same split would give.
QString learnText(const widgets::LearnModule& module, int bitsHigh);

} // namespace lq::gui
