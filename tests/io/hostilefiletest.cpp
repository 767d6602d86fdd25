// Files crafted to hurt the reader rather than to hold an adapter (issue 25): JSON nested 100,000
// deep wherever JSON is read, special files where a regular file belongs, text files too large to
// be a config, a tensor file truncated while it is in use, names and values megabytes long. Each
// must end in a short lq::Error naming the file, fast, without a crash or a hang.

#include "core/engine/quantplan.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "core/io/inputfile.h"
#include "core/io/safetensors.h"
#include "core/io/textfile.h"
#include "shareddata.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace lq;

namespace {

constexpr int kDeep = 100000;
// Longer than any message a person should read; a message that quotes a hostile value whole
// is megabytes.
constexpr std::size_t kLongestMessage = 1000;

const char* kQ = "base_model.model.model.layers.0.self_attn.q_proj";

// A one-module F32 adapter (A [2, 3], B [4, 2]) whose header is `entryA` for lora_A, the rest
// fixed.
std::string tensorFileBytes(const std::string& entryA, const std::string& extra = {})
{
    const std::string header = std::string("{") + extra + "\"" + kQ + ".lora_A.weight\":" + entryA +
                               ",\"" + kQ +
                               ".lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[4,2],"
                               "\"data_offsets\":[24,56]}}";
    std::string bytes(8, '\0');
    const std::uint64_t length = header.size();
    std::memcpy(bytes.data(), &length, 8);
    bytes += header;
    std::string data(56, '\0');
    for (std::size_t i = 0; i < 14; ++i) {
        const float value = 0.25f * float(i + 1);
        std::memcpy(data.data() + 4 * i, &value, 4);
    }
    return bytes + data;
}

const std::string kGoodEntryA = R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";

void writeFile(const QString& path, const std::string& bytes)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    QCOMPARE(file.write(bytes.data(), qint64(bytes.size())), qint64(bytes.size()));
}

std::string deep(const std::string& leaf = "1")
{
    return std::string(kDeep, '[') + leaf + std::string(kDeep, ']');
}

// Loads `path`, which must fail with lq::Error naming `named` and containing `expected`, in a
// message short enough to read.
void expectRefused(const QString& path, const QString& named, const QString& expected)
{
    QElapsedTimer timer;
    timer.start();
    try {
        Adapter::load(path.toStdString());
        QFAIL(qPrintable("loaded a hostile adapter: " + path));
    } catch (const Error& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(expected), qPrintable(message));
        QCOMPARE(QString::fromStdString(e.file()), named);
        QVERIFY2(std::strlen(e.what()) < kLongestMessage, qPrintable(message.left(300)));
    }
    QVERIFY2(timer.elapsed() < 10000, "refusing a hostile file took more than 10 s");
}

} // namespace

class HostileFileTest : public QObject
{
    Q_OBJECT

private slots:
    void nestedHeader_data();
    void nestedHeader();
    void nestedConfig_data();
    void nestedConfig();
    void nestedPlan();
    void longValuesAreCutInMessages();
    void specialFiles_data();
    void specialFiles();
    void oversizedConfig();
    void fileTruncatedWhileInUse();
    void fileChangedWhileRead();
};

void HostileFileTest::nestedHeader_data()
{
    QTest::addColumn<QString>("entryA");
    QTest::addColumn<QString>("extra");
    QTest::newRow("shape") << QString::fromStdString(R"({"dtype":"F32","shape":)" + deep() +
                                                     R"(,"data_offsets":[0,24]})")
                           << "";
    QTest::newRow("dtype") << QString::fromStdString(R"({"dtype":)" + deep() +
                                                     R"(,"shape":[2,3],"data_offsets":[0,24]})")
                           << "";
    QTest::newRow("data_offsets")
        << QString::fromStdString(R"({"dtype":"F32","shape":[2,3],"data_offsets":)" + deep() + "}")
        << "";
    QTest::newRow("__metadata__") << QString::fromStdString(kGoodEntryA)
                                  << QString::fromStdString(R"("__metadata__":{"format":)" +
                                                            deep() + "},");
    QTest::newRow("an unknown key in an entry")
        << QString::fromStdString(R"({"dtype":"F32","x":)" + deep() +
                                  R"(,"shape":[2,3],"data_offsets":[0,24]})")
        << "";
    QTest::newRow("an unclosed list") << QString::fromStdString(std::string(kDeep, '[')) << "";
}

void HostileFileTest::nestedHeader()
{
    QFETCH(QString, entryA);
    QFETCH(QString, extra);
    QTemporaryDir dir;
    const QString path = dir.filePath("adapter_model.safetensors");
    writeFile(path, tensorFileBytes(entryA.toStdString(), extra.toStdString()));
    expectRefused(path, path, "JSON header nests arrays and objects deeper than 64 levels");
}

void HostileFileTest::nestedConfig_data()
{
    QTest::addColumn<QString>("key");
    for (const char* key : {"r", "lora_alpha", "target_modules", "rank_pattern", "alpha_pattern",
                            "use_rslora", "task_type"})
        QTest::newRow(key) << key;
}

void HostileFileTest::nestedConfig()
{
    QFETCH(QString, key);
    QTemporaryDir dir;
    writeFile(dir.filePath("adapter_model.safetensors"), tensorFileBytes(kGoodEntryA));
    const QString config = dir.filePath("adapter_config.json");
    writeFile(config, "{\"r\": 2, \"" + key.toStdString() + "\": " + deep() + "}");
    expectRefused(dir.path(), config,
                  "adapter config JSON nests arrays and objects deeper than 64 levels");
}

