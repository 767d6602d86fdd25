// The group quantizers of METHOD 3 on cases small enough to compute by hand. If rounding, the
// zero point, the grouping or the scale storage drift, every code a packed file stores and every
// error the engine reports drift with them.

#include "core/engine/quantizer.h"

#include "core/engine/quantizedvectors.h"
#include "core/io/dtype.h"

#include <QTest>
#include <cmath>
#include <random>
#include <vector>

using namespace lq;

Q_DECLARE_METATYPE(std::vector<float>)
Q_DECLARE_METATYPE(std::vector<int>)
Q_DECLARE_METATYPE(lq::GroupLayout)

namespace {

// Hand cases use values whose divisions by the scale are exact in float (scales are powers of
// two or the values are integers), so the expected codes and values are exact.
constexpr float kExact = 0.0f;
// Values that dequantize to 3 * (1e-5f / 3) instead of 1e-5f: equal to ~1e-12 absolute.
constexpr double kTinyValueTolerance = 1e-11;
// RTN's error bound |w - w_hat| <= d / 2 holds up to float rounding of w / d and of (q - z) d.
constexpr double kHalfStepSlack = 1e-5;

std::vector<int> toInts(const std::vector<std::uint8_t>& v)
{
    return {v.begin(), v.end()};
}

} // namespace

class QuantizerTest : public QObject
{
    Q_OBJECT

private slots:
    void roundHalfEven_data();
    void roundHalfEven();
    void rtnHandCases_data();
    void rtnHandCases();
    void rtnGroupingAndTails_data();
    void rtnGroupingAndTails();
    void rtnErrorBound_data();
    void rtnErrorBound();
    void rtnDegenerateGroups();
    void f16Scales();
    void binaryHandCases_data();
    void binaryHandCases();
    void bitCounts_data();
    void bitCounts();
};

void QuantizerTest::roundHalfEven_data()
{
    QTest::addColumn<float>("x");
    QTest::addColumn<float>("expected");
    // torch.round: ties go to the even neighbour; std::round would give 1, 3, -1, -3.
    QTest::newRow("0.5") << 0.5f << 0.0f;
    QTest::newRow("1.5") << 1.5f << 2.0f;
    QTest::newRow("2.5") << 2.5f << 2.0f;
    QTest::newRow("-0.5") << -0.5f << 0.0f;
    QTest::newRow("-1.5") << -1.5f << -2.0f;
    QTest::newRow("-2.5") << -2.5f << -2.0f;
    QTest::newRow("just below a tie") << 2.4999998f << 2.0f;
    QTest::newRow("just above a tie") << 2.5000002f << 3.0f;
    QTest::newRow("beyond the fast path") << 4194304.5f << 4194304.0f; // 2^22 + 0.5, even
    QTest::newRow("large odd tie") << 4194305.5f << 4194306.0f;
    QTest::newRow("huge") << 1e30f << 1e30f;
}

void QuantizerTest::roundHalfEven()
{
    QFETCH(float, x);
    QFETCH(float, expected);
    QCOMPARE(lq::roundHalfEven(x), expected);
    QCOMPARE(lq::roundHalfEven(x), std::nearbyint(x));
}

