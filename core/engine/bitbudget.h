#pragma once

#include "core/engine/quantsettings.h"
#include "core/io/adapter.h"
#include "core/io/progress.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lq {

// Bit-budget allocation across modules (METHOD 2, this project's extension; issue 6): given a
// target average bit width, choose each module's h and high bit width b_h so that the adapter's
// energy-weighted total error sqrt(sum errSq / sum normSq) is as small as possible and the average
// bits per weight, in the chosen count, never exceed the target.
//
// Two steps, so that the workbench can re-allocate while its budget slider moves:
//   1. computeErrorCurves (once per adapter and group settings; 5.5 to 7 s for the synthetic
//      llama2-7b rank-16 adapter on 2 cores shared with other builds, bench_budget): the exact
//      squared error and the exact paper and true bit counts of every module for every h in 0..r
//      and every b_h in the allowed set, WITHOUT refinement;
//   2. allocateBudget (per budget; about a millisecond for 224 modules, see bench_budget): picks
//      one option per module from the curves.
// The allocation goes into the per-module overrides of QuantSettings (BudgetAllocation::applyTo,
// or the quantizeAdapter overload in adapterquantizer.h), so the allocated result is an ordinary
// QuantResult whose avgBitsPaper / avgBitsTrue are the allocation's exactly (the counts do not
// depend on the values) and whose error is the predicted one when the refinement is none. With a
// refinement the bits are the same and the error is usually lower, but the allocation was chosen
// for the unrefined errors.

// Which bit count a budget is in (quantresult.h, bitcount.h): the paper's (codes only) or the
// true one (codes, scales, zero points and the per-module header).
enum class BitCount
{
    Paper,
    True,
};
std::string toString(BitCount count); // "paper", "true"
std::optional<BitCount> bitCountFromString(std::string_view name);

// One way to quantize one module. Bit counts are whole numbers of bits (they count codes, fp16 or
// fp32 scales, b-bit zero points and a 128-bit header), held exactly.
struct BudgetOption
{
    int h = 0;
    int bitsHigh = 0; // for h = 0 (every component in 1 bit) the first allowed width
    std::int64_t bitsPaper = 0;
    std::int64_t bitsTrue = 0;
    double errSq = 0; // ||B A - B_hat A_hat||_F^2 without refinement

    std::int64_t bits(BitCount count) const
    {
        return count == BitCount::Paper ? bitsPaper : bitsTrue;
    }
};

// The error curve of one module: option 0 is h = 0; then, for each allowed b_h in order, h = 1..r.
struct ModuleCurve
{
    std::string name;
    int m = 0;
    int n = 0;
    int r = 0;
    double normSq = 0; // ||B A||_F^2
    std::vector<BudgetOption> options;
};

struct ErrorCurves
{
    std::string adapter; // the adapter's path (or name)
    int groupSize = 128; // the group settings the curves (and their true bits) used
    GroupLayout layout = GroupLayout::PerComponent;
    ScaleFormat scaleFormat = ScaleFormat::F16;
    std::vector<int> bitsHighChoices; // allowed b_h, ascending, distinct
    std::vector<ModuleCurve> modules; // in the adapter's module order
    std::int64_t parameterCount = 0;  // sum r (m + n)
    double seconds = 0;
    bool cancelled = false; // no modules then

    // The lowest and highest average bits per weight any allocation reaches in `count`: every
    // module at h = 0 (1 bit paper; 1 bit plus the binary scales and headers true), and every
    // module at h = r with the widest allowed b_h.
    double minimumBudget(BitCount count) const;
    double maximumBudget(BitCount count) const;
};

