// The bit-packing layer of the packed format: dense b-bit code streams (b = 1..8), the decoder the
// kernels use, the binary16 scale conversion, SHA-256. A regression here would silently change
// every packed value, or make files unreadable by the documented bit order.

#include "core/packed/bitpacking.h"

#include "core/io/dtype.h"
#include "core/io/error.h"
#include "core/packed/codedecode.h"
#include "core/packed/packedformat.h"
#include "core/packed/sha256.h"

#include <QCryptographicHash>
#include <QTest>
#include <cmath>
#include <cstring>
#include <random>

namespace {

std::vector<std::uint8_t> randomCodes(std::size_t count, int bits, std::uint64_t seed)
{
    std::mt19937_64 engine(seed);
    std::vector<std::uint8_t> codes(count);
    for (auto& code : codes)
        code = std::uint8_t(engine() & ((1u << bits) - 1u));
    return codes;
}

// Lengths around every boundary of the fast paths: 8-code chunks, 32-code chunks, bytes.
const int kLengths[] = {0,  1,  2,  5,  7,  8,   9,   15,  16,   17,  31,
                        32, 33, 63, 64, 65, 127, 128, 129, 1000, 1001};

using DecodeFn = void (*)(const std::uint8_t*, std::int64_t, int, float, float, float*);

DecodeFn rtnDecoder(int bits)
{
    using lq::packed_detail::decodeRun;
    static constexpr DecodeFn table[] = {
        decodeRun<1, false>, decodeRun<2, false>, decodeRun<3, false>, decodeRun<4, false>,
        decodeRun<5, false>, decodeRun<6, false>, decodeRun<7, false>, decodeRun<8, false>};
    return table[bits - 1];
}

} // namespace

class BitPackingTest : public QObject
{
    Q_OBJECT

private slots:
    // The documented example (bitpacking.h, FORMAT.md): guards the on-disk bit order.
    void documentedExample()
    {
        const std::vector<std::uint8_t> codes{5, 1, 6};
        const std::vector<std::uint8_t> packed = lq::packCodes(codes, 3);
        QCOMPARE(packed.size(), std::size_t(2));
        QCOMPARE(int(packed[0]), 0x8D);
        QCOMPARE(int(packed[1]), 0x01);
        // One-bit codes are LSB first: 1,0,0,0,0,0,0,1 -> 0x81.
        QCOMPARE(int(lq::packCodes(std::vector<std::uint8_t>{1, 0, 0, 0, 0, 0, 0, 1}, 1)[0]), 0x81);
        // Two-bit codes 3, 0, 1, 2 -> 10 01 00 11 = 0x93.
        QCOMPARE(int(lq::packCodes(std::vector<std::uint8_t>{3, 0, 1, 2}, 2)[0]), 0x93);
    }

    void roundTrip_data()
    {
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("length");
        for (int bits = lq::kMinCodeBits; bits <= lq::kMaxCodeBits; ++bits)
            for (const int length : kLengths)
                QTest::addRow("b%d n%d", bits, length) << bits << length;
    }

    // Every width, every length: the stream has ceil(n b / 8) bytes, each code reads back by
    // itself and in bulk, and the padding bits are zero.
    void roundTrip()
    {
        QFETCH(int, bits);
        QFETCH(int, length);
        const auto codes =
            randomCodes(std::size_t(length), bits, std::uint64_t(bits * 1000 + length));
        const std::vector<std::uint8_t> packed = lq::packCodes(codes, bits);
        QCOMPARE(std::int64_t(packed.size()), (std::int64_t(length) * bits + 7) / 8);
        for (int k = 0; k < length; ++k)
            QCOMPARE(lq::codeAt(packed.data(), bits, k), unsigned(codes[std::size_t(k)]));
        std::vector<std::uint8_t> back(std::size_t(length), 0xFF);
        lq::unpackCodes(packed, bits, 0, back);
        QCOMPARE(back, codes);
        QVERIFY(lq::paddingIsZero(packed, bits, length));
        if (length * bits % 8 != 0) {
            std::vector<std::uint8_t> dirty = packed;
            dirty.back() |= 0x80;
            QVERIFY(!lq::paddingIsZero(dirty, bits, length));
        }
    }

    void unpackRange_data()
    {
        QTest::addColumn<int>("bits");
        for (int bits = lq::kMinCodeBits; bits <= lq::kMaxCodeBits; ++bits)
            QTest::addRow("b%d", bits) << bits;
    }

    // Any sub-range [first, first + count): unaligned heads, whole chunks, short tails.
    void unpackRange()
    {
        QFETCH(int, bits);
        const int total = 300;
        const auto codes = randomCodes(total, bits, std::uint64_t(bits));
        const std::vector<std::uint8_t> packed = lq::packCodes(codes, bits);
        for (const int first : {0, 1, 3, 7, 8, 9, 13, 31, 32, 33, 100})
            for (const int count : {0, 1, 6, 7, 8, 9, 17, 64, 65, 150}) {
                if (first + count > total)
                    continue;
                std::vector<std::uint8_t> part(static_cast<std::size_t>(count));
                lq::unpackCodes(packed, bits, first, part);
                for (int k = 0; k < count; ++k)
                    QCOMPARE(part[std::size_t(k)], codes[std::size_t(first + k)]);
            }
    }