void QuantizerTest::rtnHandCases_data()
{
    QTest::addColumn<std::vector<float>>("values"); // one group
    QTest::addColumn<int>("bits");
    QTest::addColumn<float>("scale");
    QTest::addColumn<int>("zero");
    QTest::addColumn<std::vector<int>>("codes");
    QTest::addColumn<std::vector<float>>("dequantized");

    // range 3, 2 bits: d = 1; z = -round(-1.5) = 2 (tie to even); codes round(w) + 2 clamped:
    // -1.5 -> -2 + 2 = 0, -0.5 -> -0 + 2 = 2, 0.5 -> 0 + 2 = 2, 1.5 -> 2 + 2 = 4 -> 3.
    // (Rounding half away from zero would give codes 0, 1, 3, 3.)
    QTest::newRow("2 bits, ties to even")
        << std::vector<float>{-1.5f, -0.5f, 0.5f, 1.5f} << 2 << 1.0f << 2
        << std::vector<int>{0, 2, 2, 3} << std::vector<float>{-2, 0, 0, 1};
    // range 7, 3 bits: d = 1; z = -round(-2.5) = 2; 4.5 -> 4 + 2 = 6; 1.5 -> 2 + 2 = 4.
    QTest::newRow("3 bits") << std::vector<float>{-2.5f, 4.5f, 1.5f, 0.0f, -1.0f} << 3 << 1.0f << 2
                            << std::vector<int>{0, 6, 4, 2, 1}
                            << std::vector<float>{-2, 4, 2, 0, -1};
    // 1 bit RTN: range 0.5, d = 0.5; z = -round(-0.25 / 0.5 = -0.5) = 0; codes round(w / d):
    // -0.25 -> -0.5 -> -0 -> 0, 0.25 -> 0.5 -> 0 -> 0 (both ties go to 0).
    QTest::newRow("1 bit") << std::vector<float>{-0.25f, 0.25f} << 1 << 0.5f << 0
                           << std::vector<int>{0, 0} << std::vector<float>{0, 0};
    // 8 bits: range 255, d = 1, z = 100: exact integers survive unchanged.
    QTest::newRow("8 bits") << std::vector<float>{-100, 155, 0, 7, -3} << 8 << 1.0f << 100
                            << std::vector<int>{0, 255, 100, 107, 97}
                            << std::vector<float>{-100, 155, 0, 7, -3};
    // One sign only: z clamps to 0 and the top of the range is lost (the reference's formula):
    // range 3, d = 1, z = clamp(-1) = 0, codes round(w) clamped to 3.
    QTest::newRow("positive group") << std::vector<float>{1, 2, 4} << 2 << 1.0f << 0
                                    << std::vector<int>{1, 2, 3} << std::vector<float>{1, 2, 3};
}

void QuantizerTest::rtnHandCases()
{
    QFETCH(std::vector<float>, values);
    QFETCH(int, bits);
    QFETCH(float, scale);
    QFETCH(int, zero);
    QFETCH(std::vector<int>, codes);
    QFETCH(std::vector<float>, dequantized);
    const GroupSpec spec{int(values.size()), GroupLayout::PerComponent, ScaleFormat::F32};
    const QuantizedVectors q = quantizeRtn(values, 1, int(values.size()), bits, spec);
    QCOMPARE(q.groupCount(), 1);
    QCOMPARE(q.scales[0], scale);
    QCOMPARE(int(q.zeros[0]), zero);
    QCOMPARE(toInts(q.codes), codes);
    const std::vector<float> all = q.dequantizeAll();
    for (std::size_t i = 0; i < values.size(); ++i) {
        QVERIFY(std::abs(all[i] - dequantized[i]) <= kExact);
        QCOMPARE(q.dequantize(0, int(i)), all[i]);
    }
}

