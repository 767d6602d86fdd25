#include "core/engine/deltacome.h"

#include "core/engine/bitcount.h"
#include "core/engine/quantizer.h"

#include <cmath>

namespace lq {
namespace {

constexpr GroupSpec kSpec{kDeltaComeGroupSize, GroupLayout::PerComponent, ScaleFormat::F16};

// Column i of B' and row i of A', quantized with `bits`.
struct QuantizedComponent
{
    QuantizedVectors b, a;
};

QuantizedComponent quantizeComponent(const ModuleReparam& reparam, int i, int bits)
{
    const Eigen::VectorXf column = reparam.Bp.col(i);
    const Eigen::VectorXf row = reparam.Ap.row(i).transpose();
    return {quantizeRtn({column.data(), std::size_t(column.size())}, 1, int(column.size()), bits,
                        kSpec),
            quantizeRtn({row.data(), std::size_t(row.size())}, 1, int(row.size()), bits, kSpec)};
}

double moduleBits(const DeltaComeModuleTable& table, const DeltaComeTiers& tiers)
{
    return tiers.k8 * table.componentBits[3] + tiers.k3 * table.componentBits[2] +
           tiers.k2 * table.componentBits[1] + kDeltaComeTierBits + kModuleHeaderBits;
}

} // namespace

int DeltaComeTiers::bitsOf(int component) const
{
    if (component < k8)
        return 8;
    if (component < k8 + k3)
        return 3;
    if (component < k8 + k3 + k2)
        return 2;
    return 0;
}

DeltaComeModuleTable deltaComeTable(const ModuleReparam& reparam)
{
    const int r = int(reparam.Bp.cols());
    DeltaComeModuleTable table;
    table.error.resize(std::size_t(r));
    for (int i = 0; i < r; ++i) {
        const Eigen::VectorXd b = reparam.Bp.col(i).cast<double>();
        const Eigen::VectorXd a = reparam.Ap.row(i).transpose().cast<double>();
        table.error[std::size_t(i)][0] = b.squaredNorm() * a.squaredNorm();
        for (int w = 1; w < 4; ++w) {
            const int bits = kDeltaComeBits[std::size_t(3 - w)];
            const QuantizedComponent q = quantizeComponent(reparam, i, bits);
            const std::vector<float> bq = q.b.dequantizeAll(), aq = q.a.dequantizeAll();
            const Eigen::VectorXd bh =
                Eigen::Map<const Eigen::VectorXf>(bq.data(), Eigen::Index(bq.size()))
                    .cast<double>();
            const Eigen::VectorXd ah =
                Eigen::Map<const Eigen::VectorXf>(aq.data(), Eigen::Index(aq.size()))
                    .cast<double>();
            // ||b a^T - bh ah^T||^2 = |b|^2 |a|^2 - 2 (b.bh)(a.ah) + |bh|^2 |ah|^2
            table.error[std::size_t(i)][std::size_t(w)] =
                std::max(0.0, b.squaredNorm() * a.squaredNorm() - 2.0 * b.dot(bh) * a.dot(ah) +
                                  bh.squaredNorm() * ah.squaredNorm());
            if (i == 0)
                table.componentBits[std::size_t(w)] = q.b.trueBits() + q.a.trueBits();
        }
    }
    if (r == 0) {
        // No component to measure: the per-component bits still follow from the shapes.
        for (int w = 1; w < 4; ++w) {
            const int bits = kDeltaComeBits[std::size_t(3 - w)];
            const auto one = [&](Eigen::Index length) {
                const double groups = std::ceil(double(length) / kDeltaComeGroupSize);
                return double(length) * bits + groups * (16.0 + bits);
            };
            table.componentBits[std::size_t(w)] = one(reparam.Bp.rows()) + one(reparam.Ap.cols());
        }
    }
    return table;
}

DeltaComeTiers deltaComeTiersFor(const DeltaComeModuleTable& table, double lambda)
{
    // With boundaries a <= b <= c (8-bit [0, a), 3-bit [a, b), 2-bit [b, c), dropped [c, r)):
    //   error + lambda bits = g8(a) + g3(b) + g2(c) + const, with prefix sums P_w:
    //   g8(a) = P8[a] - P3[a] + lambda (c8 - c3) a, g3(b) = P3[b] - P2[b] + lambda (c3 - c2) b,
    //   g2(c) = P2[c] - P0[c] + lambda c2 c.
    // Minimised over a <= b <= c with running minima of g8 and of min(g8) + g3.
    const int r = int(table.error.size());
    std::array<std::vector<double>, 4> prefix;
    for (auto& p : prefix)
        p.assign(std::size_t(r) + 1, 0.0);
    for (int i = 0; i < r; ++i)
        for (std::size_t w = 0; w < 4; ++w)
            prefix[w][std::size_t(i) + 1] =
                prefix[w][std::size_t(i)] + table.error[std::size_t(i)][w];
    const auto& c = table.componentBits;
    const auto g8 = [&](int a) { return prefix[3][a] - prefix[2][a] + lambda * (c[3] - c[2]) * a; };
    const auto g3 = [&](int b) { return prefix[2][b] - prefix[1][b] + lambda * (c[2] - c[1]) * b; };
    const auto g2 = [&](int k) { return prefix[1][k] - prefix[0][k] + lambda * c[1] * k; };
    double best8 = g8(0), best83 = best8 + g3(0), best = best83 + g2(0);
    int arg8 = 0;
    std::pair<int, int> arg83 = {0, 0};
    DeltaComeTiers tiers;
    for (int k = 0; k <= r; ++k) {
        if (const double v = g8(k); v < best8) {
            best8 = v;
            arg8 = k;
        }
        if (const double v = best8 + g3(k); v < best83) {
            best83 = v;
            arg83 = {arg8, k};
        }
        if (const double v = best83 + g2(k); v < best) {
            best = v;
            tiers.k8 = arg83.first;
            tiers.k3 = arg83.second - arg83.first;
            tiers.k2 = k - arg83.second;
        }
    }
    return tiers;
}

BaselineFactors deltaComeModule(const ModuleReparam& reparam, const DeltaComeTiers& tiers)
{
    const Eigen::Index m = reparam.Bp.rows(), n = reparam.Ap.cols(), r = reparam.Bp.cols();
    BaselineFactors out;
    out.B = Eigen::MatrixXf::Zero(m, r);
    out.A = Eigen::MatrixXf::Zero(r, n);
    for (int i = 0; i < int(r); ++i) {
        const int bits = tiers.bitsOf(i);
        if (bits == 0)
            continue;
        const QuantizedComponent q = quantizeComponent(reparam, i, bits);
        q.b.dequantizeInto(out.B.col(i).data());
        const std::vector<float> a = q.a.dequantizeAll();
        out.A.row(i) = Eigen::Map<const Eigen::RowVectorXf>(a.data(), Eigen::Index(a.size()));
        out.codeBits += q.b.paperBits() + q.a.paperBits();
        out.storedBits += q.b.trueBits() + q.a.trueBits();
    }
    out.storedBits += kDeltaComeTierBits;
    return out;
}

std::vector<DeltaComeTiers> deltaComeAllocate(const std::vector<DeltaComeModuleTable>& tables,
                                              double parameters, double bitsPerParameter)
{
    const double allowed = bitsPerParameter * parameters;
    const auto allocate = [&](double lambda, double& bits) {
        std::vector<DeltaComeTiers> tiers(tables.size());
        bits = 0;
        for (std::size_t i = 0; i < tables.size(); ++i) {
            tiers[i] = deltaComeTiersFor(tables[i], lambda);
            bits += moduleBits(tables[i], tiers[i]);
        }
        return tiers;
    };
    // lambda in error per bit: from "every bit is free" to "no bit is worth any error". The
    // errors are relative to the adapter's energy, so the range spans it.
    double energy = 0;
    for (const auto& table : tables)
        for (const auto& e : table.error)
            energy += e[0];
    double bits = 0;
    std::vector<DeltaComeTiers> best = allocate(0.0, bits);
    if (bits <= allowed)
        return best;
    if (!(energy > 0))
        return std::vector<DeltaComeTiers>(tables.size()); // a zero update: nothing worth bits
    double lo = std::log(energy) - 80.0, hi = std::log(energy) + 10.0; // log lambda
    // At the upper end a bit costs more than the whole update's energy: everything is dropped.
    best = allocate(std::exp(hi), bits);
    if (bits > allowed)
        return best; // even that is over the budget
    for (int step = 0; step < 100; ++step) {
        const double mid = 0.5 * (lo + hi);
        std::vector<DeltaComeTiers> tiers = allocate(std::exp(mid), bits);
        if (bits <= allowed) {
            hi = mid;
            best = std::move(tiers);
        } else {
            lo = mid;
        }
    }
    return best;
}

} // namespace lq
