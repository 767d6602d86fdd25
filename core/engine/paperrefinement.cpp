#include "paperrefinement.h"

#include "quantizer.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace lq {
namespace {

// Inner loops run over kLanes independent accumulators so that the compiler vectorizes them
// without reassociating float sums (no -ffast-math); the lane order is fixed, so results do not
// depend on the machine's vector width.
constexpr int kLanes = 8;

struct GroupState
{
    float lo = 0, hi = 0; // extremes of the current values
    float scale = 0, zero = 0;
    double s2 = 0;      // sum (q_j - z)^2
    double sb = 0;      // sum (q_j - z) t_j, t the target
    bool moves = false; // max - min >= 1e-5: the clamp passes the gradient
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
    void forEachGradient(double otherPP, double otherTP, double loss, Visit&& visit) const
    {
        for (std::size_t g = 0; g < m_groups.size(); ++g) {
            const double dMax = maxGradient(g, otherPP, otherTP, loss);
            if (dMax == 0.0)
                continue;
            const GroupState& state = m_groups[g];
            const std::size_t begin = g * std::size_t(m_spec.groupSize);
            const std::size_t end = std::min(begin + std::size_t(m_spec.groupSize), m_w.size());
            int atMax = 0, atMin = 0;
            for (std::size_t j = begin; j < end; ++j) {
                atMax += m_w[j] == state.hi;
                atMin += m_w[j] == state.lo;
            }
            for (std::size_t j = begin; j < end; ++j) {
                if (m_w[j] == state.hi)
                    visit(j, dMax / atMax);
                else if (m_w[j] == state.lo)
                    visit(j, -dMax / atMin);
            }
        }
    }

    // One SGD step: w -= lr dL/dw, with the gradient taken at the values forward() saw. The
    // extremes are updated after all of a group's gradients are known, so ties stay split evenly.
    void step(double otherPP, double otherTP, double loss)
    {
        m_updates.clear();
        forEachGradient(otherPP, otherTP, loss, [&](std::size_t j, double gradient) {
            m_updates.push_back({j, float(m_spec.learningRate * gradient)});
        });
        for (const Update& u : m_updates)
            m_w[u.index] -= u.delta;
    }

private:
    void extremes(std::size_t begin, std::size_t end, float& lo, float& hi) const
    {
        float los[kLanes], his[kLanes];
        std::fill(los, los + kLanes, m_w[begin]);
        std::fill(his, his + kLanes, m_w[begin]);
        std::size_t j = begin;
        for (; j + kLanes <= end; j += kLanes)
            for (int l = 0; l < kLanes; ++l) {
                const float v = m_w[j + std::size_t(l)];
                los[l] = v < los[l] ? v : los[l];
                his[l] = v > his[l] ? v : his[l];
            }
        for (; j < end; ++j) {
            los[0] = m_w[j] < los[0] ? m_w[j] : los[0];
            his[0] = m_w[j] > his[0] ? m_w[j] : his[0];
        }
        lo = *std::min_element(los, los + kLanes);
        hi = *std::max_element(his, his + kLanes);
    }

    void sums(std::size_t begin, std::size_t end, GroupState& state) const
    {
        // (q - z)^2 are integers below 2^16, and a lane holds at most ceil(g / 8) of them: exact
        // in float for g <= 2048; the products with the target carry float rounding only.
        float s2[kLanes] = {}, sb[kLanes] = {};
        const float d = state.scale, z = state.zero;
        std::size_t j = begin;
        for (; j + kLanes <= end; j += kLanes)
            for (int l = 0; l < kLanes; ++l) {
                const std::size_t at = j + std::size_t(l);
                const float c = rtnCode(m_w[at], d, z, m_maxCode) - z;
                s2[l] += c * c;
                sb[l] += c * m_target[at];
            }
        for (; j < end; ++j) {
            const float c = rtnCode(m_w[j], d, z, m_maxCode) - z;
            s2[0] += c * c;
            sb[0] += c * m_target[j];
        }
        state.s2 = 0;
        state.sb = 0;
        for (int l = 0; l < kLanes; ++l) {
            state.s2 += s2[l];
            state.sb += sb[l];
        }
    }

    struct Update
    {
        std::size_t index;
        float delta;
    };

    std::span<const float> m_target;
    std::span<float> m_w;
    const PaperRefineSpec& m_spec;
    float m_maxCode;
    double m_targetSq = 0;
    double m_pp = 0, m_tp = 0;
    std::vector<GroupState> m_groups;
    std::vector<Update> m_updates;
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