void QuantizerTest::rtnGroupingAndTails_data()
{
    QTest::addColumn<GroupLayout>("layout");
    QTest::addColumn<int>("groupSize");
    QTest::addColumn<std::vector<int>>("groupOf"); // group of each flat value
    QTest::addColumn<std::vector<float>>("dequantized");
    // Two vectors of 5 values, 2 bits: v0 = -1.5 -0.5 0.5 1.5 0, v1 = 3 -3 0 1.5 -1.5. Ranges
    // are chosen so that every scale is 1 or 2 (exact). A lone value (or a constant group) has
    // its range clamped to 1e-5: d = 1e-5/3 and it dequantizes to 0 or +-3d = +-1e-5.
    QTest::newRow("per component, g 5 (one group per vector)")
        << GroupLayout::PerComponent << 5
        << std::vector<int>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}
        // v0: d 1, z = -round(-1.5) = 2: codes 0 2 2 3 2 -> -2 0 0 1 0
        // v1: range 6, d 2, z = -round(-1.5) = 2: w/d = 1.5 -1.5 0 0.75 -0.75 -> codes 3 (4
        //     clamped) 0 2 3 1 -> 2 -4 0 2 -2
        << std::vector<float>{-2, 0, 0, 1, 0, 2, -4, 0, 2, -2};
    QTest::newRow("flattened, g 5 (the same groups: 5 divides the length)")
        << GroupLayout::Flattened << 5 << std::vector<int>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}
        << std::vector<float>{-2, 0, 0, 1, 0, 2, -4, 0, 2, -2};
    // Per component, g 4: {-1.5 -0.5 0.5 1.5} {0} | {3 -3 0 1.5} {-1.5}: {0} -> 0;
    //   {3 -3 0 1.5}: d 2, z 2 -> 2 -4 0 2; {-1.5}: z clamps to 3, code 0 -> -3d = -1e-5.
    QTest::newRow("per component, g 4 (short tails their own group)")
        << GroupLayout::PerComponent << 4 << std::vector<int>{0, 0, 0, 0, 1, 2, 2, 2, 2, 3}
        << std::vector<float>{-2, 0, 0, 1, 0, 2, -4, 0, 2, -1e-5f};
    // Flattened, g 4: {-1.5 -0.5 0.5 1.5} {0 3 -3 0} {1.5 -1.5}: the middle group mixes the two
    //   vectors. {0 3 -3 0}: d 2, z 2 -> 0 2 -4 0; {1.5 -1.5}: d 1, z 2 -> 1 -2.
    QTest::newRow("flattened, g 4 (groups run across vectors)")
        << GroupLayout::Flattened << 4 << std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2}
        << std::vector<float>{-2, 0, 0, 1, 0, 2, -4, 0, 1, -2};
    // Group size 1: every value its own group, so every value becomes 0 or +-1e-5: the
    // reference's formula, useless here but finite.
    QTest::newRow("group size 1") << GroupLayout::PerComponent << 1
                                  << std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
                                  << std::vector<float>{-1e-5f, -1e-5f, 1e-5f, 1e-5f, 0,
                                                        1e-5f,  -1e-5f, 0,     1e-5f, -1e-5f};
}

void QuantizerTest::rtnGroupingAndTails()
{
    QFETCH(GroupLayout, layout);
    QFETCH(int, groupSize);
    QFETCH(std::vector<int>, groupOf);
    QFETCH(std::vector<float>, dequantized);
    const std::vector<float> values{-1.5f, -0.5f, 0.5f, 1.5f, 0, 3, -3, 0, 1.5f, -1.5f};
    const GroupSpec spec{groupSize, layout, ScaleFormat::F32};
    const QuantizedVectors q = quantizeRtn(values, 2, 5, 2, spec);
    QCOMPARE(q.groupCount(), groupOf.back() + 1);
    QCOMPARE(int(q.scales.size()), q.groupCount());
    for (int v = 0; v < 2; ++v)
        for (int i = 0; i < 5; ++i) {
            const int flat = v * 5 + i;
            QCOMPARE(q.groupOf(v, i), groupOf[std::size_t(flat)]);
            const int g = q.groupOf(v, i);
            QVERIFY(flat >= q.groupBegin(g) && flat < q.groupEnd(g));
        }
    const std::vector<float> all = q.dequantizeAll();
    for (std::size_t j = 0; j < values.size(); ++j) {
        const double tolerance = std::abs(dequantized[j]) < 1e-4 ? kTinyValueTolerance : kExact;
        QVERIFY2(std::abs(all[j] - dequantized[j]) <= tolerance,
                 qPrintable(QString("value %1: %2, expected %3")
                                .arg(j)
                                .arg(double(all[j]), 0, 'g', 9)
                                .arg(double(dequantized[j]), 0, 'g', 9)));
    }
}

void QuantizerTest::rtnErrorBound_data()
{
    QTest::addColumn<int>("bits");
    for (int bits = 1; bits <= 8; ++bits)
        QTest::newRow(qPrintable(QString("%1 bits").arg(bits))) << bits;
}