// Computes the curves of every module of `adapter`, in parallel over modules (OpenMP); the result
// does not depend on the thread count. `settings` gives the group size, layout and scale format;
// its split rule, b_h, overrides, component order and refinement are ignored: curves are always
// of the SVD split (ComponentOrder::Svd) without refinement. An allocation applied with another
// order or a refinement spends exactly the allocated bits, but its error is not the predicted one.
// `bitsHighChoices` (each 1..8; default {2, 3, 4}) are the widths the allocation may give a high
// part; pass one width to keep b_h fixed.
//
// How, per module (never forming m x n): reparameterize (METHOD 1), quantize ALL r components of
// B' and A' once in 1 bit and once in each allowed b_h. With groups inside one component (the
// default layout, or flattened groups when g divides m and n) a component's codes do not depend on
// h, so the split at h takes columns < h from the b_h set and the rest from the 1-bit set. Then
// one Gram matrix P^T P in double of P = [B, Q_1, Q_b...] (m x (2 + k) r for k widths; the same
// for A^T with n rows) gives every ||B A - B_hat A_hat||_F^2 by the trace formula of
// updateerror.h, as r x r block sums. Cost per module: the reparameterization, (1 + k) r (m + n)
// quantized values, and (2 + k)^2 r^2 (m + n) / 2 multiply-adds in double for the Grams; about
// three times the error measurement of one quantizeAdapter run for k = 3. Flattened groups with g
// not dividing m or n couple neighbouring components: those modules are quantized for each
// (h, b_h) separately (quantizeSplitPlain + updateError), r k times the work.
// Errors agree with quantizeAdapter's to the rounding of the double sums (relative ~1e-12 of
// ||B A||^2); bit counts agree exactly.
// Throws lq::Error for an empty or out-of-range bitsHighChoices or bad group settings. Cancelling
// through `progress` returns curves with `cancelled` set and no modules.
ErrorCurves computeErrorCurves(const Adapter& adapter, const QuantSettings& settings,
                               std::vector<int> bitsHighChoices = {2, 3, 4},
                               const ProgressFn& progress = {});

// One option per module: what a budget buys.
struct BudgetAllocation
{
    BitCount count = BitCount::Paper;
    double budget = 0;              // the target average, bits per weight in `count`
    std::vector<std::string> names; // per module, in the curves' order
    std::vector<int> h;             // per module
    std::vector<int> bitsHigh;      // per module
    double avgBitsPaper = 0;        // exactly what quantizeAdapter will report
    double avgBitsTrue = 0;
    double relErrTotal = 0; // predicted without refinement: sqrt(sum errSq / sum normSq)
    int groupSize = 128;    // the curves' group settings (the true count depends on them)
    GroupLayout layout = GroupLayout::PerComponent;
    ScaleFormat scaleFormat = ScaleFormat::F16;

    // Replaces settings.hOverride / bitsHighOverride with this allocation's, one entry per module.
    // Throws lq::Error when settings' group size, layout or scale format differ from the curves'
    // (the true bit count would then not be the allocated one).
    void applyTo(QuantSettings& settings) const;
};

// Chooses, for each module, the option that minimises the total error under the budget:
//   sum over modules of option.bits(count) <= budget * parameterCount
// (compared as quantizeAdapter computes the average: total / parameterCount <= budget, exact
// integer totals), never above it.
//
// Method. Per module the options' (bits, errSq) points are reduced to their lower convex hull.
// Every hull step (one module moving to its next hull point) has a slope, error removed per bit;
// within a module the slopes fall, so taking all modules' steps in one global order of falling
// slope visits allocations P_0 (every module at its cheapest point) .. P_K (each at its most
// accurate). Each P_k is a Lagrangian optimum: no allocation costing at most cost(P_k) has less
// error. The answer starts from the last P_k that fits, then makes the single best change to one
// module (any of its options, on the hull or not) that fits in what is left.
// Monotone: more budget never gives more error, because (a) for a fixed P_k the best single
// change over a larger leftover is at least as good, and (b) P_(k+1)'s error is below anything
// costing less than cost(P_(k+1)) (Lagrangian bound with the step's slope), so crossing to the
// next path point never loses. Ties are broken by module index, then option index, so the result
// is deterministic. Cost O(M k r log(M k r)) for M modules (the hulls and the sort of the steps).
//
// Throws lq::Error("bit budget", ...) for a budget that is not a finite number, below
// curves.minimumBudget(count) or above curves.maximumBudget(count) (the message gives the range
// and the count), or for cancelled curves.
BudgetAllocation allocateBudget(const ErrorCurves& curves, double budget, BitCount count);

} // namespace lq
