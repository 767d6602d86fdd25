#include "core/engine/paperrefinement.h"

#include "core/engine/quantizer.h"

#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <cmath>

namespace lq {
namespace {

struct GroupState
{
    float lo = 0, hi = 0; // extremes of the current values
    float scale = 0, zero = 0;
    double s2 = 0; // sum (q_j - z)^2
    double sb = 0; // sum (q_j - z) t_j, t the target
    int atMax = 0; // how many values equal hi / lo (tied extremes share the gradient)
    int atMin = 0;
    std::size_t maxAt = 0; // the last position holding hi / lo: with no tie (the usual case)
    std::size_t minAt = 0; // the extreme is found without a scan
    bool moves = false;    // max - min >= 1e-5: the clamp passes the gradient
};

// One vector of a component: the target t (b'_i or a'_i) and the current values w (b~ or a~),
// cut into groups of groupSize (a short tail its own group).
class Side
{
public:
    Side(std::span<const float> target, std::span<float> current, const PaperRefineSpec& spec)
        : m_target(target), m_w(current), m_spec(spec), m_maxCode(float((1 << spec.bits) - 1))
    {
        assert(target.size() == current.size());
        const std::size_t g = std::size_t(spec.groupSize);
        m_groups.resize((current.size() + g - 1) / g);
        for (double t : target)
            m_targetSq += t * t;
    }

    double targetSq() const { return m_targetSq; }
    double pp() const { return m_pp; } // |p|^2
    double tp() const { return m_tp; } // t.p

    // Quantizes the current values: per group extremes, scale, zero point and the two sums.
    void forward()
    {
        m_pp = 0;
        m_tp = 0;
        for (std::size_t g = 0; g < m_groups.size(); ++g) {
            const std::size_t begin = g * std::size_t(m_spec.groupSize);
            const std::size_t end = std::min(begin + std::size_t(m_spec.groupSize), m_w.size());
            GroupState& state = m_groups[g];
            extremes(begin, end, state.lo, state.hi);
            const RtnGroup group = rtnGroup(state.lo, state.hi, m_spec.bits, m_spec.scaleFormat);
            state.scale = group.scale;
            state.zero = group.zero;
            sums(begin, end, state);
            state.moves = state.hi - state.lo >= 1e-5f;
            m_pp += double(state.scale) * state.scale * state.s2;
            m_tp += double(state.scale) * state.sb;
        }
    }

    // dL/dmax of group g given the other side's |q|^2 and (a.q) and the loss L > 0.
    double maxGradient(std::size_t g, double otherPP, double otherTP, double loss) const
    {
        const GroupState& state = m_groups[g];
        if (!state.moves)
            return 0.0;
        const double dScale = (otherPP * state.scale * state.s2 - otherTP * state.sb) / loss;
        return dScale / m_maxCode;
    }

    // Calls visit(j, dL/dw_j) for every value with a non-zero gradient (the tied extremes of
    // each group, the gradient split evenly among them).
    template <typename Visit>
    void forEachGradient(double otherPP, double otherTP, double loss, Visit&& visit)
    {
        for (std::size_t g = 0; g < m_groups.size(); ++g) {
            const double dMax = maxGradient(g, otherPP, otherTP, loss);
            if (dMax == 0.0)
                continue;
            const GroupState& state = m_groups[g];
            const std::size_t begin = g * std::size_t(m_spec.groupSize);
            // Locate both extremes before anything moves.
            m_maxima.clear();
            m_minima.clear();
            locate(begin, state.hi, state.atMax, state.maxAt, m_maxima);
            locate(begin, state.lo, state.atMin, state.minAt, m_minima);
            for (std::size_t j : m_maxima)
                visit(j, dMax / state.atMax);
            for (std::size_t j : m_minima)
                visit(j, -dMax / state.atMin);
        }
    }

    // One SGD step: w -= lr dL/dw, with the gradient taken at the values forward() saw.
    void step(double otherPP, double otherTP, double loss)
    {
        forEachGradient(otherPP, otherTP, loss, [&](std::size_t j, double gradient) {
            m_w[j] -= float(m_spec.learningRate * gradient);
        });
    }

private:
    void extremes(std::size_t begin, std::size_t end, float& lo, float& hi) const
    {
        // Eigen's reductions use explicit SIMD min / max (exact, so the order does not matter);
        // GCC leaves a plain loop scalar here, and that loop was a third of the refinement's time.
        const Eigen::Map<const Eigen::ArrayXf> values(m_w.data() + begin,
                                                      Eigen::Index(end - begin));
        lo = values.minCoeff();
        hi = values.maxCoeff();
    }

