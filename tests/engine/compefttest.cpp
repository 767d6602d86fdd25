// ComPEFT (compeft.h): a hand-computed module (positions, signs, the fitted scale, bits), the
// selection against a slow reference (a full sort), the scale against the dense least-squares
// fit, by density.

#include "core/engine/compeft.h"

#include "core/engine/updateerror.h"

#include <QTest>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

using namespace lq;

namespace {

// The two fp16 scales round the fitted product by at most 2^-11 each.
constexpr double kScaleRounding = 2.0 / 2048.0;

Eigen::MatrixXf randomMatrix(int rows, int cols, unsigned seed)
{
    std::mt19937 engine(seed);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    Eigen::MatrixXf x(rows, cols);
    for (Eigen::Index i = 0; i < x.size(); ++i)
        x.data()[i] = normal(engine);
    return x;
}

} // namespace

class CompeftTest : public QObject
{
    Q_OBJECT

private slots:
    void handComputedModule()
    {
        // B = [3, -1, 0.5, 2]^T, A = [1, -2]; density 0.5 keeps 3 and 2 of B, -2 of A.
        Eigen::MatrixXf B(4, 1), A(1, 2);
        B << 3, -1, 0.5, 2;
        A << 1, -2;
        const CompeftTensor tb = compeftSelect(rowMajorValues(B), 0.5);
        QCOMPARE(tb.kept, (std::vector<std::uint32_t>{0, 3}));
        QCOMPARE(tb.signs, (std::vector<std::uint8_t>{1, 1}));
        // S_B S_A = [[0,-1],[0,0],[0,0],[0,-1]], <B A, S> = 6 + 4, ||S||^2 = 2: product 5.
        const BaselineFactors f = compeftModule(B, A, 0.5);
        Eigen::MatrixXf expected = Eigen::MatrixXf::Zero(4, 2);
        expected(0, 1) = expected(3, 1) = -5;
        QVERIFY(((f.B * f.A) - expected).cwiseAbs().maxCoeff() <= 5 * kScaleRounding);
        // B: 4 bitmap + 2 signs + 16 scale bits; A: 2 + 1 + 16.
        QCOMPARE(f.codeBits, 4.0 + 2 + 2 + 1);
        QCOMPARE(f.storedBits, 22.0 + 19.0);
    }

    void selectionMatchesSort_data()
    {
        QTest::addColumn<double>("density");
        for (double density : {0.0, 0.05, 0.1, 0.2, 0.5, 1.0})
            QTest::addRow("%g", density) << density;
    }
    void selectionMatchesSort()
    {
        QFETCH(double, density);
        std::vector<float> values = rowMajorValues(randomMatrix(37, 11, 5));
        values[3] = values[4] = 1.0f; // a tie: the earlier position wins
        const CompeftTensor t = compeftSelect(values, density);
        const std::size_t k = std::size_t(std::llround(density * double(values.size())));
        std::vector<std::uint32_t> order(values.size());
        std::iota(order.begin(), order.end(), 0u);
        std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
            return std::fabs(values[a]) > std::fabs(values[b]);
        });
        order.resize(k);
        std::sort(order.begin(), order.end());
        QCOMPARE(t.kept, order);
        for (std::size_t j = 0; j < k; ++j)
            QCOMPARE(bool(t.signs[j]), values[order[j]] >= 0);
        QCOMPARE(t.storedBits(), double(values.size()) + double(k) + 16);
    }

    void scaleIsLeastSquares_data()
    {
        QTest::addColumn<double>("density");
        for (double density : {0.05, 0.1, 0.2, 0.5, 1.0})
            QTest::addRow("%g", density) << density;
    }
    void scaleIsLeastSquares()
    {
        QFETCH(double, density);
        const Eigen::MatrixXf B = randomMatrix(48, 4, 1), A = randomMatrix(4, 40, 2);
        const BaselineFactors f = compeftModule(B, A, density);
        // The dense reference: the sign pattern of the product, its least-squares multiple.
        const Eigen::MatrixXd M = (B * A).cast<double>();
        const Eigen::MatrixXd S = (f.B * f.A).cast<double>();
        const double c = (M.array() * S.array()).sum() / S.squaredNorm(); // 1 up to rounding
        QVERIFY2(std::fabs(c - 1.0) <= kScaleRounding, qPrintable(QString::number(c)));
        // A least-squares multiple never does worse than dropping the update.
        const double error = updateError(B, A, f.B, f.A).relative();
        QVERIFY(error < 1.0);
    }
};

QTEST_GUILESS_MAIN(CompeftTest)
#include "compefttest.moc"