    void decodeRun_data() { unpackRange_data(); }

    // The kernels' decoder gives (q - z) d bit for bit (RTN) and +-d (binary), on every head /
    // chunk / tail split, against the one-code-at-a-time reference.
    void decodeRun()
    {
        QFETCH(int, bits);
        const int total = 400;
        const auto codes = randomCodes(total, bits, std::uint64_t(100 + bits));
        std::vector<std::uint8_t> packed = lq::packCodes(codes, bits);
        packed.resize(packed.size() + lq::kStreamPadding, 0);
        const float zero = float((1u << bits) / 2);
        const float scale = 0.0137f;
        std::vector<float> out(total);
        for (const int first : {0, 1, 5, 31, 32, 33, 64, 77})
            for (const int count : {0, 1, 31, 32, 33, 64, 95, 96, 200, 323}) {
                if (first + count > total)
                    continue;
                rtnDecoder(bits)(packed.data(), first, count, zero, scale, out.data());
                for (int k = 0; k < count; ++k) {
                    const float expected = (float(codes[std::size_t(first + k)]) - zero) * scale;
                    QCOMPARE(out[std::size_t(k)], expected);
                }
                if (bits == 1) {
                    lq::packed_detail::decodeRun<1, true>(packed.data(), first, count, 0.0f, scale,
                                                          out.data());
                    for (int k = 0; k < count; ++k)
                        QCOMPARE(out[std::size_t(k)],
                                 codes[std::size_t(first + k)] ? scale : -scale);
                }
            }
    }

    void rejectsBadInput()
    {
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::packCodes(std::vector<std::uint8_t>{4}, 2));
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::packCodes(std::vector<std::uint8_t>{0}, 0));
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::packCodes(std::vector<std::uint8_t>{0}, 9));
        const std::vector<std::uint8_t> packed = lq::packCodes(std::vector<std::uint8_t>(10, 1), 3);
        std::vector<std::uint8_t> out(5);
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::unpackCodes(packed, 3, 6, out));
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::unpackCodes(packed, 3, -1, out));
    }

    // The kernels' branch-free binary16 conversion equals the I/O layer's for every finite half.
    void finiteHalfToFloat()
    {
        for (std::uint32_t bits = 0; bits < 0x10000u; ++bits) {
            const auto half = std::uint16_t(bits);
            if ((half & 0x7C00u) == 0x7C00u)
                continue; // Inf / NaN: validated away before use
            const float expected = lq::halfToFloat(half);
            const float got = lq::finiteHalfToFloat(half);
            if (std::memcmp(&expected, &got, sizeof got) != 0)
                QFAIL(qPrintable(QStringLiteral("half 0x%1: %2 vs %3")
                                     .arg(bits, 4, 16, QLatin1Char('0'))
                                     .arg(double(got))
                                     .arg(double(expected))));
        }
    }

    void sha256_data()
    {
        QTest::addColumn<QByteArray>("message");
        QTest::addColumn<QString>("digest");
        // FIPS 180-4 examples (and the empty message).
        QTest::addRow("empty")
            << QByteArray() << "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        QTest::addRow("abc") << QByteArray("abc")
                             << "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        QTest::addRow("two blocks")
            << QByteArray("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            << "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
        QTest::addRow("million a")
            << QByteArray(1000000, 'a')
            << "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    }

    // One shot and in odd-sized pieces (the buffering across blocks).
    void sha256()
    {
        QFETCH(QByteArray, message);
        QFETCH(QString, digest);
        const auto bytes =
            std::as_bytes(std::span(message.constData(), std::size_t(message.size())));
        QCOMPARE(QString::fromStdString(lq::sha256Hex(bytes)), digest);
        lq::Sha256 pieces;
        std::size_t at = 0;
        for (std::size_t step = 1; at < bytes.size(); step = step * 3 % 97 + 1) {
            const std::size_t take = std::min(step, bytes.size() - at);
            pieces.update(bytes.subspan(at, take));
            at += take;
        }
        QCOMPARE(QString::fromStdString(pieces.hexDigest()), digest);
    }

    // Every length 0..200 against Qt's implementation (all padding cases).
    void sha256Lengths()
    {
        QByteArray message;
        for (int length = 0; length <= 200; ++length) {
            const auto bytes =
                std::as_bytes(std::span(message.constData(), std::size_t(message.size())));
            QCOMPARE(QString::fromStdString(lq::sha256Hex(bytes)),
                     QString::fromLatin1(
                         QCryptographicHash::hash(message, QCryptographicHash::Sha256).toHex()));
            message.append(char('a' + length % 26));
        }
    }
};

QTEST_GUILESS_MAIN(BitPackingTest)
#include "bitpackingtest.moc"
