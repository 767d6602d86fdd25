// The low-rank SVD and the spectrum summaries that `inspect`, the workbench's spectrum plot and
// the split rules stand on. If the SVD is off, every h and every error downstream is off.

#include "core/engine/lowranksvd.h"
#include "core/engine/spectrumsummary.h"

#include <Eigen/SVD>
#include <QTest>
#include <random>

using namespace lq;

namespace {

// float32 arithmetic over O((m + n) r^2) terms: relative errors of a few hundred eps_float
// (1.2e-7) are rounding; a wrong formula is off by O(1).
constexpr double kReconstructionTolerance = 5e-5; // ||U S V^T - B A||_F / (||B||_F ||A||_F)
constexpr double kOrthonormalityTolerance = 1e-5; // max |U^T U - I| on non-zero components
constexpr double kSingularValueTolerance = 1e-5;  // |s_i - s_i(dense, double)| / s_1

Eigen::MatrixXf gaussian(int rows, int cols, std::mt19937& engine)
{
    // Uniform in [-1, 1) from the raw engine: distributions' outputs are implementation-defined.
    Eigen::MatrixXf x(rows, cols);
    for (Eigen::Index i = 0; i < x.size(); ++i)
        x.data()[i] = float(double(engine()) / 2147483648.0 - 1.0);
    return x;
}

} // namespace

class SpectrumTest : public QObject
{
    Q_OBJECT

private slots:
    void lowRankSvd_data();
    void lowRankSvd();
    void summary_data();
    void summary();
};

void SpectrumTest::lowRankSvd_data()
{
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("r");
    QTest::addColumn<int>("rankOfB"); // columns of B that are independent; the rest copy them
    QTest::newRow("square r=8") << 64 << 64 << 8 << 8;
    QTest::newRow("tall B, GQA-like") << 40 << 300 << 5 << 5;
    QTest::newRow("rank 1 fused QKV-like") << 96 << 32 << 1 << 1;
    QTest::newRow("r > m") << 6 << 50 << 8 << 6;
    QTest::newRow("rank-deficient B") << 80 << 70 << 6 << 3;
    QTest::newRow("zero update") << 30 << 20 << 4 << 0;
}

void SpectrumTest::lowRankSvd()
{
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(int, r);
    QFETCH(int, rankOfB);
    std::mt19937 engine(1234u + unsigned(m * 31 + n * 7 + r));
    Eigen::MatrixXf B = gaussian(m, r, engine);
    for (int j = rankOfB; j < r; ++j)
        B.col(j) = rankOfB ? Eigen::VectorXf(B.col(j % rankOfB) * 0.5f)
                           : Eigen::VectorXf(Eigen::VectorXf::Zero(m));
    const Eigen::MatrixXf A = gaussian(r, n, engine);

    const LowRankSvd svd = lq::lowRankSvd(B, A);
    QCOMPARE(svd.U.rows(), Eigen::Index(m));
    QCOMPARE(svd.U.cols(), Eigen::Index(r));
    QCOMPARE(svd.V.rows(), Eigen::Index(n));
    QCOMPARE(svd.V.cols(), Eigen::Index(r));
    QCOMPARE(svd.S.size(), Eigen::Index(r));
    QVERIFY(svd.U.allFinite() && svd.V.allFinite() && svd.S.allFinite());

    const Eigen::MatrixXd dense = B.cast<double>() * A.cast<double>();
    const Eigen::MatrixXd rebuilt =
        svd.U.cast<double>() * svd.S.cast<double>().asDiagonal() * svd.V.cast<double>().transpose();
    const double scale = std::max(1e-30, double(B.norm()) * A.norm());
    QVERIFY2((rebuilt - dense).norm() / scale < kReconstructionTolerance,
             qPrintable(QString::number((rebuilt - dense).norm() / scale)));

    const Eigen::VectorXd reference = Eigen::JacobiSVD<Eigen::MatrixXd>(dense).singularValues();
    const double s1 = std::max(1e-30, reference[0]);
    for (int i = 0; i < r; ++i) {
        QVERIFY(svd.S[i] >= 0);
        if (i > 0)
            QVERIFY(svd.S[i] <= svd.S[i - 1]);
        const double expected = i < reference.size() ? reference[i] : 0.0;
        QVERIFY2(std::abs(svd.S[i] - expected) / s1 < kSingularValueTolerance,
                 qPrintable(QString("s_%1 = %2, expected %3").arg(i).arg(svd.S[i]).arg(expected)));
    }
    // Components that carry energy have orthonormal vectors and the deterministic sign.
    const int nonZero = int((svd.S.array() > 1e-5f * float(s1)).count());
    const Eigen::MatrixXf gramU = svd.U.leftCols(nonZero).transpose() * svd.U.leftCols(nonZero);
    const Eigen::MatrixXf gramV = svd.V.leftCols(nonZero).transpose() * svd.V.leftCols(nonZero);
    const Eigen::MatrixXf identity = Eigen::MatrixXf::Identity(nonZero, nonZero);
    QVERIFY(nonZero == 0 || (gramU - identity).cwiseAbs().maxCoeff() < kOrthonormalityTolerance);
    QVERIFY(nonZero == 0 || (gramV - identity).cwiseAbs().maxCoeff() < kOrthonormalityTolerance);
    for (int i = 0; i < nonZero; ++i) {
        Eigen::Index at = 0;
        svd.U.col(i).cwiseAbs().maxCoeff(&at);
        QVERIFY(svd.U(at, i) > 0);
    }
    // The values-only variant agrees with the full one.
    const Eigen::VectorXf values = lowRankSingularValues(B, A);
    QVERIFY((values - svd.S).cwiseAbs().maxCoeff() <= kSingularValueTolerance * s1);
}

void SpectrumTest::summary_data()
{
    QTest::addColumn<QList<double>>("values");
    QTest::addColumn<double>("top");
    QTest::addColumn<int>("k80");
    QTest::addColumn<int>("k90");
    // energies 4, 1: the top component holds exactly 80%
    QTest::newRow("exactly 80% in one") << QList<double>{2, 1} << 0.8 << 1 << 2;
    QTest::newRow("flat") << QList<double>{1, 1, 1, 1} << 0.25 << 4 << 4;
    QTest::newRow("one component") << QList<double>{3, 0, 0} << 1.0 << 1 << 1;
    // energies 1, .25, .25, .01 of 1.51: cumulative .662, .828, .993
    QTest::newRow("decaying") << QList<double>{1, 0.5, 0.5, 0.1} << 1.0 / 1.51 << 2 << 3;
    QTest::newRow("zero update") << QList<double>{0, 0} << 0.0 << 0 << 0;
}

void SpectrumTest::summary()
{
    QFETCH(QList<double>, values);
    QFETCH(double, top);
    QFETCH(int, k80);
    QFETCH(int, k90);
    Eigen::VectorXf s(values.size());
    for (int i = 0; i < values.size(); ++i)
        s[i] = float(values[i]);
    const SpectrumSummary summary = summarizeSpectrum(s);
    QCOMPARE(summary.singularValues.size(), std::size_t(values.size()));
    QVERIFY(std::abs(summary.topShare - top) < 1e-6); // float inputs, double sums
    QCOMPARE(summary.componentsFor80, k80);
    QCOMPARE(summary.componentsFor90, k90);
}

QTEST_APPLESS_MAIN(SpectrumTest)
#include "spectrumtest.moc"
