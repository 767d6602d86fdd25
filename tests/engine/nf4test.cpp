// NF4 (QLoRA's 4-bit NormalFloat, nf4.h): the code table is QLoRA's construction from normal
// quantiles, codes are the nearest level (checked against a slow scalar reference), blocks of 64
// with an absmax, double quantization of the absmaxes in blocks of 256, and bit counts that
// include every stored scale.

#include "core/engine/nf4.h"

#include <QTest>
#include <algorithm>
#include <cmath>
#include <random>

using namespace lq;

namespace {

// The levels are float32 roundings of the construction's doubles; the normal quantile below is
// found by bisection to 1e-15.
constexpr double kLevelTolerance = 1e-6;
// Without double quantization a value is off by at most half the widest gap between two levels
// times its block's absmax (the gap between -1 and -0.6962), plus float rounding.
constexpr double kHalfWidestGap = 0.5 * (1.0 - 0.6961928009986877) + 1e-6;
// With it, the block scale is off by at most s / 254 (half a step of the int8 grid) plus
// float rounding, which moves every value by at most that times |level| <= 1.
constexpr double kScaleRoundingSlack = 1e-6;

double normalQuantile(double p)
{
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; ++i) {
        const double mid = 0.5 * (lo + hi);
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

// The slow reference: the level nearest to x / c by a full scan, ties to the upper level.
int referenceCode(float x, float c)
{
    if (c == 0)
        return 7;
    const float y = x / c;
    int best = 0;
    for (int i = 1; i < 16; ++i)
        if (std::fabs(y - kNf4Levels[std::size_t(i)]) <=
            std::fabs(y - kNf4Levels[std::size_t(best)]))
            best = i;
    return best;
}

std::vector<float> randomValues(std::size_t count, unsigned seed)
{
    std::mt19937 engine(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> values(count);
    for (float& v : values)
        v = normal(engine);
    return values;
}

} // namespace

class Nf4Test : public QObject
{
    Q_OBJECT

private slots:
    void levelsAreQloraConstruction()
    {
        std::vector<double> v;
        const auto linspace = [](double a, double b, int n, int i) {
            return a + (b - a) * double(i) / double(n - 1);
        };
        for (int i = 0; i < 8; ++i) // 9 points from offset to 1/2, the last (0) dropped
            v.push_back(normalQuantile(linspace(kNf4Offset, 0.5, 9, i)));
        v.push_back(0.0);
        for (int i = 0; i < 7; ++i) // 8 points, the last dropped, mirrored
            v.push_back(-normalQuantile(linspace(kNf4Offset, 0.5, 8, i)));
        std::sort(v.begin(), v.end());
        const double top = *std::max_element(v.begin(), v.end());
        for (std::size_t i = 0; i < 16; ++i)
            QVERIFY2(std::fabs(v[i] / top - kNf4Levels[i]) < kLevelTolerance,
                     qPrintable(QString::number(i)));
    }

    void handComputedBlock()
    {
        // absmax 2: 2 / 2 = 1 -> 15; -1 -> 0; 0.5 lies below the midpoint 0.5017 of 0.4407 and
        // 0.5626 -> 12; 0.08 lies above the midpoint 0.0398 of 0 and 0.0796 -> 8; 0 -> 7.
        const std::vector<float> values = {2.0f, -2.0f, 1.0f, 0.16f, 0.0f};
        const Nf4Tensor t = quantizeNf4(values, false);
        QCOMPARE(t.absmax, std::vector<float>{2.0f});
        QCOMPARE(t.codes, (std::vector<std::uint8_t>{15, 0, 12, 8, 7}));
        const std::vector<float> back = t.dequantize();
        QCOMPARE(back[0], 2.0f);
        QCOMPARE(back[2], 2.0f * kNf4Levels[12]);
        // A block of zeros: scale 0, every code the level 0.
        const Nf4Tensor zeros = quantizeNf4(std::vector<float>(70, 0.0f), true);
        QCOMPARE(zeros.codes, std::vector<std::uint8_t>(70, 7));
        QCOMPARE(zeros.dequantize(), std::vector<float>(70, 0.0f));
    }

    void bitCounts_data()
    {
        QTest::addColumn<int>("count");
        QTest::addColumn<bool>("doubleQuant");
        QTest::addColumn<double>("bits");
        // 202 values = 4 blocks (the last short): 808 code bits + 4 float32 absmaxes.
        QTest::newRow("202 plain") << 202 << false << 808.0 + 4 * 32;
        // ... or 4 int8 absmaxes, one second-level float32 scale and the float32 mean.
        QTest::newRow("202 dq") << 202 << true << 808.0 + 4 * 8 + 32 + 32;
        // 64 * 256 values: exactly 4.5 and 4 + 8/64 + 32/(64*256) bits, plus the mean.
        QTest::newRow("16384 plain") << 16384 << false << 16384 * 4.5;
        QTest::newRow("16384 dq") << 16384 << true << 16384 * (4 + 8.0 / 64) + 32 + 32;
        QTest::newRow("16448 dq, 2 scale blocks")
            << 16448 << true << 16448 * 4 + 257 * 8.0 + 64 + 32;
    }
    void bitCounts()
    {
        QFETCH(int, count);
        QFETCH(bool, doubleQuant);
        QFETCH(double, bits);
        const Nf4Tensor t = quantizeNf4(randomValues(std::size_t(count), 3), doubleQuant);
        QCOMPARE(t.codeBits(), 4.0 * count);
        QCOMPARE(t.storedBits(), bits);
    }

    void matchesScalarReference_data()
    {
        QTest::addColumn<int>("count");
        QTest::addColumn<bool>("doubleQuant");
        for (int count : {1, 63, 64, 65, 1000, 64 * 256 + 3})
            for (bool dq : {false, true})
                QTest::addRow("%d %s", count, dq ? "dq" : "plain") << count << dq;
    }
    void matchesScalarReference()
    {
        QFETCH(int, count);
        QFETCH(bool, doubleQuant);
        const std::vector<float> values = randomValues(std::size_t(count), unsigned(count));
        const Nf4Tensor t = quantizeNf4(values, doubleQuant);
        const std::vector<float> back = t.dequantize();
        for (std::size_t b = 0; b < t.blockCount(); ++b) {
            float c = 0;
            for (std::size_t i = b * 64; i < std::min(values.size(), (b + 1) * 64); ++i)
                c = std::max(c, std::fabs(values[i]));
            QCOMPARE(t.absmax[b], c);
            double scaleError = 0;
            if (doubleQuant) {
                const float s = t.scaleScales[b / 256];
                scaleError = s / 254.0 + kScaleRoundingSlack * c;
                QVERIFY(std::fabs(t.blockScale(b) - c) <= scaleError);
            }
            for (std::size_t i = b * 64; i < std::min(values.size(), (b + 1) * 64); ++i) {
                QCOMPARE(int(t.codes[i]), referenceCode(values[i], c));
                QVERIFY(std::fabs(back[i] - values[i]) <= kHalfWidestGap * c + scaleError);
            }
        }
    }
};

QTEST_GUILESS_MAIN(Nf4Test)
#include "nf4test.moc"
