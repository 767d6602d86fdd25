// Delta-CoMe tiers, data-free (deltacome.h): the O(r) tier choice against a brute force over
// every tier boundary, the hand-computed bits of one component, the bit targets met, and the
// error falling as the target grows.

#include "core/engine/deltacome.h"

#include "core/engine/bitcount.h"
#include "core/engine/reparameterize.h"
#include "core/engine/updateerror.h"

#include <QTest>
#include <cmath>
#include <random>

using namespace lq;

namespace {

// The tier choice minimises a sum; the brute force adds the same terms in another order.
constexpr double kObjectiveTolerance = 1e-9;
// A wider target may keep the same tiers; the error can then only stay, never grow by more
// than rounding.
constexpr double kMonotoneSlack = 1e-9;

Eigen::MatrixXf randomMatrix(int rows, int cols, unsigned seed, float decay = 1.0f)
{
    std::mt19937 engine(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Eigen::MatrixXf x(rows, cols);
    for (Eigen::Index i = 0; i < x.size(); ++i)
        x.data()[i] = normal(engine);
    for (Eigen::Index c = 0; c < cols; ++c)
        x.col(c) *= std::pow(decay, float(c));
    return x;
}

double objective(const DeltaComeModuleTable& table, const DeltaComeTiers& tiers, double lambda)
{
    double value = 0;
    for (int i = 0; i < int(table.error.size()); ++i) {
        const int bits = tiers.bitsOf(i);
        const int w = bits == 8 ? 3 : bits == 3 ? 2 : bits == 2 ? 1 : 0;
        value += table.error[std::size_t(i)][std::size_t(w)] +
                 lambda * table.componentBits[std::size_t(w)];
    }
    return value;
}

} // namespace

class DeltaComeTest : public QObject
{
    Q_OBJECT

private slots:
    void componentBits()
    {
        // m = n = 128, one group per vector: b (m + n) code bits, 2 groups of (16 + b) bits.
        const ModuleReparam reparam =
            reparameterize(randomMatrix(128, 4, 1), randomMatrix(4, 128, 2));
        const DeltaComeModuleTable table = deltaComeTable(reparam);
        QCOMPARE(table.componentBits[0], 0.0);
        QCOMPARE(table.componentBits[1], 2.0 * 256 + 2 * (16 + 2));
        QCOMPARE(table.componentBits[2], 3.0 * 256 + 2 * (16 + 3));
        QCOMPARE(table.componentBits[3], 8.0 * 256 + 2 * (16 + 8));
        // Dropping a component costs its energy s_i^2; 8 bits cost less error than 2.
        for (int i = 0; i < 4; ++i) {
            const double s = reparam.singularValues[i];
            QVERIFY(std::fabs(table.error[std::size_t(i)][0] - s * s) <= 1e-4 * s * s);
            QVERIFY(table.error[std::size_t(i)][3] < table.error[std::size_t(i)][1]);
        }
        // A module quantized with tiers (1, 1, 1): one component of each width, one dropped.
        DeltaComeTiers tiers;
        tiers.k8 = tiers.k3 = tiers.k2 = 1;
        const BaselineFactors f = deltaComeModule(reparam, tiers);
        QCOMPARE(f.storedBits, table.componentBits[1] + table.componentBits[2] +
                                   table.componentBits[3] + kDeltaComeTierBits);
        QCOMPARE(f.codeBits, (8.0 + 3 + 2) * 256);
        QCOMPARE(f.B.col(3).norm(), 0.0f);
    }

    void tiersMatchBruteForce_data()
    {
        QTest::addColumn<double>("lambda");
        for (double lambda : {0.0, 1e-6, 1e-4, 1e-3, 1e-2, 1.0})
            QTest::addRow("%g", lambda) << lambda;
    }
    void tiersMatchBruteForce()
    {
        QFETCH(double, lambda);
        const ModuleReparam reparam =
            reparameterize(randomMatrix(96, 8, 3, 0.7f), randomMatrix(8, 160, 4));
        const DeltaComeModuleTable table = deltaComeTable(reparam);
        const DeltaComeTiers fast = deltaComeTiersFor(table, lambda);
        double best = std::numeric_limits<double>::infinity();
        for (int a = 0; a <= 8; ++a)
            for (int b = a; b <= 8; ++b)
                for (int c = b; c <= 8; ++c) {
                    DeltaComeTiers t;
                    t.k8 = a;
                    t.k3 = b - a;
                    t.k2 = c - b;
                    best = std::min(best, objective(table, t, lambda));
                }
        QVERIFY(objective(table, fast, lambda) <= best + kObjectiveTolerance * std::max(1.0, best));
    }

    void targetsMet_data()
    {
        QTest::addColumn<double>("bits");
        for (double bits : {0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0})
            QTest::addRow("%g", bits) << bits;
    }
    void targetsMet()
    {
        QFETCH(double, bits);
        std::vector<DeltaComeModuleTable> tables;
        std::vector<ModuleReparam> reparams;
        double parameters = 0;
        for (unsigned i = 0; i < 3; ++i) {
            reparams.push_back(reparameterize(randomMatrix(128, 8, 10 + i, 0.6f + 0.1f * float(i)),
                                              randomMatrix(8, 256, 20 + i)));
            tables.push_back(deltaComeTable(reparams.back()));
            parameters += 8.0 * (128 + 256);
        }
        const std::vector<DeltaComeTiers> tiers = deltaComeAllocate(tables, parameters, bits);
        double stored = 0;
        for (std::size_t i = 0; i < tiers.size(); ++i)
            stored += deltaComeModule(reparams[i], tiers[i]).storedBits + kModuleHeaderBits;
        // Headers and tier sizes alone are 3 * 152 bits: below that everything is dropped.
        if (bits * parameters >= 3.0 * (kModuleHeaderBits + kDeltaComeTierBits))
            QVERIFY2(stored <= bits * parameters,
                     qPrintable(QString("%1 > %2").arg(stored / parameters).arg(bits)));
        // At 8 bits the budget allows every component at 8 bits (8.19 per value): nearly.
        if (bits == 8.0) {
            int kept = 0;
            for (const DeltaComeTiers& t : tiers)
                kept += t.kept();
            QCOMPARE(kept, 24);
        }
    }

    void errorFallsWithTarget()
    {
        const Eigen::MatrixXf B = randomMatrix(128, 8, 7, 0.7f), A = randomMatrix(8, 256, 8);
        const ModuleReparam reparam = reparameterize(B, A);
        const std::vector<DeltaComeModuleTable> tables = {deltaComeTable(reparam)};
        double previous = std::numeric_limits<double>::infinity();
        for (double bits : {1.0, 2.0, 3.0, 4.0, 6.0, 9.0}) {
            const BaselineFactors f =
                deltaComeModule(reparam, deltaComeAllocate(tables, 8.0 * 384, bits)[0]);
            const double error = updateError(B, A, f.B, f.A).relative();
            QVERIFY2(error <= previous + kMonotoneSlack, qPrintable(QString::number(bits)));
            previous = error;
        }
        QVERIFY(previous < 0.01); // 9 bits pay for every component at 8 (8.19 per value)
    }
};

QTEST_GUILESS_MAIN(DeltaComeTest)
#include "deltacometest.moc"
