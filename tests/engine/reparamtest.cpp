// The SVD reparameterization B' = U S^(1/2), A' = S^(1/2) V^T (METHOD 1) that everything after it
// quantizes. If B' A' drifts from B A, every error is measured against the wrong update; if the
// sign convention wobbles, two runs on the same adapter give different codes.

#include "core/engine/reparameterize.h"

#include <Eigen/LU>
#include <Eigen/QR>
#include <QTest>
#include <random>

using namespace lq;

namespace {

// float32 QR and r x r SVD over O((m + n) r^2) terms: the reconstruction is good to a few
// hundred eps_float relative (~1e-6 measured); 1e-5 is the bound.
constexpr double kReconstructionTolerance = 1e-5; // ||B'A' - BA||_F / ||BA||_F
// Two parameterizations of the same update give the same components up to float rounding of
// two different QR factorizations: 1e-4 relative to the component's norm, with a gap between
// singular values of at least 10% (otherwise components may rotate into each other).
constexpr double kSameComponentTolerance = 1e-4;
// B'^T B' = diag(s) and A' A'^T = diag(s): off-diagonal terms relative to s_1.
constexpr double kOrthogonalityTolerance = 1e-5;

Eigen::MatrixXf uniform(int rows, int cols, std::mt19937& engine)
{
    Eigen::MatrixXf x(rows, cols);
    for (Eigen::Index i = 0; i < x.size(); ++i)
        x.data()[i] = float(double(engine()) / 2147483648.0 - 1.0);
    return x;
}

// B (m x r) and A (r x n) with B A = U diag(s) V^T for the given, well separated s.
std::pair<Eigen::MatrixXf, Eigen::MatrixXf> withSpectrum(int m, int n, const std::vector<double>& s,
                                                         std::mt19937& engine)
{
    const int r = int(s.size());
    const Eigen::MatrixXd U = uniform(m, r, engine).cast<double>().householderQr().householderQ() *
                              Eigen::MatrixXd::Identity(m, r);
    const Eigen::MatrixXd V = uniform(n, r, engine).cast<double>().householderQr().householderQ() *
                              Eigen::MatrixXd::Identity(n, r);
    Eigen::VectorXd root(r);
    for (int i = 0; i < r; ++i)
        root[i] = std::sqrt(s[std::size_t(i)]);
    return {(U * root.asDiagonal()).cast<float>(),
            (root.asDiagonal() * V.transpose()).cast<float>()};
}

double relativeReconstruction(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                              const ModuleReparam& p)
{
    const Eigen::MatrixXd dense = B.cast<double>() * A.cast<double>();
    const Eigen::MatrixXd rebuilt = p.Bp.cast<double>() * p.Ap.cast<double>();
    const double norm = dense.norm();
    return norm > 0 ? (rebuilt - dense).norm() / norm : rebuilt.norm();
}

} // namespace

class ReparamTest : public QObject
{
    Q_OBJECT

private slots:
    void reconstructs_data();
    void reconstructs();
    void sameUpdateSameComponents_data();
    void sameUpdateSameComponents();
    void zeroAndRankDeficient_data();
    void zeroAndRankDeficient();
};

void ReparamTest::reconstructs_data()
{
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("r");
    QTest::newRow("square r 8") << 256 << 256 << 8;
    QTest::newRow("GQA-like, m < n") << 64 << 512 << 4;
    QTest::newRow("fused QKV-like, rank 1") << 384 << 128 << 1;
    QTest::newRow("MLP-like, m > n") << 700 << 200 << 16;
    QTest::newRow("r > m") << 6 << 40 << 8;
}

// B' A' = B A, components ordered by s and orthogonal, each carrying energy s_i^2.
void ReparamTest::reconstructs()
{
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(int, r);
    std::mt19937 engine(7u * unsigned(m) + unsigned(n) + unsigned(r));
    const Eigen::MatrixXf B = uniform(m, r, engine) * 0.05f;
    const Eigen::MatrixXf A = uniform(r, n, engine) * 0.02f;
    const ModuleReparam p = reparameterize(B, A);
    QCOMPARE(p.Bp.rows(), Eigen::Index(m));
    QCOMPARE(p.Bp.cols(), Eigen::Index(r));
    QCOMPARE(p.Ap.rows(), Eigen::Index(r));
    QCOMPARE(p.Ap.cols(), Eigen::Index(n));
    QVERIFY(p.Bp.allFinite() && p.Ap.allFinite());
    const double error = relativeReconstruction(B, A, p);
    QVERIFY2(error < kReconstructionTolerance, qPrintable(QString::number(error)));

    const Eigen::VectorXf& s = p.singularValues;
    for (int i = 1; i < r; ++i)
        QVERIFY(s[i] <= s[i - 1]);
    const Eigen::MatrixXd gramB = p.Bp.cast<double>().transpose() * p.Bp.cast<double>();
    const Eigen::MatrixXd gramA = p.Ap.cast<double>() * p.Ap.cast<double>().transpose();
    const Eigen::MatrixXd expected = s.cast<double>().asDiagonal();
    QVERIFY((gramB - expected).cwiseAbs().maxCoeff() <= kOrthogonalityTolerance * s[0]);
    QVERIFY((gramA - expected).cwiseAbs().maxCoeff() <= kOrthogonalityTolerance * s[0]);
}

