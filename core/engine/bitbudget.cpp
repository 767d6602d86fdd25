#include "core/engine/bitbudget.h"

#include "core/engine/adapterquantizer.h"
#include "core/engine/bitcount.h"
#include "core/engine/elapsed.h"
#include "core/engine/finiteresults.h"
#include "core/engine/parallelmodules.h"
#include "core/engine/quantizer.h"
#include "core/engine/reparameterize.h"
#include "core/io/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <queue>
#include <span>

namespace lq {

std::string toString(BitCount count)
{
    return count == BitCount::Paper ? "paper" : "true";
}

std::optional<BitCount> bitCountFromString(std::string_view name)
{
    if (name == "paper")
        return BitCount::Paper;
    if (name == "true")
        return BitCount::True;
    return std::nullopt;
}

namespace {

// The bits one part occupies, counted by QuantizedVectors itself (so that the curves' counts are
// the engine's by construction): a part with no values holds no codes and no groups.
double partBits(QuantizedVectors::Scheme scheme, int bits, int count, int length,
                const QuantSettings& settings, BitCount which)
{
    QuantizedVectors part;
    part.scheme = scheme;
    part.bits = bits;
    part.count = count;
    part.length = length;
    part.groupSize = settings.groupSize;
    part.layout = settings.layout;
    part.scaleFormat = settings.scaleFormat;
    return which == BitCount::Paper ? part.paperBits() : part.trueBits();
}

BudgetOption optionBits(int m, int n, int r, int h, int bitsHigh, const QuantSettings& settings)
{
    using Scheme = QuantizedVectors::Scheme;
    BudgetOption option;
    option.h = h;
    option.bitsHigh = bitsHigh;
    for (BitCount which : {BitCount::Paper, BitCount::True}) {
        const double bits = partBits(Scheme::Rtn, bitsHigh, h, m, settings, which) +
                            partBits(Scheme::Rtn, bitsHigh, h, n, settings, which) +
                            partBits(Scheme::Binary, 1, r - h, m, settings, which) +
                            partBits(Scheme::Binary, 1, r - h, n, settings, which) +
                            (which == BitCount::True ? kModuleHeaderBits : 0);
        // Whole numbers far below 2^53: exact in double.
        (which == BitCount::Paper ? option.bitsPaper : option.bitsTrue) = std::llround(bits);
    }
    return option;
}

// Dequantized values of all r components of one factor (rows x r, one component per column):
// binary (the low part's quantizer) for bits = 0, else RTN with `bits` (1-bit RTN is not binary).
Eigen::MatrixXf quantizeAll(const Eigen::MatrixXf& vectors, int bits, const GroupSpec& spec)
{
    const int rows = int(vectors.rows()), r = int(vectors.cols());
    const std::span<const float> values{vectors.data(), std::size_t(vectors.size())};
    const QuantizedVectors q = bits == 0 ? quantizeBinary(values, r, rows, spec)
                                         : quantizeRtn(values, r, rows, bits, spec);
    const std::vector<float> all = q.dequantizeAll();
    return Eigen::Map<const Eigen::MatrixXf>(all.data(), rows, r);
}

// P^T P for P = [blocks[0], blocks[1], ...] (each rows x r), in double, accumulated over chunks
// of rows as updateerror.cpp does (products of floats are exact in double; only the order of the
// additions differs), lower triangle by rank updates and then mirrored.
Eigen::MatrixXd poolGram(const std::vector<const Eigen::MatrixXf*>& blocks)
{
    constexpr Eigen::Index kChunk = 256;
    const Eigen::Index rows = blocks.front()->rows(), r = blocks.front()->cols();
    const Eigen::Index width = r * Eigen::Index(blocks.size());
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(width, width);
    Eigen::MatrixXd chunkT(width, std::min(kChunk, rows)); // P^T's columns of one chunk
    for (Eigen::Index begin = 0; begin < rows; begin += kChunk) {
        const Eigen::Index count = std::min(kChunk, rows - begin);
        for (std::size_t b = 0; b < blocks.size(); ++b)
            chunkT.block(Eigen::Index(b) * r, 0, r, count) =
                blocks[b]->middleRows(begin, count).transpose().cast<double>();
        gram.selfadjointView<Eigen::Lower>().rankUpdate(chunkT.leftCols(count));
    }
    return gram.selfadjointView<Eigen::Lower>();
}

// Curves of one module whose components quantize independently of h (groups inside a component):
// pool block 0 is the original factor, block 1 its 1-bit quantization, block 2 + j the b_h
// quantization with bitsHighChoices[j]. With W = Gram(B pool) o Gram(A^T pool) (elementwise),
//   ||B A - B_hat A_hat||^2 = sum over x, y in [orig, hat] of sign_x sign_y W[x, y]
// where hat column c comes from block 2 + j for c < h and from block 1 otherwise.
ModuleCurve fastCurve(ModuleCurve curve, const ModuleFactors& original,
                      const ModuleReparam& reparam, const std::vector<int>& choices,
                      const QuantSettings& settings)
{
    const int r = curve.r, k = int(choices.size());
    const GroupSpec spec{settings.groupSize, settings.layout, settings.scaleFormat};
    const Eigen::MatrixXf apT = reparam.Ap.transpose(); // n x r, components as columns
    const Eigen::MatrixXf aT = original.A.transpose();
    std::vector<Eigen::MatrixXf> qb, qa; // per scheme: 1 bit, then each choice
    qb.reserve(std::size_t(k + 1));
    qa.reserve(std::size_t(k + 1));
    for (int s = 0; s <= k; ++s) {
        const int bits = s == 0 ? 0 : choices[std::size_t(s - 1)];
        qb.push_back(quantizeAll(reparam.Bp, bits, spec));
        qa.push_back(quantizeAll(apT, bits, spec));
    }
    std::vector<const Eigen::MatrixXf*> bBlocks{&original.B}, aBlocks{&aT};
    for (int s = 0; s <= k; ++s) {
        bBlocks.push_back(&qb[std::size_t(s)]);
        aBlocks.push_back(&qa[std::size_t(s)]);
    }
    const Eigen::MatrixXd w = poolGram(bBlocks).cwiseProduct(poolGram(aBlocks));

    const auto block = [&](int x, int y) { return w.block(x * r, y * r, r, r); };
    curve.normSq = std::max(0.0, block(0, 0).sum());
    // hat column c's pool column: scheme block (1 + s) for the 1-bit set (s = 0) or choice s.
    std::vector<Eigen::Index> hat(std::size_t(r), 0);
    const auto errSq = [&](int h, int choice) {
        for (int c = 0; c < r; ++c)
            hat[std::size_t(c)] = Eigen::Index(c < h ? 2 + choice : 1) * r + c;
        double cross = 0, hatHat = 0;
        for (int x = 0; x < r; ++x) {
            const Eigen::Index hx = hat[std::size_t(x)];
            for (int y = 0; y < r; ++y) {
                cross += w(y, hx); // orig column y against hat column x
                hatHat += w(hat[std::size_t(y)], hx);
            }
        }
        return std::max(0.0, curve.normSq - 2.0 * cross + hatHat);
    };
    for (BudgetOption& option : curve.options) {
        const auto it = std::find(choices.begin(), choices.end(), option.bitsHigh);
        option.errSq = errSq(option.h, int(it - choices.begin()));
    }
    return curve;
}

// Any layout: each option quantized as quantizeAdapter would, without refinement.
ModuleCurve directCurve(ModuleCurve curve, const LoraModule& module, const ModuleFactors& original,
                        const ModuleReparam& reparam, const QuantSettings& settings)
{
    QuantSettings plain = settings;
    plain.refine = Refinement::None;
    plain.refineOverride.clear();
    for (BudgetOption& option : curve.options) {
        const ModuleResult result =
            quantizeModule(module, original, reparam, option.h, option.bitsHigh, plain);
        option.errSq = result.errSq;
        curve.normSq = result.normSq;
    }
    return curve;
}

ModuleCurve moduleCurve(const LoraModule& module, const ModuleFactors& original,
                        const std::vector<int>& choices, const QuantSettings& settings)
{
    ModuleCurve curve;
    curve.name = module.name;
    curve.m = module.m;
    curve.n = module.n;
    curve.r = module.r;
    curve.options.push_back(optionBits(module.m, module.n, module.r, 0, choices.front(), settings));
    for (int bits : choices)
        for (int h = 1; h <= module.r; ++h)
            curve.options.push_back(optionBits(module.m, module.n, module.r, h, bits, settings));

    requireComputableFactors(original.B, original.A, {}, module.name);
    const ModuleReparam reparam = reparameterize(original.B, original.A);
    requireFiniteSpectrum(reparam.singularValues, {}, module.name);
    const bool independent =
        settings.layout == GroupLayout::PerComponent ||
        (module.m % settings.groupSize == 0 && module.n % settings.groupSize == 0);
    if (module.r == 0)
        return curve;
    curve = independent ? fastCurve(std::move(curve), original, reparam, choices, settings)
                        : directCurve(std::move(curve), module, original, reparam, settings);
    for (const BudgetOption& option : curve.options)
        requireFiniteError({curve.normSq, option.errSq}, {}, module.name);
    return curve;
}

std::string bitsText(double bits)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", bits);
    return text;
}

} // namespace

