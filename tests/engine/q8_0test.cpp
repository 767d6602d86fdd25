// q8_0 (llama.cpp's 8-bit block format, q8_0.h): codes and scales as ggml's reference quantizer
// computes them (checked against a slow scalar reference), a hand-computed block, 8.5 bits per
// value, and the rounding bound.

#include "core/engine/q8_0.h"

#include "core/io/dtype.h"

#include <QTest>
#include <cmath>
#include <random>

using namespace lq;

namespace {

// |w - q fp16(d)| <= d / 2 (rounding the code) + 127 |d - fp16(d)| (the stored scale), and
// |d - fp16(d)| <= 2^-11 d for a normal half.
constexpr double kCodeRounding = 0.5;
constexpr double kHalfRelative = 1.0 / 2048.0;

std::vector<float> randomValues(std::size_t count, unsigned seed)
{
    std::mt19937 engine(seed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> values(count);
    for (float& v : values)
        v = normal(engine);
    return values;
}

} // namespace

class Q8_0Test : public QObject
{
    Q_OBJECT

private slots:
    void handComputedBlock()
    {
        // amax 127: d = 1; -63.5 rounds away from zero to -64; 0.5 to 1.
        std::vector<float> values(33, 0.0f);
        values[0] = 127.0f;
        values[1] = -63.5f;
        values[2] = 0.5f;
        values[32] = -3.0f; // the second, short block: d = 3 / 127, q = -127
        const Q8_0Tensor t = quantizeQ8_0(values);
        QCOMPARE(t.blockCount(), std::size_t(2));
        QCOMPARE(t.scales[0], 1.0f);
        QCOMPARE(int(t.codes[0]), 127);
        QCOMPARE(int(t.codes[1]), -64);
        QCOMPARE(int(t.codes[2]), 1);
        QCOMPARE(int(t.codes[3]), 0);
        QCOMPARE(int(t.codes[32]), -127);
        QCOMPARE(t.scales[1], halfToFloat(floatToHalf(3.0f / 127.0f)));
        // 33 values in 2 blocks: 264 code bits and two fp16 scales.
        QCOMPARE(t.codeBits(), 264.0);
        QCOMPARE(t.storedBits(), 296.0);
        const Q8_0Tensor zeros = quantizeQ8_0(std::vector<float>(32, 0.0f));
        QCOMPARE(zeros.dequantize(), std::vector<float>(32, 0.0f));
    }

    void matchesScalarReference_data()
    {
        QTest::addColumn<int>("count");
        for (int count : {1, 31, 32, 33, 1000, 4096})
            QTest::addRow("%d", count) << count;
    }
    void matchesScalarReference()
    {
        QFETCH(int, count);
        const std::vector<float> values = randomValues(std::size_t(count), unsigned(count));
        const Q8_0Tensor t = quantizeQ8_0(values);
        QCOMPARE(t.storedBits(), 8.0 * count + 16.0 * std::ceil(count / 32.0));
        const std::vector<float> back = t.dequantize();
        for (std::size_t b = 0; b < t.blockCount(); ++b) {
            const std::size_t begin = b * 32, end = std::min(values.size(), begin + 32);
            float amax = 0;
            for (std::size_t i = begin; i < end; ++i)
                amax = std::max(amax, std::fabs(values[i]));
            const float d = amax / 127.0f;
            QCOMPARE(t.scales[b], halfToFloat(floatToHalf(d)));
            for (std::size_t i = begin; i < end; ++i) {
                QCOMPARE(int(t.codes[i]), int(std::round(values[i] * (1.0f / d))));
                QVERIFY(std::fabs(back[i] - values[i]) <=
                        kCodeRounding * d + 127.0 * kHalfRelative * d);
            }
        }
    }
};

QTEST_GUILESS_MAIN(Q8_0Test)
#include "q8_0test.moc"
