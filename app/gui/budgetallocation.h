#pragma once

#include <vector>

namespace lq::gui {

// The workbench's simple bit-budget allocation (issue 5; the engine's smarter allocation is
// issue 6): choose every module's h so that the adapter's average bits per weight, as the paper
// counts them, stays at or below `budgetBits`, spending the extra bits of high precision on the
// components with the most energy per extra bit first.
//
// Paper count: every weight costs 1 bit, and each high component of a module costs another
// (m + n)(b_h - 1) bits, so
//   average = 1 + (b_h - 1) sum_modules h (m + n) / sum_modules r (m + n).
// Greedy: repeatedly take the not yet high component with the largest s_i^2 / (m + n) (its
// energy per extra bit; within a module components come in order, s descending) as long as it
// fits the budget; a component that does not fit is skipped and smaller ones may still fit.
// Zero components are never taken. Invariant: the resulting paper average <= budgetBits, and no
// further component with s > 0 fits.
struct BudgetModule
{
    int m = 0;
    int n = 0;
    std::vector<double> singularValues; // descending, r values
};

std::vector<int> allocateBudget(const std::vector<BudgetModule>& modules, int bitsHigh,
                                double budgetBits);

// The paper's average bits per weight for the given h per module.
double paperAverageBits(const std::vector<BudgetModule>& modules, const std::vector<int>& h,
                        int bitsHigh);

} // namespace lq::gui
