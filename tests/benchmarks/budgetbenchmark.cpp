// bench_budget: the bit-budget allocation (core/engine/bitbudget.h, issue 6). Prints
//   - how long the per-module error curves take (once per adapter, in the background in the
//     workbench),
//   - how long one allocation from the curves takes (the workbench runs it while the budget slider
//     moves; target: under 100 ms for 224 modules), over many budgets in each bit count,
//   - the allocation against uniform rho (the paper's ratio rule, rho 0.8 and 0.9, b_h 2) at the
//     same average bits, paper and true count, with b_h chosen from {2, 3, 4} and fixed at 2.
//
//   bench_budget [--budgets N] [ADAPTER]
//
// Without ADAPTER it writes the llama2-7b rank-16 all-linear F16 synthetic adapter (224 modules,
// core/io/synthesizer.h, seed 1) to a temporary folder and loads it. Not a test: run it by hand.

#include "core/engine/adapterquantizer.h"
#include "core/engine/allocatorsettings.h"
#include "core/engine/bitbudget.h"
#include "core/io/adapter.h"
#include "core/io/synthesizer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <omp.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr double kTargetAllocationMs = 100.0;

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double averageBits(const lq::QuantResult& result, lq::BitCount count)
{
    return count == lq::BitCount::Paper ? result.avgBitsPaper : result.avgBitsTrue;
}

// Allocation times over `budgets` budgets spread over the reachable range; returns the median
// and the largest, in ms.
std::pair<double, double> timeAllocations(const lq::ErrorCurves& curves, lq::BitCount count,
                                          int budgets)
{
    const double low = curves.minimumBudget(count), high = curves.maximumBudget(count);
    std::vector<double> ms;
    for (int i = 0; i < budgets; ++i) {
        const double budget = low + (high - low) * (i + 0.5) / budgets;
        const auto start = std::chrono::steady_clock::now();
        const lq::BudgetAllocation allocation = lq::allocateBudget(curves, budget, count);
        ms.push_back(1e3 * secondsSince(start));
        if (allocation.h.size() != curves.modules.size())
            std::abort();
    }
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms.back()};
}

} // namespace

int main(int argc, char** argv)
{
    lq::keepFreedBlocksForReuse(); // as the programs do
    int budgets = 200;
    std::string path;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--budgets" && i + 1 < argc) {
            budgets = std::max(1, std::atoi(argv[++i]));
        } else if (!arg.empty() && arg[0] != '-' && path.empty()) {
            path = arg;
        } else {
            std::cerr << "usage: bench_budget [--budgets N] [ADAPTER]\n";
            return 2;
        }
    }

    fs::path temporary;
    try {
        if (path.empty()) {
            temporary = fs::temp_directory_path() /
                        ("bench_budget_" + std::to_string(::getpid()) + "_llama2-7b-r16");
            lq::SynthSettings synth;
            synth.preset = "llama2-7b";
            synth.rank = 16;
            std::cout << "writing the synthetic llama2-7b rank-16 all-linear F16 adapter to "
                      << temporary.string() << " ...\n";
            lq::writeSyntheticAdapter(temporary.string(), synth);
            path = temporary.string();
        }
        const lq::Adapter adapter = lq::Adapter::load(path);
        std::cout << "adapter " << path << ": " << adapter.modules().size() << " modules, "
                  << adapter.parameterCount() << " LoRA parameters; g 128, fp16 scales, groups "
                  << "per component; " << omp_get_max_threads() << " threads\n\n";

        const lq::QuantSettings settings;
        std::vector<int> fixed{2};
        auto start = std::chrono::steady_clock::now();
        const lq::ErrorCurves curves = lq::computeErrorCurves(adapter, settings);
        const double curveSeconds = secondsSince(start);
        start = std::chrono::steady_clock::now();
        const lq::ErrorCurves curves2 = lq::computeErrorCurves(adapter, settings, fixed);
        const double curve2Seconds = secondsSince(start);
        std::printf("error curves, b_h in {2,3,4}: %.3f s; b_h = 2 only: %.3f s\n", curveSeconds,
                    curve2Seconds);

        bool met = true;
        for (lq::BitCount count : {lq::BitCount::Paper, lq::BitCount::True}) {
            const auto [median, most] = timeAllocations(curves, count, budgets);
            met = met && most < kTargetAllocationMs;
            std::printf("allocation (%s count, %d budgets over %.4f..%.4f): median %.3f ms, "
                        "max %.3f ms\n",
                        lq::toString(count).c_str(), budgets, curves.minimumBudget(count),
                        curves.maximumBudget(count), median, most);
        }
        std::printf("target: every allocation under %.0f ms: %s\n\n", kTargetAllocationMs,
                    met ? "met" : "NOT met");

        std::printf("%-5s %-6s %-9s %9s %9s | %-9s %9s %9s %9s %8s\n", "rho", "count", "uniform",
                    "avg bits", "err", "b_h from", "avg bits", "pred err", "err", "vs unif");
        for (double rho : {0.8, 0.9}) {
            lq::QuantSettings uniformSettings;
            uniformSettings.rho = rho;
            uniformSettings.bitsHigh = 2;
            const lq::QuantResult uniform = lq::quantizeAdapter(adapter, uniformSettings);
            for (lq::BitCount count : {lq::BitCount::Paper, lq::BitCount::True}) {
                const double budget = averageBits(uniform, count);
                for (const lq::ErrorCurves* c : {&curves, &curves2}) {
                    const lq::BudgetAllocation allocation = lq::allocateBudget(*c, budget, count);
                    const lq::QuantResult allocated =
                        lq::quantizeAdapter(adapter, settings, allocation);
                    std::printf("%-5.2f %-6s %-9s %9.4f %9.5f | %-9s %9.4f %9.5f %9.5f %+7.1f%%\n",
                                rho, lq::toString(count).c_str(), "ratio b2", budget,
                                uniform.relErrTotal, c == &curves ? "{2,3,4}" : "{2}",
                                averageBits(allocated, count), allocation.relErrTotal,
                                allocated.relErrTotal,
                                100.0 * (allocated.relErrTotal / uniform.relErrTotal - 1.0));
                }
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "bench_budget: " << e.what() << '\n';
        if (!temporary.empty())
            fs::remove_all(temporary);
        return 1;
    }
    if (!temporary.empty())
        fs::remove_all(temporary);
    return 0;
}
