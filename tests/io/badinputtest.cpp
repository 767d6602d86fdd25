// Every file in tests/data/bad (written by tests/data/bad/generate.py) must give its own clear
// error naming the file, never a crash, and must be left exactly as it was. A regression here is
// what a user sees as a crash, a vague message or a damaged adapter.

#include "core/io/adapter.h"
#include "core/io/error.h"
#include "filesnapshot.h"
#include "shareddata.h"

#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <random>
#include <unistd.h>

using namespace lq;

class BadInputTest : public QObject
{
    Q_OBJECT

private slots:
    void corpus_data();
    void corpus();
    void missingConfigIsAWarning();
    void missingPathNamesIt();
    void unreadableFile();
    void tensorFileIsAFolder();
    void sharedAdaptersAreNotModified();
    void everyTruncationIsAnError();
    void randomCorruptionNeverCrashes();
    void hugeTensorName();
    void hostilePatternKeyLoads();
    void costlyPatternKeysAreLiteral();
};

void BadInputTest::corpus_data()
{
    // case: file or folder under tests/data/bad; expected: part of the message that says what is
    // wrong; names: the file the message must name (relative to the case).
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("expected");
    QTest::addColumn<QString>("names");
    const QString model = "adapter_model.safetensors";
    const QString config = "adapter_config.json";
    QTest::newRow("empty file") << "empty.safetensors"
                                << "the file is empty"
                                << "";
    QTest::newRow("shorter than the length field") << "short.safetensors"
                                                   << "too short for a safetensors file"
                                                   << "";
    QTest::newRow("truncated data") << "truncated.safetensors"
                                    << "the file is truncated"
                                    << "";
    QTest::newRow("header length larger than the file") << "header-too-long.safetensors"
                                                        << "is larger than the file"
                                                        << "";
    QTest::newRow("offsets outside the file") << "offsets-outside.safetensors"
                                              << "data_offsets [4096, 4144] point outside the file"
                                              << "";
    QTest::newRow("overlapping offsets") << "overlapping-offsets.safetensors"
                                         << "overlap: data_offsets [0, 48] and [16, 48]"
                                         << "";
    QTest::newRow("unknown dtype") << "unknown-dtype.safetensors"
                                   << "unknown dtype 'F4' (known: F32, F16, BF16, F64, BOOL"
                                   << "";
    QTest::newRow("integer factor")
        << "integer-factor.safetensors"
        << "module base_model.model.model.layers.0.self_attn.q_proj: "
           "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight is stored as I8; LoRA "
           "factors must be F32, F16, BF16 or F64"
        << "";
    QTest::newRow("shape/size mismatch")
        << "shape-mismatch.safetensors"
        << "shape/size mismatch: shape [2, 5] of F32 needs 40 bytes but data_offsets [0, 48] "
           "hold 48"
        << "";
    QTest::newRow("malformed JSON") << "malformed-json.safetensors"
                                    << "malformed JSON header"
                                    << "";
    QTest::newRow("header not an object") << "not-an-object.safetensors"
                                          << "not a JSON object"
                                          << "";
    QTest::newRow("ranks of A and B disagree")
        << "rank-mismatch"
        << "q_proj: the ranks of A and B disagree: lora_A is [2, 6] (r = 2) "
           "but lora_B is [4, 3] (r = 3)"
        << model;
    QTest::newRow("NaN values, named module")
        << "nan-values"
        << "module base_model.model.model.layers.0.self_attn.v_proj: lora_A "
           "contains 1 NaN and 0 Inf values (first at row 1, column 1)"
        << model;
    QTest::newRow("Inf values, named module")
        << "inf-values"
        << "module base_model.model.model.layers.0.self_attn.q_proj: lora_B "
           "contains 0 NaN and 1 Inf values (first at row 1, column 1)"
        << model;
    QTest::newRow("F64 values beyond float32, named module and factor")
        << "f64-beyond-float32"
        << "module base_model.model.model.layers.0.self_attn.q_proj: lora_A holds values up to "
           "1.75e+300, beyond float32's range (largest 3.4028e+38), in which it is computed"
        << model;
    QTest::newRow("F32 values whose squares overflow, named module and factor")
        << "float32-square-overflow"
        << "module base_model.model.model.layers.0.self_attn.v_proj: lora_B holds values up to "
           "2.25e+30, too large to compute with in float32: the sums of their squares would "
           "reach 4.05e+61 (at most 5.1923e+33 is safe)"
        << model;
    QTest::newRow("F32 factors whose product overflows, named module")
        << "float32-product-overflow"
        << "module base_model.model.model.layers.0.self_attn.q_proj: lora_A and lora_B hold "
           "values too large to compute with in float32: the squares of the singular values of "
           "B A would reach 1.4884e+51 (at most 5.1923e+33 is safe)"
        << model;
    QTest::newRow("lora_A without lora_B") << "missing-lora-b"
                                           << "v_proj: lora_A has no matching lora_B" << model;
    QTest::newRow("folder with no adapter")
        << "no-adapter"
        << "no adapter found: the folder has no adapter_model.safetensors"
        << "";
    QTest::newRow("config with a wrong type")
        << "bad-config"
        << "'r' must be a positive whole number, got string \"eight\"" << config;
    QTest::newRow("100,000 nested lists in a shape")
        << "deep-nesting.safetensors"
        << "JSON header nests arrays and objects deeper than 64 levels"
        << "";
    QTest::newRow("a tensor given twice")
        << "duplicate-key.safetensors"
        << "JSON header gives the key "
           "'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' twice"
        << "";
    QTest::newRow("NUL in a tensor name")
        << "nul-in-name.safetensors"
        << "tensor name 'base_model.model.model.layers.0.self_attn.q_proj\\0...' holds a NUL "
           "character"
        << "";
    QTest::newRow("100,000 nested lists in the config")
        << "deep-config"
        << "adapter config JSON nests arrays and objects deeper than 64 levels" << config;
    // Found with fuzz_adapterconfig (tests/fuzz): a rank_pattern value above INT_MAX wrapped to a
    // negative rank.
    QTest::newRow("rank_pattern above INT_MAX (fuzzer)")
        << "rank-pattern-overflow"
        << "'rank_pattern.q_proj' must be a positive whole number, got number 2147483648" << config;
}