double ErrorCurves::minimumBudget(BitCount count) const
{
    std::int64_t total = 0;
    for (const ModuleCurve& module : modules) {
        std::int64_t least = module.options.front().bits(count);
        for (const BudgetOption& option : module.options)
            least = std::min(least, option.bits(count));
        total += least;
    }
    return parameterCount ? double(total) / double(parameterCount) : 0.0;
}

double ErrorCurves::maximumBudget(BitCount count) const
{
    std::int64_t total = 0;
    for (const ModuleCurve& module : modules) {
        std::int64_t most = module.options.front().bits(count);
        for (const BudgetOption& option : module.options)
            most = std::max(most, option.bits(count));
        total += most;
    }
    return parameterCount ? double(total) / double(parameterCount) : 0.0;
}

ErrorCurves computeErrorCurves(const Adapter& adapter, const QuantSettings& settings,
                               std::vector<int> bitsHighChoices, const ProgressFn& progress)
{
    const auto start = std::chrono::steady_clock::now();
    if (bitsHighChoices.empty())
        throw Error("bit budget", "no bit widths to choose the high parts' from");
    for (int bits : bitsHighChoices)
        if (bits < 1 || bits > 8)
            throw Error("bit budget",
                        "high-part bit widths must be 1 to 8, got " + std::to_string(bits));
    if (settings.groupSize < 1)
        throw Error("quantization settings",
                    "the group size must be at least 1, got " + std::to_string(settings.groupSize));
    std::sort(bitsHighChoices.begin(), bitsHighChoices.end());
    bitsHighChoices.erase(std::unique(bitsHighChoices.begin(), bitsHighChoices.end()),
                          bitsHighChoices.end());

    ErrorCurves curves;
    curves.adapter = adapter.path();
    curves.groupSize = settings.groupSize;
    curves.layout = settings.layout;
    curves.scaleFormat = settings.scaleFormat;
    curves.bitsHighChoices = bitsHighChoices;
    const std::vector<LoraModule>& modules = adapter.modules();
    std::vector<ModuleCurve> out(modules.size());
    const bool finished = runModulesInParallel(
        modules.size(),
        [&](std::size_t i) {
            out[i] = moduleCurve(modules[i], adapter.factors(i), bitsHighChoices, settings);
        },
        progress);
    if (finished) {
        curves.modules = std::move(out);
        for (const ModuleCurve& module : curves.modules)
            curves.parameterCount += std::int64_t(module.r) * (module.m + module.n);
    } else {
        curves.cancelled = true;
    }
    curves.seconds = secondsSince(start);
    return curves;
}