// |w - w_hat| <= d / 2 in every group that holds both signs (z not clamped), for every bit width,
// with odd lengths and a group size that leaves tails.
void QuantizerTest::rtnErrorBound()
{
    QFETCH(int, bits);
    std::mt19937 engine(42u + unsigned(bits));
    const int count = 3, length = 301, groupSize = 64;
    std::vector<float> values(std::size_t(count * length));
    for (float& v : values)
        v = float(double(engine()) / 4294967296.0 - 0.5) * 0.1f;
    for (GroupLayout layout : {GroupLayout::PerComponent, GroupLayout::Flattened}) {
        const QuantizedVectors q =
            quantizeRtn(values, count, length, bits, {groupSize, layout, ScaleFormat::F32});
        const std::vector<float> all = q.dequantizeAll();
        for (int g = 0; g < q.groupCount(); ++g) {
            float lo = 1, hi = -1;
            for (auto j = q.groupBegin(g); j < q.groupEnd(g); ++j) {
                lo = std::min(lo, values[std::size_t(j)]);
                hi = std::max(hi, values[std::size_t(j)]);
            }
            if (!(lo <= 0 && hi >= 0))
                continue;
            const double d = q.scales[std::size_t(g)];
            for (auto j = q.groupBegin(g); j < q.groupEnd(g); ++j)
                QVERIFY(std::abs(double(values[std::size_t(j)]) - all[std::size_t(j)]) <=
                        0.5 * d * (1 + kHalfStepSlack));
        }
    }
}

// All-zero and constant groups (an unused component, a freshly initialised LoRA): finite, never
// NaN, zero stays zero.
void QuantizerTest::rtnDegenerateGroups()
{
    const std::vector<float> zeros(10, 0.0f);
    for (ScaleFormat format : {ScaleFormat::F32, ScaleFormat::F16})
        for (int bits : {1, 2, 8}) {
            const QuantizedVectors q =
                quantizeRtn(zeros, 2, 5, bits, {4, GroupLayout::PerComponent, format});
            for (float v : q.dequantizeAll())
                QCOMPARE(v, 0.0f);
            for (float d : q.scales)
                QVERIFY(d > 0 && std::isfinite(d));
            const QuantizedVectors b =
                quantizeBinary(zeros, 2, 5, {4, GroupLayout::Flattened, format});
            for (float v : b.dequantizeAll())
                QCOMPARE(v, 0.0f);
        }
    const std::vector<float> constant(6, 0.25f);
    const QuantizedVectors q =
        quantizeRtn(constant, 1, 6, 8, {6, GroupLayout::PerComponent, ScaleFormat::F16});
    for (float v : q.dequantizeAll())
        QVERIFY(std::isfinite(v));
}

// fp16 scales: the stored scale is the fp16 rounding of the float32 one, and the codes are those
// that the stored scale gives, so a packed file (fp16 scales) reproduces dequantize() exactly.
void QuantizerTest::f16Scales()
{
    // range 1 with 2 bits: d = 1/3, not representable; fp16(1/3) = 0.333251953125.
    const std::vector<float> values{-0.5f, -0.1f, 0.2f, 0.5f};
    const QuantizedVectors q =
        quantizeRtn(values, 1, 4, 2, {4, GroupLayout::PerComponent, ScaleFormat::F16});
    const float d16 = halfToFloat(floatToHalf(1.0f / 3.0f));
    QCOMPARE(q.scales[0], d16);
    QCOMPARE(d16, 0.333251953125f);
    const float z = float(q.zeros[0]);
    QCOMPARE(z, std::clamp(-std::nearbyint(-0.5f / d16), 0.0f, 3.0f));
    for (int i = 0; i < 4; ++i) {
        const float code = std::clamp(std::nearbyint(values[std::size_t(i)] / d16) + z, 0.0f, 3.0f);
        QCOMPARE(float(q.codes[std::size_t(i)]), code);
        QCOMPARE(q.dequantize(0, i), (code - z) * d16);
    }
    // Binary: mean |w| = 0.325 rounded to fp16.
    const QuantizedVectors b =
        quantizeBinary(values, 1, 4, {4, GroupLayout::PerComponent, ScaleFormat::F16});
    QCOMPARE(b.scales[0], halfToFloat(floatToHalf(0.325f)));
    // A scale beyond fp16's range is clamped and counted, never infinite.
    const std::vector<float> huge{-1e6f, 1e6f};
    const QuantizedVectors h =
        quantizeRtn(huge, 1, 2, 2, {2, GroupLayout::PerComponent, ScaleFormat::F16});
    QCOMPARE(h.scales[0], 65504.0f);
    QCOMPARE(h.clampedScales, 1);
}