void ReparamTest::sameUpdateSameComponents_data()
{
    QTest::addColumn<QString>("change");
    QTest::newRow("components permuted") << "permute";
    QTest::newRow("component signs flipped") << "flip";
    QTest::newRow("mixed by an invertible r x r matrix") << "mix";
}

// B A = (B M)(M^-1 A) for any invertible M: in particular a permutation of the original
// components or sign flips. The reparameterization depends on the update only, so it must
// give the same B' and A' (sign convention included) for all of them.
void ReparamTest::sameUpdateSameComponents()
{
    QFETCH(QString, change);
    const int m = 300, n = 200;
    const std::vector<double> s{9.0, 4.0, 2.0, 1.0, 0.5, 0.2};
    const int r = int(s.size());
    std::mt19937 engine(99);
    const auto [B, A] = withSpectrum(m, n, s, engine);

    Eigen::MatrixXf M = Eigen::MatrixXf::Identity(r, r);
    if (change == "permute") {
        Eigen::PermutationMatrix<Eigen::Dynamic> P(r);
        P.indices() << 3, 0, 5, 1, 4, 2;
        M = P.toDenseMatrix().cast<float>();
    } else if (change == "flip") {
        M.diagonal() << -1, 1, -1, -1, 1, -1;
    } else {
        // well conditioned: identity plus a small random part
        M += 0.3f * uniform(r, r, engine);
    }
    const Eigen::MatrixXf B2 = B * M;
    const Eigen::MatrixXf A2 = M.inverse() * A;

    const ModuleReparam p1 = reparameterize(B, A);
    const ModuleReparam p2 = reparameterize(B2, A2);
    for (int i = 0; i < r; ++i) {
        const double scale = std::sqrt(s[std::size_t(i)]);
        const double db = (p1.Bp.col(i) - p2.Bp.col(i)).norm() / scale;
        const double da = (p1.Ap.row(i) - p2.Ap.row(i)).norm() / scale;
        QVERIFY2(db < kSameComponentTolerance && da < kSameComponentTolerance,
                 qPrintable(QString("component %1: |dB'| %2, |dA'| %3").arg(i).arg(db).arg(da)));
        // the deterministic sign: the largest-magnitude entry of each column of B' is positive
        Eigen::Index at = 0;
        p1.Bp.col(i).cwiseAbs().maxCoeff(&at);
        QVERIFY(p1.Bp(at, i) > 0);
    }
}

void ReparamTest::zeroAndRankDeficient_data()
{
    QTest::addColumn<int>("rankOfB");
    QTest::addColumn<bool>("zeroA");
    QTest::newRow("all-zero B (fresh LoRA)") << 0 << false;
    QTest::newRow("all-zero A") << 4 << true;
    QTest::newRow("B of rank 2 of 4") << 2 << false;
}

// Zero singular values: B' and A' are finite, zero where s is zero, and still reproduce B A.
void ReparamTest::zeroAndRankDeficient()
{
    QFETCH(int, rankOfB);
    QFETCH(bool, zeroA);
    const int m = 50, n = 40, r = 4;
    std::mt19937 engine(5);
    Eigen::MatrixXf B = uniform(m, r, engine);
    for (int j = rankOfB; j < r; ++j)
        B.col(j) = rankOfB ? Eigen::VectorXf(B.col(j % rankOfB) * 2.0f)
                           : Eigen::VectorXf(Eigen::VectorXf::Zero(m));
    Eigen::MatrixXf A = zeroA ? Eigen::MatrixXf::Zero(r, n) : uniform(r, n, engine);
    const ModuleReparam p = reparameterize(B, A);
    QVERIFY(p.Bp.allFinite() && p.Ap.allFinite() && p.singularValues.allFinite());
    const int nonZero = zeroA ? 0 : rankOfB;
    // Components beyond the rank carry (almost) nothing: s_i is rounding noise, and their
    // vectors' squared norms equal s_i.
    const double s1 = std::max(1.0f, p.singularValues[0]);
    for (int i = nonZero; i < r; ++i) {
        QVERIFY(p.singularValues[i] <= kOrthogonalityTolerance * s1);
        QVERIFY(p.Bp.col(i).squaredNorm() <= 2 * kOrthogonalityTolerance * s1);
        QVERIFY(p.Ap.row(i).squaredNorm() <= 2 * kOrthogonalityTolerance * s1);
    }
    if (nonZero == 0) {
        QCOMPARE(p.Bp.cwiseAbs().maxCoeff(), 0.0f);
        QCOMPARE(p.Ap.cwiseAbs().maxCoeff(), 0.0f);
    } else {
        QVERIFY(relativeReconstruction(B, A, p) < kReconstructionTolerance);
    }
}

QTEST_APPLESS_MAIN(ReparamTest)
#include "reparamtest.moc"
