// Conversions between the stored element types and float32. A wrong rounding here changes every
// exported adapter by one ulp in a way no other test would notice, so the edge cases are pinned
// against values computed by hand from IEEE 754.

#include "core/io/dtype.h"

#include <QTest>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace lq;

Q_DECLARE_METATYPE(lq::DType)

class DTypeTest : public QObject
{
    Q_OBJECT

private slots:
    void names_data();
    void names();
    void floatToHalf_data();
    void floatToHalf();
    void halfRoundTripEveryPattern();
    void floatToBf16_data();
    void floatToBf16();
    void bf16RoundTripEveryPattern();
    void spanConversion_data();
    void spanConversion();
    void f64RoundsToNearestFloat();
};

void DTypeTest::names_data()
{
    QTest::addColumn<DType>("type");
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("size");
    QTest::addColumn<bool>("factor"); // may a LoRA factor have it (converts to float)
    QTest::newRow("F32") << DType::F32 << "F32" << 4 << true;
    QTest::newRow("F16") << DType::F16 << "F16" << 2 << true;
    QTest::newRow("BF16") << DType::BF16 << "BF16" << 2 << true;
    QTest::newRow("F64") << DType::F64 << "F64" << 8 << true;
    // Carried over in other tensors (buffers, masks, 8-bit floats), never converted.
    QTest::newRow("BOOL") << DType::Bool << "BOOL" << 1 << false;
    QTest::newRow("U8") << DType::U8 << "U8" << 1 << false;
    QTest::newRow("I8") << DType::I8 << "I8" << 1 << false;
    QTest::newRow("F8_E5M2") << DType::F8E5M2 << "F8_E5M2" << 1 << false;
    QTest::newRow("F8_E4M3") << DType::F8E4M3 << "F8_E4M3" << 1 << false;
    QTest::newRow("F8_E8M0") << DType::F8E8M0 << "F8_E8M0" << 1 << false;
    QTest::newRow("I16") << DType::I16 << "I16" << 2 << false;
    QTest::newRow("U16") << DType::U16 << "U16" << 2 << false;
    QTest::newRow("I32") << DType::I32 << "I32" << 4 << false;
    QTest::newRow("U32") << DType::U32 << "U32" << 4 << false;
    QTest::newRow("I64") << DType::I64 << "I64" << 8 << false;
    QTest::newRow("U64") << DType::U64 << "U64" << 8 << false;
}

void DTypeTest::names()
{
    QFETCH(DType, type);
    QFETCH(QString, name);
    QFETCH(int, size);
    QCOMPARE(QString::fromUtf8(dtypeName(type).data(), qsizetype(dtypeName(type).size())), name);
    QCOMPARE(dtypeFromName(name.toStdString()), std::optional<DType>(type));
    QFETCH(bool, factor);
    QCOMPARE(int(elementSize(type)), size);
    QCOMPARE(isFactorType(type), factor);
    QVERIFY(knownDtypeNames().find(name.toStdString()) != std::string::npos);
    // Names are case-sensitive in safetensors headers; types of less than a byte per element
    // (F4, F6_E2M3) and names of other formats are not known.
    if (name != name.toLower())
        QVERIFY(!dtypeFromName(name.toLower().toStdString()));
    for (const char* other : {"F4", "F6_E2M3", "Q4_K", ""})
        QVERIFY(!dtypeFromName(other));

    // Only the factor types convert; for the others a conversion is a caller's mistake, which
    // throws rather than writing garbage.
    std::vector<std::byte> bytes(2 * elementSize(type), std::byte{0});
    std::vector<float> values(2, 1.0f);
    if (factor) {
        convertToFloat(type, bytes, values);
        QCOMPARE(values, std::vector<float>(2, 0.0f));
        convertFromFloat(type, std::vector<float>(2, 0.0f), bytes);
    } else {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, convertToFloat(type, bytes, values));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 convertFromFloat(type, std::vector<float>(2, 0.0f), bytes));
        QCOMPARE(values, std::vector<float>(2, 1.0f));
    }
}

void DTypeTest::floatToHalf_data()
{
    QTest::addColumn<float>("value");
    QTest::addColumn<int>("bits");
    const float ulp1 = std::ldexp(1.0f, -10); // spacing of halves in [1, 2)
    QTest::newRow("one") << 1.0f << 0x3c00;
    QTest::newRow("minus zero") << -0.0f << 0x8000;
    QTest::newRow("0.1 rounds down") << 0.1f << 0x2e66;
    QTest::newRow("largest finite") << 65504.0f << 0x7bff;
    QTest::newRow("just below the Inf threshold") << 65519.99f << 0x7bff;
    QTest::newRow("half-way to 65536 rounds to Inf") << 65520.0f << 0x7c00;
    QTest::newRow("+Inf") << std::numeric_limits<float>::infinity() << 0x7c00;
    QTest::newRow("-Inf") << -std::numeric_limits<float>::infinity() << 0xfc00;
    QTest::newRow("tie rounds to even (down)") << 1.0f + ulp1 / 2 << 0x3c00;
    QTest::newRow("tie rounds to even (up)") << 1.0f + 3 * ulp1 / 2 << 0x3c02;
    QTest::newRow("above tie rounds up") << std::nextafter(1.0f + ulp1 / 2, 2.0f) << 0x3c01;
    QTest::newRow("smallest normal") << std::ldexp(1.0f, -14) << 0x0400;
    QTest::newRow("smallest subnormal") << std::ldexp(1.0f, -24) << 0x0001;
    QTest::newRow("half the smallest subnormal ties to 0") << std::ldexp(1.0f, -25) << 0x0000;
    QTest::newRow("1.5 smallest subnormal rounds up") << std::ldexp(1.5f, -24) << 0x0002;
    QTest::newRow("2.5 smallest subnormal ties to even") << std::ldexp(2.5f, -24) << 0x0002;
    QTest::newRow("subnormal rounds up into normal")
        << std::nextafter(std::ldexp(1.0f, -14), 0.0f) << 0x0400;
    QTest::newRow("tiny negative flushes to -0") << -std::ldexp(1.0f, -30) << 0x8000;
}