void BudgetAllocation::applyTo(QuantSettings& settings) const
{
    if (settings.groupSize != groupSize || settings.layout != layout ||
        settings.scaleFormat != scaleFormat)
        throw Error("bit budget",
                    "the allocation was made for groups of " + std::to_string(groupSize) + ", " +
                        toString(layout) + ", " + toString(scaleFormat) +
                        " scales; the settings use " + std::to_string(settings.groupSize) + ", " +
                        toString(settings.layout) + ", " + toString(settings.scaleFormat) +
                        " (the true bit count would differ)");
    settings.hOverride.clear();
    settings.bitsHighOverride.clear();
    for (std::size_t i = 0; i < names.size(); ++i) {
        settings.hOverride[names[i]] = h[i];
        settings.bitsHighOverride[names[i]] = bitsHigh[i];
    }
}

namespace {

// A module's lower convex hull in (bits, errSq): option indices by rising bits and falling error,
// with slopes (error removed per bit) strictly falling as computed in double.
struct Hull
{
    std::vector<int> vertices;
    std::vector<double> slopes; // slopes[j]: from vertices[j] to vertices[j + 1]
};

Hull lowerHull(const ModuleCurve& module, BitCount count)
{
    const std::vector<BudgetOption>& options = module.options;
    std::vector<int> order(options.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = int(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        const BudgetOption &x = options[std::size_t(a)], &y = options[std::size_t(b)];
        if (x.bits(count) != y.bits(count))
            return x.bits(count) < y.bits(count);
        if (x.errSq != y.errSq)
            return x.errSq < y.errSq;
        return a < b;
    });
    const auto slope = [&](int from, int to) {
        const BudgetOption &a = options[std::size_t(from)], &b = options[std::size_t(to)];
        return (a.errSq - b.errSq) / double(b.bits(count) - a.bits(count));
    };
    Hull hull;
    for (int index : order) {
        const BudgetOption& option = options[std::size_t(index)];
        // Only points that remove error (Pareto); same bits: the first, least error, was kept.
        if (!hull.vertices.empty()) {
            const BudgetOption& last = options[std::size_t(hull.vertices.back())];
            if (option.errSq >= last.errSq || option.bits(count) == last.bits(count))
                continue;
        }
        while (hull.vertices.size() >= 2 &&
               slope(hull.vertices[hull.vertices.size() - 2], hull.vertices.back()) <=
                   slope(hull.vertices.back(), index))
            hull.vertices.pop_back();
        hull.vertices.push_back(index);
    }
    for (std::size_t j = 0; j + 1 < hull.vertices.size(); ++j)
        hull.slopes.push_back(slope(hull.vertices[j], hull.vertices[j + 1]));
    return hull;
}

} // namespace

