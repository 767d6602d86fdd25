#include "budgetallocation.h"

#include <cstdint>
#include <queue>

namespace lq::gui {

std::vector<int> allocateBudget(const std::vector<BudgetModule>& modules, int bitsHigh,
                                double budgetBits)
{
    std::vector<int> h(modules.size(), 0);
    double totalWeights = 0;
    for (const BudgetModule& module : modules)
        totalWeights += double(module.singularValues.size()) * (module.m + module.n);
    if (bitsHigh <= 1 || totalWeights == 0)
        return h;
    // Extra bits beyond 1 per weight that the budget allows.
    double remaining = (budgetBits - 1.0) * totalWeights;

    struct Candidate
    {
        double gain; // s^2 per extra bit
        std::size_t module;
        bool operator<(const Candidate& other) const
        {
            // Ties go to the lower module index, so the result does not depend on heap order.
            return gain != other.gain ? gain < other.gain : module > other.module;
        }
    };
    std::priority_queue<Candidate> queue;
    const auto push = [&](std::size_t i) {
        const BudgetModule& module = modules[i];
        const std::size_t next = std::size_t(h[i]);
        if (next < module.singularValues.size() && module.singularValues[next] > 0) {
            const double s = module.singularValues[next];
            queue.push({s * s / (double(module.m + module.n) * (bitsHigh - 1)), i});
        }
    };
    for (std::size_t i = 0; i < modules.size(); ++i)
        push(i);
    while (!queue.empty()) {
        const Candidate best = queue.top();
        queue.pop();
        const BudgetModule& module = modules[best.module];
        const double cost = double(module.m + module.n) * (bitsHigh - 1);
        if (cost > remaining)
            continue; // this module's later components cost the same: the module is done
        remaining -= cost;
        ++h[best.module];
        push(best.module);
    }
    return h;
}

double paperAverageBits(const std::vector<BudgetModule>& modules, const std::vector<int>& h,
                        int bitsHigh)
{
    double bits = 0, weights = 0;
    for (std::size_t i = 0; i < modules.size(); ++i) {
        const double length = modules[i].m + modules[i].n;
        const double r = double(modules[i].singularValues.size());
        bits += h[i] * length * bitsHigh + (r - h[i]) * length;
        weights += r * length;
    }
    return weights > 0 ? bits / weights : 0.0;
}

} // namespace lq::gui