void DTypeTest::floatToHalf()
{
    QFETCH(float, value);
    QFETCH(int, bits);
    QCOMPARE(int(lq::floatToHalf(value)), bits);
}

void DTypeTest::halfRoundTripEveryPattern()
{
    // Every finite half and both infinities survive half -> float -> half unchanged; every NaN
    // stays a NaN (the quiet bit may be set).
    for (std::uint32_t b = 0; b < 65536; ++b) {
        const auto bits = std::uint16_t(b);
        const float f = halfToFloat(bits);
        const bool isNan = (bits & 0x7c00) == 0x7c00 && (bits & 0x3ff);
        if (isNan) {
            QVERIFY2(std::isnan(f), qPrintable(QString::number(b, 16)));
            QVERIFY(std::isnan(halfToFloat(lq::floatToHalf(f))));
        } else {
            QCOMPARE(int(lq::floatToHalf(f)), int(bits));
        }
    }
    QCOMPARE(halfToFloat(0x0001), std::ldexp(1.0f, -24));
    QCOMPARE(halfToFloat(0x3555), 0.333251953125f);
}

void DTypeTest::floatToBf16_data()
{
    QTest::addColumn<float>("value");
    QTest::addColumn<int>("bits");
    const float ulp1 = std::ldexp(1.0f, -7); // spacing of bfloat16 values in [1, 2)
    QTest::newRow("one") << 1.0f << 0x3f80;
    QTest::newRow("minus two") << -2.0f << 0xc000;
    QTest::newRow("tie rounds to even (down)") << 1.0f + ulp1 / 2 << 0x3f80;
    QTest::newRow("tie rounds to even (up)") << 1.0f + 3 * ulp1 / 2 << 0x3f82;
    QTest::newRow("above tie rounds up") << std::nextafter(1.0f + ulp1 / 2, 2.0f) << 0x3f81;
    QTest::newRow("largest float rounds to Inf") << std::numeric_limits<float>::max() << 0x7f80;
    QTest::newRow("+Inf") << std::numeric_limits<float>::infinity() << 0x7f80;
    QTest::newRow("-Inf") << -std::numeric_limits<float>::infinity() << 0xff80;
    QTest::newRow("denormal kept") << std::ldexp(1.0f, -130) << 0x0008; // 2^19 * 2^-149
}

void DTypeTest::floatToBf16()
{
    QFETCH(float, value);
    QFETCH(int, bits);
    QCOMPARE(int(lq::floatToBf16(value)), bits);
}

void DTypeTest::bf16RoundTripEveryPattern()
{
    for (std::uint32_t b = 0; b < 65536; ++b) {
        const auto bits = std::uint16_t(b);
        const float f = bf16ToFloat(bits);
        if ((bits & 0x7f80) == 0x7f80 && (bits & 0x7f)) {
            QVERIFY(std::isnan(f));
            QVERIFY(std::isnan(bf16ToFloat(lq::floatToBf16(f))));
        } else {
            QCOMPARE(int(lq::floatToBf16(f)), int(bits));
        }
    }
    // A NaN whose payload sits only in the low 16 bits must not become Inf when truncated.
    const float lowPayloadNan = std::bit_cast<float>(0x7f800001u);
    QVERIFY(std::isnan(bf16ToFloat(lq::floatToBf16(lowPayloadNan))));
    QVERIFY(std::isnan(halfToFloat(lq::floatToHalf(lowPayloadNan))));
}

void DTypeTest::spanConversion_data()
{
    QTest::addColumn<DType>("type");
    QTest::newRow("F32") << DType::F32;
    QTest::newRow("F16") << DType::F16;
    QTest::newRow("BF16") << DType::BF16;
    QTest::newRow("F64") << DType::F64;
}

void DTypeTest::spanConversion()
{
    // Values exact in every type (few mantissa bits, moderate exponent), an odd count to catch a
    // loop that works in pairs, plus the non-finite ones, which every type must keep.
    QFETCH(DType, type);
    std::vector<float> values;
    for (int i = 0; i < 37; ++i)
        values.push_back(std::ldexp(float((i % 7) - 3) * 0.25f + 0.125f, (i % 9) - 4));
    values.push_back(std::numeric_limits<float>::infinity());
    values.push_back(-std::numeric_limits<float>::infinity());
    values.push_back(std::numeric_limits<float>::quiet_NaN());

    std::vector<std::byte> bytes(values.size() * elementSize(type));
    convertFromFloat(type, values, bytes);
    std::vector<float> back(values.size());
    convertToFloat(type, bytes, back);
    for (std::size_t i = 0; i + 1 < values.size(); ++i)
        QCOMPARE(back[i], values[i]);
    QVERIFY(std::isnan(back.back()));
}

void DTypeTest::f64RoundsToNearestFloat()
{
    const double values[] = {0.1, 1.0 / 3.0, 1e-40, 1e300};
    std::vector<std::byte> bytes(sizeof values);
    std::memcpy(bytes.data(), values, sizeof values);
    std::vector<float> out(4);
    convertToFloat(DType::F64, bytes, out);
    QCOMPARE(out[0], 0.1f);
    QCOMPARE(out[1], float(1.0 / 3.0));
    QCOMPARE(out[2], float(1e-40)); // a float denormal, not flushed to zero
    QVERIFY(std::isinf(out[3]));
}

QTEST_APPLESS_MAIN(DTypeTest)
#include "dtypetest.moc"