void HostileFileTest::nestedPlan()
{
    QTemporaryDir dir;
    const QString plan = dir.filePath("plan.json");
    writeFile(plan, R"({"method": "loraquant", "settings": {"rho": )" + deep() + "}}");
    try {
        readReportPlan(plan.toStdString());
        QFAIL("read a plan nested 100,000 deep");
    } catch (const Error& e) {
        QCOMPARE(QString::fromStdString(e.file()), plan);
        QVERIFY2(std::string(e.what()).find("JSON nests arrays and objects deeper than 64") !=
                     std::string::npos,
                 e.what());
    }
}

void HostileFileTest::longValuesAreCutInMessages()
{
    // A megabyte dtype string, a megabyte tensor name, a megabyte config value: each message
    // quotes the start and says how long the value was.
    QTemporaryDir dir;
    const std::string huge(1 << 20, 'x');
    const QString dtype = dir.filePath("dtype.safetensors");
    writeFile(dtype, tensorFileBytes(R"({"dtype":")" + huge +
                                     R"(","shape":[2,3],"data_offsets":[0,24]})"));
    expectRefused(dtype, dtype, "unknown dtype 'xxx");
    expectRefused(dtype, dtype, "... (1048576 bytes)");

    const QString name = dir.filePath("name.safetensors");
    writeFile(name, tensorFileBytes(kGoodEntryA, "\"" + huge + R"(":{"dtype":"F32"},)"));
    expectRefused(name, name, "... (1048576 bytes)");

    QDir(dir.path()).mkdir("config");
    writeFile(dir.filePath("config/adapter_model.safetensors"), tensorFileBytes(kGoodEntryA));
    const QString config = dir.filePath("config/adapter_config.json");
    writeFile(config, R"({"r": ")" + huge + "\"}");
    expectRefused(dir.filePath("config"), config, "'r' must be a positive whole number");
}

void HostileFileTest::specialFiles_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("expected");
    const QString model = "adapter_model.safetensors", config = "adapter_config.json";
    QTest::newRow("FIFO as the tensor file") << "fifo" << model << "is a FIFO (named pipe)";
    QTest::newRow("FIFO as the config") << "fifo" << config << "is a FIFO (named pipe)";
    QTest::newRow("config -> /dev/zero") << "/dev/zero" << config << "is a character device";
    QTest::newRow("tensor file -> /dev/urandom")
        << "/dev/urandom" << model << "is a character device";
    QTest::newRow("socket as the tensor file") << "socket" << model << "is a socket";
}

void HostileFileTest::specialFiles()
{
    QFETCH(QString, kind);
    QFETCH(QString, file);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString model = dir.filePath("adapter_model.safetensors");
    const QString config = dir.filePath("adapter_config.json");
    writeFile(model, tensorFileBytes(kGoodEntryA));
    writeFile(config, R"({"r": 2, "lora_alpha": 4})");
    const QString target = dir.filePath(file);
    QVERIFY(QFile::remove(target));
    const QByteArray where = target.toLocal8Bit();
    if (kind == "fifo") {
        QCOMPARE(::mkfifo(where.constData(), 0644), 0);
    } else if (kind == "socket") {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        QVERIFY(fd >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (std::size_t(where.size()) >= sizeof address.sun_path)
            QSKIP("the temporary folder's path is too long for a socket address");
        std::strcpy(address.sun_path, where.constData());
        QCOMPARE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        ::close(fd);
    } else {
        QVERIFY(QFile::link(kind, target)); // the refusal must follow symbolic links
    }
    expectRefused(dir.path(), target, expected);
    expectRefused(dir.path(), target, "not a regular file");
}

void HostileFileTest::oversizedConfig()
{
    QTemporaryDir dir;
    writeFile(dir.filePath("adapter_model.safetensors"), tensorFileBytes(kGoodEntryA));
    const QString config = dir.filePath("adapter_config.json");
    QFile file(config);
    QVERIFY(file.open(QIODevice::WriteOnly));
    QVERIFY(file.resize(qint64(kMaxTextFileBytes) + 1)); // sparse: no disk space needed
    file.close();
    expectRefused(dir.path(), config, "over the 16 MiB limit for small text files");
}

void HostileFileTest::fileTruncatedWhileInUse()
{
    // A mapped file truncated under the reader killed it with SIGBUS on the next access; the
    // file is read once, so the values stay as they were read.
    QTemporaryDir dir;
    const QString path = dir.filePath("adapter_model.safetensors");
    writeFile(path, tensorFileBytes(kGoodEntryA));
    const SafetensorsFile file = SafetensorsFile::open(path.toStdString());
    QCOMPARE(::truncate(path.toLocal8Bit().constData(), 0), 0);
    const std::vector<float> b = file.toFloat(*file.find(std::string(kQ) + ".lora_B.weight"));
    QCOMPARE(b.size(), std::size_t(8));
    QCOMPARE(b.back(), 0.25f * 14);
}

void HostileFileTest::fileChangedWhileRead()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("adapter_model.safetensors");
    writeFile(path, tensorFileBytes(kGoodEntryA));
    const QByteArray where = path.toLocal8Bit();
    {
        const InputFile input = InputFile::open(path.toStdString(), "file");
        QCOMPARE(::truncate(where.constData(), 40), 0);
        std::vector<std::byte> bytes(input.size());
        QVERIFY_THROWS_EXCEPTION(Error, input.readAll(bytes.data()));
        try {
            input.readAll(bytes.data());
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("the file changed while it was read") !=
                         std::string::npos,
                     e.what());
        }
    }
    {
        const InputFile input = InputFile::open(path.toStdString(), "file");
        QCOMPARE(::truncate(where.constData(), 4000), 0);
        std::vector<std::byte> bytes(input.size());
        QVERIFY_THROWS_EXCEPTION(Error, input.readAll(bytes.data()));
    }
}

QTEST_GUILESS_MAIN(HostileFileTest)
#include "hostilefiletest.moc"