void BadInputTest::corpus()
{
    QFETCH(QString, path);
    QFETCH(QString, expected);
    QFETCH(QString, names);
    const QString full = lqtest::testDataDir() + "/bad/" + path;
    QVERIFY2(QFileInfo::exists(full), qPrintable(full + " is missing; run generate.py"));
    const QString named = names.isEmpty() ? full : full + '/' + names;

    const lqtest::FileSnapshot before = lqtest::snapshot(full);
    try {
        Adapter::load(full.toStdString());
        QFAIL(qPrintable("loaded a bad adapter: " + full));
    } catch (const Error& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(expected), qPrintable(message));
        QVERIFY2(message.startsWith(named + ": "), qPrintable(message));
        QCOMPARE(QString::fromStdString(e.file()), named);
    }
    QCOMPARE(lqtest::snapshot(full), before);
}

void BadInputTest::missingConfigIsAWarning()
{
    // Guards: a bare safetensors file is still an adapter; the rank comes from the shapes and
    // the scale is reported unknown instead of guessed.
    const QString full = lqtest::testDataDir() + "/bad/missing-config";
    const Adapter adapter = Adapter::load(full.toStdString());
    QCOMPARE(adapter.modules().size(), std::size_t(2));
    QVERIFY(!adapter.config());
    QCOMPARE(adapter.warnings().size(), std::size_t(1));
    QVERIFY(QString::fromStdString(adapter.warnings()[0]).contains("no adapter_config.json"));
    QVERIFY(QString::fromStdString(adapter.warnings()[0]).contains("scale"));
    for (const LoraModule& module : adapter.modules()) {
        QCOMPARE(module.r, 2);
        QVERIFY(!module.scale);
    }
}

void BadInputTest::missingPathNamesIt()
{
    const std::string path = (lqtest::testDataDir() + "/bad/does-not-exist").toStdString();
    try {
        Adapter::load(path);
        QFAIL("loaded a missing path");
    } catch (const Error& e) {
        QCOMPARE(e.file(), path);
        QVERIFY(std::string(e.what()).find("no such file or folder") != std::string::npos);
    }
}

