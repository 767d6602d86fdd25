// Rank truncation (ranktruncation.h): a hand-computed module (known singular values, so known
// error and bits), the energy rule, the budget allocation against a brute-force search, and
// the error against a slow dense reference (full SVD of the m x n product), by k.

#include "core/engine/ranktruncation.h"

#include "core/engine/bitcount.h"
#include "core/engine/reparameterize.h"
#include "core/engine/updateerror.h"

#include <Eigen/SVD>
#include <QTest>
#include <random>

using namespace lq;

namespace {

// fp16 storage of the kept factors: about 2^-11 relative per value, so the error of a kept
// component is a few 1e-4 of its norm; the dense reference's own float error is below that.
constexpr double kHalfStorageTolerance = 2e-3;

Eigen::MatrixXf randomMatrix(int rows, int cols, unsigned seed)
{
    std::mt19937 engine(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Eigen::MatrixXf x(rows, cols);
    for (Eigen::Index i = 0; i < x.size(); ++i)
        x.data()[i] = normal(engine);
    return x;
}

} // namespace

class RankTruncationTest : public QObject
{
    Q_OBJECT

private slots:
    void handComputedModule()
    {
        // B A = diag(3, 1) padded: singular values 3 and 1, energy 9 + 1.
        Eigen::MatrixXf B = Eigen::MatrixXf::Zero(3, 2), A = Eigen::MatrixXf::Zero(2, 3);
        B(0, 0) = 3;
        B(1, 1) = 1;
        A(0, 0) = 1;
        A(1, 1) = 1;
        const ModuleReparam reparam = reparameterize(B, A);
        const BaselineFactors k1 = truncateModule(reparam, 1);
        QCOMPARE(k1.B.cols(), Eigen::Index(2)); // the rank stays r, the dropped column zero
        QCOMPARE(k1.B.col(1).norm(), 0.0f);
        // 16 bits for each of the 3 + 3 values of one component.
        QCOMPARE(k1.storedBits, 96.0);
        QCOMPARE(k1.codeBits, 96.0);
        QVERIFY(std::fabs(updateError(B, A, k1.B, k1.A).relative() - std::sqrt(0.1)) < 1e-6);
        // Both kept: only the fp16 rounding of sqrt(3) remains.
        const BaselineFactors k2 = truncateModule(reparam, 2);
        QVERIFY(updateError(B, A, k2.B, k2.A).relative() < kHalfStorageTolerance);
        QCOMPARE(truncateModule(reparam, 9).storedBits, 192.0); // clamped to r

        // Energy shares 0.9 and 1.0.
        QCOMPARE(truncationRankForEnergy(reparam.singularValues, 0.9), 1);
        QCOMPARE(truncationRankForEnergy(reparam.singularValues, 0.91), 2);
        QCOMPARE(truncationRankForEnergy(Eigen::VectorXf::Zero(2), 0.9), 0);
    }

    void budgetMatchesBruteForce_data()
    {
        QTest::addColumn<double>("bits");
        for (double bits : {0.5, 1.0, 2.0, 4.0, 8.0, 16.0})
            QTest::addRow("%g", bits) << bits;
    }
    void budgetMatchesBruteForce()
    {
        // Three modules of different shapes and spectra; every combination of prefixes.
        QFETCH(double, bits);
        const std::vector<Eigen::VectorXf> spectra = {
            (Eigen::VectorXf(3) << 5, 2, 0.5).finished(),
            (Eigen::VectorXf(3) << 4, 3, 1).finished(),
            (Eigen::VectorXf(3) << 1, 0.9, 0.8).finished()};
        const std::vector<std::pair<int, int>> shapes = {{64, 64}, {128, 32}, {32, 32}};
        const std::vector<int> ranks = truncationRanksForBudget(spectra, shapes, bits);
        double parameters = 0;
        for (std::size_t i = 0; i < shapes.size(); ++i)
            parameters += 3.0 * (shapes[i].first + shapes[i].second);
        const auto cost = [&](const std::vector<int>& k) {
            double total = 3.0 * kModuleHeaderBits;
            for (std::size_t i = 0; i < k.size(); ++i)
                total += 16.0 * k[i] * (shapes[i].first + shapes[i].second);
            return total;
        };
        const auto kept = [&](const std::vector<int>& k) {
            double energy = 0;
            for (std::size_t i = 0; i < k.size(); ++i)
                for (int c = 0; c < k[i]; ++c)
                    energy += double(spectra[i][c]) * spectra[i][c];
            return energy;
        };
        QVERIFY(cost(ranks) <= bits * parameters);
        double best = 0;
        for (int a = 0; a <= 3; ++a)
            for (int b = 0; b <= 3; ++b)
                for (int c = 0; c <= 3; ++c)
                    if (cost({a, b, c}) <= bits * parameters)
                        best = std::max(best, kept({a, b, c}));
        // Greedy by energy per bit is optimal up to the one component that did not fit: its
        // energy is at most the largest single component's, 25. (The budgets here all exceed
        // the three headers, 384 bits of 1056 parameters.)
        QVERIFY2(kept(ranks) >= best - 25.0, qPrintable(QString::number(kept(ranks))));
    }

    void matchesDenseReference_data()
    {
        QTest::addColumn<int>("k");
        for (int k : {0, 1, 3, 8})
            QTest::addRow("k=%d", k) << k;
    }
    void matchesDenseReference()
    {
        QFETCH(int, k);
        const Eigen::MatrixXf B = randomMatrix(40, 8, 1), A = randomMatrix(8, 30, 2);
        const BaselineFactors t = truncateModule(reparameterize(B, A), k);
        // The reference: full SVD of the 40 x 30 product, error of the best rank-k approximation.
        const Eigen::MatrixXd M = (B * A).cast<double>();
        const Eigen::JacobiSVD<Eigen::MatrixXd> svd(M);
        const Eigen::VectorXd s = svd.singularValues();
        const double reference = std::sqrt(s.tail(s.size() - k).squaredNorm() / s.squaredNorm());
        const double error = updateError(B, A, t.B, t.A).relative();
        QVERIFY2(std::fabs(error - reference) < kHalfStorageTolerance,
                 qPrintable(QString("%1 vs %2").arg(error).arg(reference)));
        QCOMPARE(t.storedBits, 16.0 * k * (40 + 30));
    }
};

QTEST_GUILESS_MAIN(RankTruncationTest)
#include "ranktruncationtest.moc"
