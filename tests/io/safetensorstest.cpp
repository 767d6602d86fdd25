// The safetensors reader and writer on real files: what a user loses if these break is the
// adapter itself (a rewrite that changes bytes, a header that other tools cannot read).

#include "core/io/safetensors.h"

#include "core/io/error.h"
#include "filesnapshot.h"
#include "shareddata.h"

#include <QTemporaryDir>
#include <QTest>
#include <cstring>

using namespace lq;

namespace {

QByteArray readAll(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

std::vector<std::byte> bytesOf(const std::vector<float>& values, DType type)
{
    std::vector<std::byte> bytes(values.size() * elementSize(type));
    convertFromFloat(type, values, bytes);
    return bytes;
}

} // namespace

class SafetensorsTest : public QObject
{
    Q_OBJECT

private slots:
    void sharedRoundTripIsByteIdentical_data();
    void sharedRoundTripIsByteIdentical();
    void writeThenReadKeepsEverything();
    void headerIsPaddedToEightBytes_data();
    void headerIsPaddedToEightBytes();
    void writerRejectsBadTensors();
    void failedWriteLeavesNothing();
    void writeReplacesAtomically();
};

void SafetensorsTest::sharedRoundTripIsByteIdentical_data()
{
    QTest::addColumn<QString>("name");
    if (!lqtest::haveShared())
        QTest::newRow("shared adapters absent") << QString();
    for (const QString& name : lqtest::sharedAdapterNames())
        QTest::newRow(qPrintable(name)) << name;
}

void SafetensorsTest::sharedRoundTripIsByteIdentical()
{
    // Guards: a read + write with no change must be invisible (same bytes, so the same hash a
    // hub or a cache has on record): header key order, compact JSON, padding and data order.
    LQ_REQUIRE_SHARED();
    QFETCH(QString, name);
    const QString source = lqtest::adaptersDir() + '/' + name + "/adapter_model.safetensors";
    const auto file = SafetensorsFile::open(source.toStdString());

    std::vector<TensorView> views;
    for (const TensorEntry& entry : file.tensors())
        views.push_back({entry.name, entry.dtype, entry.shape, file.bytes(entry), {}});
    QTemporaryDir dir;
    const QString target = dir.filePath("copy.safetensors");
    writeSafetensorViews(target.toStdString(), views, file.metadata());

    const QByteArray original = readAll(source);
    const QByteArray written = readAll(target);
    QVERIFY(!original.isEmpty());
    QCOMPARE(written.size(), original.size());
    QVERIFY2(written == original, "the rewritten file differs from the original");
    QCOMPARE(file.metadata().at("format"), std::string("pt"));
}

void SafetensorsTest::writeThenReadKeepsEverything()
{
    // Every factor dtype, integer and bool tensors, a non-LoRA tensor, a 1-D and a 0-element
    // tensor, metadata with several keys: all come back with the same names, order, shapes, dtypes
    // and values.
    const std::vector<float> values{1.0f, -2.5f, 0.375f, 1024.0f, -0.0625f, 3.0f};
    std::vector<TensorData> tensors{
        {"z.first", DType::F16, {2, 3}, bytesOf(values, DType::F16)},
        {"a.second", DType::BF16, {3, 2}, bytesOf(values, DType::BF16)},
        {"m.third", DType::F64, {6}, bytesOf(values, DType::F64)},
        {"classifier.weight", DType::F32, {1, 6}, bytesOf(values, DType::F32)},
        {"empty", DType::F32, {0, 4}, {}},
        {"position_ids", DType::I64, {3}, std::vector<std::byte>(24, std::byte{7})},
        {"mask", DType::Bool, {2, 3}, std::vector<std::byte>(6, std::byte{1})},
    };
    const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "é \"q\"\n"}};
    QTemporaryDir dir;
    const std::string path = dir.filePath("t.safetensors").toStdString();
    writeSafetensors(path, tensors, metadata);

    const auto file = SafetensorsFile::open(path);
    QCOMPARE(file.metadata(), metadata);
    QCOMPARE(file.tensors().size(), tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const TensorEntry& entry = file.tensors()[i];
        QCOMPARE(entry.name, tensors[i].name);
        QCOMPARE(entry.dtype, tensors[i].dtype);
        QCOMPARE(entry.shape, tensors[i].shape);
        QVERIFY(file.find(entry.name) == &entry);
        const auto bytes = file.bytes(entry);
        QCOMPARE(bytes.size(), tensors[i].bytes.size());
        QVERIFY(std::equal(bytes.begin(), bytes.end(), tensors[i].bytes.begin()));
        if (!isFactorType(entry.dtype))
            // An integer or bool tensor is bytes to carry over: converting it is an error that
            // names the file and the tensor, not garbage floats.
            QVERIFY_THROWS_EXCEPTION(Error, file.toFloat(entry));
        else if (entry.elementCount() == 6)
            QCOMPARE(file.toFloat(entry), values);
    }
    QVERIFY(file.find("missing") == nullptr);
}