    // The `count` positions from `begin` on holding `value`; `last` is the last of them.
    void locate(std::size_t begin, float value, int count, std::size_t last,
                std::vector<std::size_t>& positions) const
    {
        if (count == 1) {
            positions.push_back(last);
            return;
        }
        for (std::size_t j = begin; j <= last; ++j)
            if (m_w[j] == value)
                positions.push_back(j);
    }

    // Codes and the two sums of group `state`, and how many values sit at each extreme. One
    // vectorized pass (the OpenMP simd reduction lets the compiler keep partial sums per vector
    // lane; the order is fixed for a given build, so results never depend on the thread count).
    void sums(std::size_t begin, std::size_t end, GroupState& state) const
    {
        // (q - z)^2 are integers below 2^16: the partial sums are exact in float for groups up
        // to 1024 values; the products with the target carry float rounding only.
        float s2 = 0, sb = 0;
        int atMax = 0, atMin = 0, lastMax = 0, lastMin = 0;
        const float d = state.scale, z = state.zero, maxCode = m_maxCode;
        const float hi = state.hi, lo = state.lo;
        const float* w = m_w.data() + begin;
        const float* t = m_target.data() + begin;
        const int size = int(end - begin);
#pragma omp simd reduction(+ : s2, sb, atMax, atMin) reduction(max : lastMax, lastMin)
        for (int j = 0; j < size; ++j) {
            const float c = rtnCode(w[j], d, z, maxCode) - z;
            s2 += c * c;
            sb += c * t[j];
            atMax += w[j] == hi ? 1 : 0;
            atMin += w[j] == lo ? 1 : 0;
            lastMax = std::max(lastMax, w[j] == hi ? j : 0);
            lastMin = std::max(lastMin, w[j] == lo ? j : 0);
        }
        state.s2 = s2;
        state.sb = sb;
        state.atMax = atMax;
        state.atMin = atMin;
        state.maxAt = begin + std::size_t(lastMax);
        state.minAt = begin + std::size_t(lastMin);
    }

    std::span<const float> m_target;
    std::span<float> m_w;
    const PaperRefineSpec& m_spec;
    float m_maxCode;
    double m_targetSq = 0;
    double m_pp = 0, m_tp = 0;
    std::vector<GroupState> m_groups;
    std::vector<std::size_t> m_maxima, m_minima; // scratch for one group's extremes
};

// L = sqrt(|b|^2 |a|^2 - 2 (b.p)(a.q) + |p|^2 |q|^2), the difference clamped at 0 against
// cancellation in the last bits.
double lossOf(const Side& b, const Side& a)
{
    const double sq = b.targetSq() * a.targetSq() - 2.0 * b.tp() * a.tp() + b.pp() * a.pp();
    return std::sqrt(std::max(0.0, sq));
}

} // namespace

void paperRefineComponent(std::span<float> b, std::span<float> a, const PaperRefineSpec& spec)
{
    assert(spec.bits >= 1 && spec.bits <= 8 && spec.groupSize >= 1);
    const std::vector<float> bTarget(b.begin(), b.end());
    const std::vector<float> aTarget(a.begin(), a.end());
    Side sideB(bTarget, b, spec);
    Side sideA(aTarget, a, spec);
    for (int step = 0; step < spec.steps; ++step) {
        sideB.forward();
        sideA.forward();
        const double loss = lossOf(sideB, sideA);
        if (!(loss > 0))
            return;
        // Both gradients at the same point, then both updates (one optimizer step).
        const double bpp = sideB.pp(), btp = sideB.tp();
        sideB.step(sideA.pp(), sideA.tp(), loss);
        sideA.step(bpp, btp, loss);
    }
}

PaperGradient paperLossGradient(std::span<const float> bTarget, std::span<const float> aTarget,
                                std::span<const float> bCurrent, std::span<const float> aCurrent,
                                const PaperRefineSpec& spec)
{
    std::vector<float> b(bCurrent.begin(), bCurrent.end());
    std::vector<float> a(aCurrent.begin(), aCurrent.end());
    Side sideB(bTarget, b, spec);
    Side sideA(aTarget, a, spec);
    sideB.forward();
    sideA.forward();
    PaperGradient result;
    result.loss = lossOf(sideB, sideA);
    result.gradB.assign(b.size(), 0.0);
    result.gradA.assign(a.size(), 0.0);
    if (!(result.loss > 0))
        return result;
    sideB.forEachGradient(sideA.pp(), sideA.tp(), result.loss,
                          [&](std::size_t j, double g) { result.gradB[j] = g; });
    sideA.forEachGradient(sideB.pp(), sideB.tp(), result.loss,
                          [&](std::size_t j, double g) { result.gradA[j] = g; });
    return result;
}

} // namespace lq