void BadInputTest::unreadableFile()
{
    QTemporaryDir dir;
    const QString source = lqtest::testDataDir() + "/bad/missing-config/adapter_model.safetensors";
    const QString path = dir.filePath("adapter_model.safetensors");
    QVERIFY(QFile::copy(source, path));
    QVERIFY(QFile::setPermissions(path, QFileDevice::Permissions()));
    if (::access(path.toLocal8Bit().constData(), R_OK) == 0)
        QSKIP("the file is still readable after chmod 000 (running as root, which bypasses "
              "permissions); the unreadable-file case cannot be produced here");
    try {
        Adapter::load(path.toStdString());
        QFAIL("loaded an unreadable file");
    } catch (const Error& e) {
        QCOMPARE(QString::fromStdString(e.file()), path);
        QVERIFY2(std::string(e.what()).find("cannot open the file: Permission denied") !=
                     std::string::npos,
                 e.what());
    }
}

void BadInputTest::tensorFileIsAFolder()
{
    // The other way a file cannot be read, and one that works as root too.
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkdir("adapter_model.safetensors"));
    const QString path = dir.filePath("adapter_model.safetensors");
    try {
        Adapter::load(dir.path().toStdString());
        QFAIL("loaded a folder as a tensor file");
    } catch (const Error& e) {
        QCOMPARE(QString::fromStdString(e.file()), path);
        QVERIFY2(std::string(e.what()).find("is a folder, not a file") != std::string::npos,
                 e.what());
    }
}

void BadInputTest::sharedAdaptersAreNotModified()
{
    // Loading and reading every module's factors leaves the real adapters untouched.
    LQ_REQUIRE_SHARED();
    for (const QString& name : lqtest::sharedAdapterNames()) {
        const QString folder = lqtest::adaptersDir() + '/' + name;
        const lqtest::FileSnapshot before = lqtest::snapshot(folder);
        QVERIFY(!before.isEmpty());
        {
            const Adapter adapter = Adapter::load(folder.toStdString());
            for (std::size_t i = 0; i < adapter.modules().size(); ++i)
                QVERIFY(adapter.factors(i).B.allFinite());
        }
        QCOMPARE(lqtest::snapshot(folder), before);
    }
}

namespace {

QByteArray validTinyAdapter()
{
    QFile file(lqtest::testDataDir() + "/bad/missing-config/adapter_model.safetensors");
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

void writeBytes(const QString& path, const QByteArray& bytes)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
}

} // namespace

void BadInputTest::everyTruncationIsAnError()
{
    // An interrupted download can stop at any byte: each prefix is a clear error.
    const QByteArray valid = validTinyAdapter();
    QVERIFY(valid.size() > 100);
    QTemporaryDir dir;
    const QString path = dir.filePath("adapter_model.safetensors");
    for (int length = 0; length < valid.size(); ++length) {
        writeBytes(path, valid.left(length));
        try {
            Adapter::load(path.toStdString());
            QFAIL(qPrintable(QString("a %1-byte prefix loaded").arg(length)));
        } catch (const Error& e) {
            QCOMPARE(QString::fromStdString(e.file()), path);
        }
    }
    writeBytes(path, valid);
    QCOMPARE(Adapter::load(path.toStdString()).modules().size(), std::size_t(2));
}

void BadInputTest::randomCorruptionNeverCrashes()
{
    // Garbage in a header or in the data either still loads or is an lq::Error: never a crash,
    // never another exception type. Fixed seed; most mutations hit the JSON header.
    constexpr int kMutations = 3000;
    const QByteArray valid = validTinyAdapter();
    QTemporaryDir dir;
    const QString path = dir.filePath("adapter_model.safetensors");
    quint64 headerLength = 0;
    std::memcpy(&headerLength, valid.constData(), 8);
    QVERIFY(headerLength < quint64(valid.size()));
    std::mt19937 engine(20251122u);
    int errors = 0;
    for (int i = 0; i < kMutations; ++i) {
        QByteArray bytes = valid;
        const int edits = 1 + int(engine() % 4);
        for (int e = 0; e < edits; ++e) {
            const bool header = engine() % 8 != 0;
            const int limit = header ? 8 + int(headerLength) : int(bytes.size());
            const auto at = qsizetype(engine() % unsigned(limit));
            // Digits, quotes, brackets and commas make the JSON mutations interesting.
            static const char kInteresting[] = "0123456789\"[]{},:-.eE \x00\xff";
            bytes[at] = (engine() % 2) ? kInteresting[engine() % (sizeof kInteresting - 1)]
                                       : char(engine() & 0xff);
        }
        writeBytes(path, bytes);
        try {
            Adapter::load(path.toStdString());
        } catch (const Error& e) {
            ++errors;
            QVERIFY2(!e.problem().empty(), "an error without a message");
        } catch (const std::exception& e) {
            QFAIL(
                qPrintable(QString("mutation %1 threw a non-lq::Error: %2").arg(i).arg(e.what())));
        }
    }
    QVERIFY(errors > kMutations / 10); // the mutations did reach the validation
}

