#include "core/engine/ranktruncation.h"

#include "core/engine/bitcount.h"
#include "core/engine/quantizer.h"

#include <algorithm>
#include <numeric>

namespace lq {

BaselineFactors truncateModule(const ModuleReparam& reparam, int k)
{
    const Eigen::Index m = reparam.Bp.rows(), n = reparam.Ap.cols(), r = reparam.Bp.cols();
    k = std::clamp(k, 0, int(r));
    BaselineFactors out;
    out.B = Eigen::MatrixXf::Zero(m, r);
    out.A = Eigen::MatrixXf::Zero(r, n);
    const auto half = [](float x) { return storedScale(x, ScaleFormat::F16); };
    out.B.leftCols(k) = reparam.Bp.leftCols(k).unaryExpr(half);
    out.A.topRows(k) = reparam.Ap.topRows(k).unaryExpr(half);
    out.codeBits = 16.0 * double(k) * double(m + n);
    out.storedBits = out.codeBits;
    return out;
}

int truncationRankForEnergy(const Eigen::VectorXf& singularValues, double ratio)
{
    double total = 0;
    for (float s : singularValues)
        total += double(s) * s;
    if (!(total > 0))
        return 0;
    double sum = 0;
    for (Eigen::Index i = 0; i < singularValues.size(); ++i) {
        sum += double(singularValues[i]) * singularValues[i];
        if (sum >= ratio * total)
            return int(i) + 1;
    }
    return int(singularValues.size());
}

std::vector<int> truncationRanksForBudget(const std::vector<Eigen::VectorXf>& spectra,
                                          const std::vector<std::pair<int, int>>& shapes,
                                          double bitsPerParameter)
{
    struct Candidate
    {
        double gainPerBit;
        std::size_t module;
        int component;
    };
    std::vector<Candidate> candidates;
    double parameters = 0;
    for (std::size_t i = 0; i < spectra.size(); ++i) {
        const double length = double(shapes[i].first) + shapes[i].second;
        parameters += length * double(spectra[i].size());
        for (Eigen::Index c = 0; c < spectra[i].size(); ++c)
            candidates.push_back(
                {double(spectra[i][c]) * spectra[i][c] / (16.0 * length), i, int(c)});
    }
    // Largest gain first; ties by module, then component, so that each module's picks stay a
    // prefix and the result does not depend on the sort's stability.
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
        if (a.gainPerBit != b.gainPerBit)
            return a.gainPerBit > b.gainPerBit;
        if (a.module != b.module)
            return a.module < b.module;
        return a.component < b.component;
    });
    std::vector<int> ranks(spectra.size(), 0);
    double bits = double(kModuleHeaderBits) * double(spectra.size());
    const double allowed = bitsPerParameter * parameters;
    for (const Candidate& c : candidates) {
        if (!(c.gainPerBit > 0))
            break;
        if (ranks[c.module] != c.component)
            continue; // an earlier component of this module did not fit: keep a prefix
        const double cost = 16.0 * (double(shapes[c.module].first) + shapes[c.module].second);
        if (bits + cost > allowed)
            continue;
        bits += cost;
        ++ranks[c.module];
    }
    return ranks;
}

} // namespace lq