void SafetensorsTest::headerIsPaddedToEightBytes_data()
{
    QTest::addColumn<int>("nameLength");
    for (int length = 1; length <= 8; ++length)
        QTest::newRow(qPrintable(QString::number(length))) << length;
}

void SafetensorsTest::headerIsPaddedToEightBytes()
{
    // The data section must start 8-byte aligned (readers that map F64 tensors rely on it), with
    // spaces as the padding; eight name lengths hit every remainder.
    QFETCH(int, nameLength);
    QTemporaryDir dir;
    const std::string path = dir.filePath("p.safetensors").toStdString();
    writeSafetensors(
        path,
        {{std::string(std::size_t(nameLength), 'x'), DType::F64, {1}, bytesOf({1.0f}, DType::F64)}},
        {});
    const QByteArray bytes = readAll(QString::fromStdString(path));
    quint64 length = 0;
    std::memcpy(&length, bytes.constData(), 8);
    QCOMPARE(length % 8, quint64(0));
    QCOMPARE(quint64(bytes.size()), 8 + length + 8);
    const QByteArray header = bytes.mid(8, int(length));
    QVERIFY(header.startsWith("{\"x"));                          // no __metadata__ when empty
    QVERIFY(header.trimmed().endsWith("}"));                     // only spaces after the JSON
    QVERIFY(!header.contains(": ") && !header.contains(", \"")); // compact
}

void SafetensorsTest::writerRejectsBadTensors()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("w.safetensors").toStdString();
    try {
        writeSafetensors(path, {{"t", DType::F32, {2, 2}, std::vector<std::byte>(12)}}, {});
        QFAIL("a tensor whose bytes do not match its shape was written");
    } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("does not match") != std::string::npos, e.what());
    }
    try {
        writeSafetensors(path,
                         {{"t", DType::F32, {1}, std::vector<std::byte>(4)},
                          {"t", DType::F32, {1}, std::vector<std::byte>(4)}},
                         {});
        QFAIL("two tensors with one name were written");
    } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("used twice") != std::string::npos, e.what());
    }
    // A tensor made while writing (an export's converted factors) is held to its shape too,
    // and a maker that fails leaves no partial file.
    const std::vector<std::byte> ok(4);
    const auto made = [&](std::size_t bytes) {
        return std::vector<TensorView>{
            {"first", DType::F32, {1}, ok, {}},
            {"made", DType::F32, {2, 2}, {}, [bytes] { return std::vector<std::byte>(bytes); }}};
    };
    try {
        writeSafetensorViews(path, made(12), {});
        QFAIL("a made tensor whose bytes do not match its shape was written");
    } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("does not match") != std::string::npos, e.what());
    }
    std::vector<TensorView> failing = made(16);
    failing[1].make = []() -> std::vector<std::byte> { throw Error("maker", "failed"); };
    QVERIFY_THROWS_EXCEPTION(Error, writeSafetensorViews(path, failing, {}));
    QVERIFY(QDir(dir.path()).isEmpty());
    writeSafetensorViews(path, made(16), {});
    QCOMPARE(SafetensorsFile::open(path).tensors().size(), std::size_t(2));
}

void SafetensorsTest::failedWriteLeavesNothing()
{
    // An output folder that cannot be written: a clear error naming the file, no partial file.
    // (As root, permissions do not stop writes; a missing folder does, for every user.)
    QTemporaryDir dir;
    const QString path = dir.filePath("missing-folder/out.safetensors");
    try {
        writeSafetensors(path.toStdString(), {{"t", DType::F32, {1}, std::vector<std::byte>(4)}},
                         {});
        QFAIL("writing into a missing folder succeeded");
    } catch (const Error& e) {
        QCOMPARE(QString::fromStdString(e.file()), path);
    }
    QVERIFY(QDir(dir.path())
                .entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot)
                .isEmpty());
}

void SafetensorsTest::writeReplacesAtomically()
{
    // Overwriting an existing file replaces it whole; the folder holds exactly the one file.
    QTemporaryDir dir;
    const std::string path = dir.filePath("r.safetensors").toStdString();
    writeSafetensors(path, {{"old", DType::F32, {1}, bytesOf({1.0f}, DType::F32)}}, {});
    writeSafetensors(path, {{"new", DType::F16, {2}, bytesOf({2.0f, 3.0f}, DType::F16)}}, {});
    const auto file = SafetensorsFile::open(path);
    QCOMPARE(file.tensors().size(), std::size_t(1));
    QCOMPARE(file.tensors()[0].name, std::string("new"));
    QCOMPARE(
        QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot).size(),
        1);
}

QTEST_APPLESS_MAIN(SafetensorsTest)
#include "safetensorstest.moc"