void QuantizerTest::binaryHandCases_data()
{
    QTest::addColumn<std::vector<float>>("values"); // one vector
    QTest::addColumn<int>("groupSize");
    QTest::addColumn<std::vector<float>>("scales");
    QTest::addColumn<std::vector<int>>("codes");
    // mean |w| = (1 + 3 + 0 + 2) / 4 = 1.5; the exact zero maps to +alpha (code 1).
    QTest::newRow("one group, a zero") << std::vector<float>{1, -3, 0, 2} << 4
                                       << std::vector<float>{1.5f} << std::vector<int>{1, 0, 1, 1};
    // g 3: {1, -3, 0} mean 4/3, tail {2} mean 2 (over its own value; the reference would pad
    // with zeros and divide by 3).
    QTest::newRow("short tail") << std::vector<float>{1, -3, 0, 2} << 3
                                << std::vector<float>{4.0f / 3.0f, 2.0f}
                                << std::vector<int>{1, 0, 1, 1};
    QTest::newRow("negative zero")
        << std::vector<float>{-0.0f, -2} << 2 << std::vector<float>{1.0f} << std::vector<int>{1, 0};
}

void QuantizerTest::binaryHandCases()
{
    QFETCH(std::vector<float>, values);
    QFETCH(int, groupSize);
    QFETCH(std::vector<float>, scales);
    QFETCH(std::vector<int>, codes);
    const QuantizedVectors q = quantizeBinary(
        values, 1, int(values.size()), {groupSize, GroupLayout::PerComponent, ScaleFormat::F32});
    QCOMPARE(q.bits, 1);
    QVERIFY(q.zeros.empty());
    QCOMPARE(q.scales, scales);
    QCOMPARE(toInts(q.codes), codes);
    for (int i = 0; i < int(values.size()); ++i) {
        const float d = scales[std::size_t(q.groupOf(0, i))];
        QCOMPARE(q.dequantize(0, i), codes[std::size_t(i)] ? d : -d);
    }
}

void QuantizerTest::bitCounts_data()
{
    QTest::addColumn<bool>("binary");
    QTest::addColumn<GroupLayout>("layout");
    QTest::addColumn<ScaleFormat>("format");
    QTest::addColumn<double>("paper");
    QTest::addColumn<double>("stored");
    // 2 vectors of 5 values, g 2, 3-bit RTN: 30 code bits. Per component 3 groups per vector
    // (2 + 2 + 1) = 6 groups of (16-bit scale + 3-bit zero): 30 + 6 * 19 = 144.
    QTest::newRow("rtn3 per component f16")
        << false << GroupLayout::PerComponent << ScaleFormat::F16 << 30.0 << 144.0;
    // Flattened: ceil(10 / 2) = 5 groups of (32 + 3): 30 + 175 = 205.
    QTest::newRow("rtn3 flattened f32")
        << false << GroupLayout::Flattened << ScaleFormat::F32 << 30.0 << 205.0;
    // Binary: 10 code bits, 6 groups of a 16-bit scale, no zero point: 10 + 96 = 106.
    QTest::newRow("binary per component f16")
        << true << GroupLayout::PerComponent << ScaleFormat::F16 << 10.0 << 106.0;
}

void QuantizerTest::bitCounts()
{
    QFETCH(bool, binary);
    QFETCH(GroupLayout, layout);
    QFETCH(ScaleFormat, format);
    QFETCH(double, paper);
    QFETCH(double, stored);
    const std::vector<float> values(10, 0.5f);
    const GroupSpec spec{2, layout, format};
    const QuantizedVectors q =
        binary ? quantizeBinary(values, 2, 5, spec) : quantizeRtn(values, 2, 5, 3, spec);
    QCOMPARE(q.paperBits(), paper);
    QCOMPARE(q.trueBits(), stored);
}

QTEST_APPLESS_MAIN(QuantizerTest)
#include "quantizertest.moc"