BudgetAllocation allocateBudget(const ErrorCurves& curves, double budget, BitCount count)
{
    const std::string countName = toString(count) + " count";
    if (curves.cancelled)
        throw Error("bit budget", "the error curves were cancelled before they were complete");
    if (!std::isfinite(budget))
        throw Error("bit budget", "the budget must be a number of bits per weight");
    if (curves.parameterCount == 0)
        throw Error("bit budget", "the adapter has no LoRA parameters to spend bits on");
    const double lowest = curves.minimumBudget(count), highest = curves.maximumBudget(count);
    if (budget < lowest)
        throw Error("bit budget", bitsText(budget) + " bits per weight (" + countName +
                                      ") is below the minimum of " + bitsText(lowest) +
                                      " this adapter needs with every component in 1 bit; choose " +
                                      bitsText(lowest) + " to " + bitsText(highest));
    if (budget > highest)
        throw Error("bit budget", bitsText(budget) + " bits per weight (" + countName +
                                      ") is above the maximum of " + bitsText(highest) +
                                      " (every component at the widest allowed high bit width, " +
                                      std::to_string(curves.bitsHighChoices.back()) + "); choose " +
                                      bitsText(lowest) + " to " + bitsText(highest));

    // The largest whole number of bits whose average, computed as quantizeAdapter computes it,
    // does not exceed the budget.
    const double weights = double(curves.parameterCount);
    auto allowed = std::int64_t(std::floor(budget * weights));
    while (double(allowed + 1) / weights <= budget)
        ++allowed;
    while (double(allowed) / weights > budget)
        --allowed;

    const std::size_t moduleCount = curves.modules.size();
    std::vector<Hull> hulls(moduleCount);
    std::vector<std::size_t> position(moduleCount, 0); // hull vertex per module
    std::int64_t spent = 0;
    for (std::size_t i = 0; i < moduleCount; ++i) {
        hulls[i] = lowerHull(curves.modules[i], count);
        spent += curves.modules[i].options[std::size_t(hulls[i].vertices.front())].bits(count);
    }

    // Path: always the steepest next hull step of any module; stop at the first that does not
    // fit (later path points cost more still).
    struct Step
    {
        double slope;
        std::size_t module;
        bool operator<(const Step& other) const
        {
            return slope != other.slope ? slope < other.slope : module > other.module;
        }
    };
    std::priority_queue<Step> steps;
    for (std::size_t i = 0; i < moduleCount; ++i)
        if (!hulls[i].slopes.empty())
            steps.push({hulls[i].slopes.front(), i});
    while (!steps.empty()) {
        const Step step = steps.top();
        const std::size_t i = step.module;
        const std::vector<BudgetOption>& options = curves.modules[i].options;
        const Hull& hull = hulls[i];
        const std::int64_t extra =
            options[std::size_t(hull.vertices[position[i] + 1])].bits(count) -
            options[std::size_t(hull.vertices[position[i]])].bits(count);
        if (spent + extra > allowed)
            break;
        steps.pop();
        spent += extra;
        ++position[i];
        if (position[i] < hull.slopes.size())
            steps.push({hull.slopes[position[i]], i});
    }

    // One final change: the option of one module that removes the most error within what is left.
    std::vector<int> chosen(moduleCount);
    for (std::size_t i = 0; i < moduleCount; ++i)
        chosen[i] = hulls[i].vertices[position[i]];
    const std::int64_t left = allowed - spent;
    double bestGain = 0;
    std::size_t bestModule = moduleCount;
    int bestOption = -1;
    for (std::size_t i = 0; i < moduleCount; ++i) {
        const std::vector<BudgetOption>& options = curves.modules[i].options;
        const BudgetOption& current = options[std::size_t(chosen[i])];
        for (std::size_t o = 0; o < options.size(); ++o) {
            const double gain = current.errSq - options[o].errSq;
            if (options[o].bits(count) - current.bits(count) <= left && gain > bestGain) {
                bestGain = gain;
                bestModule = i;
                bestOption = int(o);
            }
        }
    }
    if (bestModule < moduleCount)
        chosen[bestModule] = bestOption;

    BudgetAllocation allocation;
    allocation.count = count;
    allocation.budget = budget;
    allocation.groupSize = curves.groupSize;
    allocation.layout = curves.layout;
    allocation.scaleFormat = curves.scaleFormat;
    std::int64_t bitsPaper = 0, bitsTrue = 0;
    double errSq = 0, normSq = 0;
    for (std::size_t i = 0; i < moduleCount; ++i) {
        const ModuleCurve& module = curves.modules[i];
        const BudgetOption& option = module.options[std::size_t(chosen[i])];
        allocation.names.push_back(module.name);
        allocation.h.push_back(option.h);
        allocation.bitsHigh.push_back(option.bitsHigh);
        bitsPaper += option.bitsPaper;
        bitsTrue += option.bitsTrue;
        errSq += option.errSq;
        normSq += module.normSq;
    }
    allocation.avgBitsPaper = double(bitsPaper) / weights;
    allocation.avgBitsTrue = double(bitsTrue) / weights;
    allocation.relErrTotal = normSq > 0 ? std::sqrt(errSq / normSq) : 0.0;
    return allocation;
}

} // namespace lq