void BadInputTest::hugeTensorName()
{
    // Names are not length-limited by the format; a 1 MB one must not overflow anything.
    QTemporaryDir dir;
    const std::string name(1 << 20, 'x');
    std::vector<std::byte> bytes(4);
    writeSafetensors(dir.filePath("adapter_model.safetensors").toStdString(),
                     {{name + ".lora_A.weight", DType::F32, {1, 1}, bytes},
                      {name + ".lora_B.weight", DType::F32, {1, 1}, bytes}},
                     {});
    const Adapter adapter = Adapter::load(dir.path().toStdString());
    QCOMPARE(adapter.modules().size(), std::size_t(1));
    QCOMPARE(adapter.modules()[0].name, name);
}

void BadInputTest::hostilePatternKeyLoads()
{
    // Found with fuzz_adapterconfig: an alpha_pattern key like "(.*.*.*)*x" took exponential time
    // in a backtracking regex engine, so Adapter::load never returned (this test then hits the
    // CTest timeout). The key is a valid regex matching no module: it must not apply, while the
    // regex key "q_pr.j" beside it still does (alpha 8 / r 2 = 4 on q_proj, 4 / 2 = 2 on v_proj).
    const QString full = lqtest::testDataDir() + "/bad/catastrophic-pattern";
    const lqtest::FileSnapshot before = lqtest::snapshot(full);
    const Adapter adapter = Adapter::load(full.toStdString());
    QCOMPARE(adapter.modules().size(), std::size_t(2));
    QCOMPARE(adapter.modules()[0].kind, std::string("q_proj"));
    QVERIFY(adapter.modules()[0].scale);
    QCOMPARE(*adapter.modules()[0].scale, 4.0);
    QCOMPARE(adapter.modules()[1].kind, std::string("v_proj"));
    QVERIFY(adapter.modules()[1].scale);
    QCOMPARE(*adapter.modules()[1].scale, 2.0);
    QCOMPARE(lqtest::snapshot(full), before);
}

void BadInputTest::costlyPatternKeysAreLiteral()
{
    // Found with fuzz_adapterconfig: a back-reference or a repeat count of 20 digits in a
    // pattern key overflowed a long inside libstdc++'s regex parser (undefined behaviour, which
    // the sanitizer build of this test reports), and a repeat count of 1001 on a group made a
    // 100000-state NFA that took over 10 s per module under ASan. Such keys are compared
    // literally, so they match no module, while a regex key with a small repeat count still
    // applies: 8 / r 2 = 4 on q_proj, lora_alpha 4 / 2 = 2 on v_proj.
    QTemporaryDir dir;
    std::vector<std::byte> bytes(2 * 3 * 4);
    const std::string prefix = "base_model.model.model.layers.1.self_attn.";
    std::vector<TensorData> tensors;
    for (const char* kind : {"q_proj", "v_proj"})
        for (const char* factor : {".lora_A.weight", ".lora_B.weight"})
            tensors.push_back({prefix + kind + factor, DType::F32, {2, 3}, bytes});
    tensors[1].shape = {3, 2};
    tensors[3].shape = {3, 2};
    writeSafetensors(dir.filePath("adapter_model.safetensors").toStdString(), tensors, {});
    QFile config(dir.filePath("adapter_config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(R"({"r": 2, "lora_alpha": 4, "alpha_pattern": {
        "layers\\.1\\99999999999999999999.*v_proj": 40,
        "v_proj{99999999999999999999}": 40,
        "(.*.*.*.*.*.*.*.*.*.*.*.*){1001}*v_proj": 40,
        "layers\\.[0-9]{1,2}\\.self_attn\\.q_pr.j": 8}})");
    config.close();
    const Adapter adapter = Adapter::load(dir.path().toStdString());
    QCOMPARE(adapter.modules().size(), std::size_t(2));
    QCOMPARE(adapter.modules()[0].scale, std::optional<double>(4.0));
    QCOMPARE(adapter.modules()[1].scale, std::optional<double>(2.0));
}

QTEST_APPLESS_MAIN(BadInputTest)
#include "badinputtest.moc"
