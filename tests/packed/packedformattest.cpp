// Packed parts against the engine's quantizers: packing a QuantizedVectors and reading it back
// loses nothing (codes, scales, zero points), the packed part dequantizes bit for bit like the
// engine's, and its stored bits equal the engine's true count, for every bit width 1..8, group
// sizes that do and do not divide the vector length, both group layouts and both scale formats.

#include "core/packed/packedformat.h"

#include "core/engine/quantizer.h"
#include "core/io/error.h"

#include <QTest>
#include <cstring>
#include <random>

Q_DECLARE_METATYPE(lq::GroupLayout)
Q_DECLARE_METATYPE(lq::ScaleFormat)

namespace {

std::vector<float> randomValues(int count, int length, std::uint64_t seed)
{
    std::mt19937_64 engine(seed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> values(std::size_t(count) * std::size_t(length));
    for (float& v : values)
        v = normal(engine);
    return values;
}

bool sameBits(float a, float b)
{
    return std::memcmp(&a, &b, sizeof a) == 0;
}

} // namespace

class PackedFormatTest : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip_data()
    {
        QTest::addColumn<int>("bits"); // 0 = binary
        QTest::addColumn<int>("count");
        QTest::addColumn<int>("length");
        QTest::addColumn<int>("groupSize");
        QTest::addColumn<lq::GroupLayout>("layout");
        QTest::addColumn<lq::ScaleFormat>("scales");
        struct Case
        {
            int count, length, groupSize;
        };
        // Divides the length; does not (short tail group); one group longer than the vector;
        // groups of one; an odd length that leaves padding bits in every stream.
        const Case cases[] = {{3, 256, 128}, {3, 300, 128}, {2, 77, 128},
                              {4, 37, 1},    {5, 129, 16},  {1, 1, 128}};
        for (int bits = 0; bits <= 8; ++bits)
            for (const Case& c : cases)
                for (const auto layout :
                     {lq::GroupLayout::PerComponent, lq::GroupLayout::Flattened})
                    for (const auto scales : {lq::ScaleFormat::F16, lq::ScaleFormat::F32})
                        QTest::addRow("%s %dx%d g%d %s %s",
                                      bits ? qPrintable(QStringLiteral("rtn%1").arg(bits))
                                           : "binary",
                                      c.count, c.length, c.groupSize,
                                      layout == lq::GroupLayout::PerComponent ? "per-comp" : "flat",
                                      scales == lq::ScaleFormat::F16 ? "f16" : "f32")
                            << bits << c.count << c.length << c.groupSize << layout << scales;
    }

    void roundTrip()
    {
        QFETCH(int, bits);
        QFETCH(int, count);
        QFETCH(int, length);
        QFETCH(int, groupSize);
        QFETCH(lq::GroupLayout, layout);
        QFETCH(lq::ScaleFormat, scales);
        const std::vector<float> values =
            randomValues(count, length, std::uint64_t(bits * 7919 + count * 31 + length));
        const lq::GroupSpec spec{groupSize, layout, scales};
        const lq::QuantizedVectors q = bits ? lq::quantizeRtn(values, count, length, bits, spec)
                                            : lq::quantizeBinary(values, count, length, spec);

        const lq::PackedVectors packed = lq::packVectors(q, "test part");
        // Dense: the codes take exactly ceil(count length b / 8) bytes (plus the in-memory pad).
        QCOMPARE(std::int64_t(packed.codes.size()),
                 (std::int64_t(count) * length * q.bits + 7) / 8 +
                     std::int64_t(lq::kStreamPadding));
        QCOMPARE(packed.groupCount(), q.groupCount());
        QCOMPARE(double(packed.storedBits()), q.trueBits());

        const lq::QuantizedVectors back = lq::unpackVectors(packed);
        QCOMPARE(back.codes, q.codes);
        QCOMPARE(back.zeros, q.zeros);
        QCOMPARE(back.scales.size(), q.scales.size());
        for (std::size_t g = 0; g < q.scales.size(); ++g)
            QVERIFY(sameBits(back.scales[g], q.scales[g]));

        // Group geometry and reconstruction agree with the engine's for every value.
        for (int v = 0; v < count; ++v)
            for (int i = 0; i < length; ++i) {
                QCOMPARE(packed.spanAt(v, i).group, q.groupOf(v, i));
                const float expected = q.dequantize(v, i);
                const float got = packed.dequantize(v, i);
                if (!sameBits(got, expected))
                    QFAIL(qPrintable(QStringLiteral("value %1 of vector %2: %3, engine %4")
                                         .arg(i)
                                         .arg(v)
                                         .arg(double(got))
                                         .arg(double(expected))));
            }
        // Where a group ends inside the vector: the next value starts another group.
        for (int v = 0; v < count; ++v)
            for (int i = 0; i < length;) {
                const lq::PackedVectors::Span span = packed.spanAt(v, i);
                QVERIFY(span.end > i && span.end <= length);
                for (int j = i; j < span.end; ++j)
                    QCOMPARE(q.groupOf(v, j), span.group);
                if (span.end < length)
                    QVERIFY(q.groupOf(v, span.end) != span.group);
                i = span.end;
            }
    }

    // The engine rounds F16 scales before computing codes; a scale that is not a binary16 value
    // would make the file disagree with the in-memory result, so packing refuses it.
    void refusesInconsistentParts()
    {
        const std::vector<float> values = randomValues(2, 64, 5);
        const lq::GroupSpec spec{32, lq::GroupLayout::PerComponent, lq::ScaleFormat::F16};
        lq::QuantizedVectors q = lq::quantizeRtn(values, 2, 64, 3, spec);
        lq::QuantizedVectors notHalf = q;
        notHalf.scales[1] = 0.1f; // not representable in binary16
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::packVectors(notHalf, "part"));
        lq::QuantizedVectors wideCode = q;
        wideCode.codes[5] = 8; // does not fit in 3 bits
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::packVectors(wideCode, "part"));
        lq::QuantizedVectors shortCodes = q;
        shortCodes.codes.pop_back();
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::packVectors(shortCodes, "part"));
        lq::QuantizedVectors nanScale = q;
        nanScale.scaleFormat = lq::ScaleFormat::F32;
        nanScale.scales[0] = std::numeric_limits<float>::quiet_NaN();
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::packVectors(nanScale, "part"));
    }

    // Bits per weight as declared in packedformat.h agree with the stored bits of a part whose
    // vectors are multiples of the group size.
    void bitsPerWeight()
    {
        const std::vector<float> values = randomValues(4, 256, 9);
        for (int bits = 1; bits <= 8; ++bits) {
            const lq::GroupSpec spec{128, lq::GroupLayout::PerComponent, lq::ScaleFormat::F16};
            const lq::PackedVectors p =
                lq::packVectors(lq::quantizeRtn(values, 4, 256, bits, spec), "part");
            QCOMPARE(double(p.storedBits()) / 1024.0,
                     lq::rtnBitsPerWeight(bits, 128, lq::ScaleFormat::F16));
        }
        const lq::GroupSpec spec{64, lq::GroupLayout::PerComponent, lq::ScaleFormat::F32};
        const lq::PackedVectors p = lq::packVectors(lq::quantizeBinary(values, 4, 256, spec), "p");
        QCOMPARE(double(p.storedBits()) / 1024.0,
                 lq::binaryBitsPerWeight(64, lq::ScaleFormat::F32));
    }
};

QTEST_GUILESS_MAIN(PackedFormatTest)
#include "packedformattest.moc"
