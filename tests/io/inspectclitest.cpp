// The `loraquant` command line as a user and a script call it: exit codes, stderr for errors,
// parseable --json, and numbers that agree with the core library.

#include "clirun.h"
#include "core/engine/lowranksvd.h"
#include "core/io/adapter.h"
#include "core/io/dtype.h"
#include "core/io/safetensors.h"
#include "shareddata.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

namespace {

// JSON prints doubles with 17 significant digits, so float singular values come back exactly.
constexpr double kJsonTolerance = 0.0;

using lqtest::runCli;
using Run = lqtest::CliRun;

// Runs `script` in /bin/sh in `folder` with $L the loraquant executable and $D the folder name
// "a", byte 0xff, "b": QProcess passes its arguments as QStrings, which cannot hold bytes that
// are not UTF-8, so only a shell can give them to the program as a user's shell would.
Run runInShell(const QString& script, const QString& folder)
{
    QProcess process;
    process.setWorkingDirectory(folder);
    process.start("/bin/sh", {"-c", "L=\"$0\"; D=$(printf 'a\\377b'); " + script,
                              QStringLiteral(LQ_CLI_PATH)});
    return lqtest::finishRun(process, 300000);
}

} // namespace

class InspectCliTest : public QObject
{
    Q_OBJECT

private slots:
    void inspectJson_data();
    void inspectJson();
    void inspectTable();
    void errorsGoToStderr_data();
    void errorsGoToStderr();
    void help_data();
    void help();
    void synthThenInspect();
    void mixedFactorTypes();
    void nonUtf8Paths();
};

void InspectCliTest::inspectJson_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("modules");
    QTest::newRow("folder") << "gptneo125m-qv-r8-f32" << 24;
    QTest::newRow("safetensors file") << "qwen2.5-3b-qv-r4-f32/adapter_model.safetensors" << 72;
}

void InspectCliTest::inspectJson()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QString, path);
    QFETCH(int, modules);
    const QString full = lqtest::adaptersDir() + '/' + path;
    const Run run = runCli({"inspect", full, "--json"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.err.isEmpty(), run.err.constData());
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(run.out, &error);
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    const QJsonObject root = document.object();
    const QJsonArray list = root["modules"].toArray();
    QCOMPARE(list.size(), modules);
    QCOMPARE(root["totals"].toObject()["modules"].toInt(), modules);

    // The numbers agree with the library: shapes, parameters, bytes, and the singular values of
    // B A for every module.
    const lq::Adapter adapter = lq::Adapter::load(full.toStdString());
    QCOMPARE(root["totals"].toObject()["parameters"].toInteger(), adapter.parameterCount());
    QCOMPARE(root["totals"].toObject()["bytes"].toInteger(), qint64(adapter.storedBytes()));
    for (int i = 0; i < list.size(); ++i) {
        const QJsonObject item = list[i].toObject();
        const lq::LoraModule& module = adapter.modules()[std::size_t(i)];
        QCOMPARE(item["name"].toString().toStdString(), module.name);
        QCOMPARE(item["m"].toInt(), module.m);
        QCOMPARE(item["n"].toInt(), module.n);
        QCOMPARE(item["r"].toInt(), module.r);
        QCOMPARE(item["dtype"].toString(), QString("F32"));
        const QJsonArray values = item["singular_values"].toArray();
        QCOMPARE(values.size(), module.r);
        const lq::ModuleFactors f = adapter.factors(std::size_t(i));
        const Eigen::VectorXf s = lq::lowRankSingularValues(f.B, f.A);
        double energy = 0;
        for (int k = 0; k < module.r; ++k) {
            QVERIFY(std::abs(values[k].toDouble() - s[k]) <= kJsonTolerance);
            energy += double(s[k]) * s[k];
        }
        QVERIFY(std::abs(item["top_energy_share"].toDouble() - double(s[0]) * s[0] / energy) <
                1e-12);
        const int k80 = item["components_80"].toInt();
        const int k90 = item["components_90"].toInt();
        QVERIFY(k80 >= 1 && k80 <= k90 && k90 <= module.r);
    }
}

void InspectCliTest::inspectTable()
{
    LQ_REQUIRE_SHARED();
    const Run run = runCli({"inspect", lqtest::adaptersDir() + "/opencalm1b-qkv-r1-f16"});
    QCOMPARE(run.exitCode, 0);
    const QString out = QString::fromUtf8(run.out);
    QVERIFY(out.contains("base_model.model.gpt_neox.layers.23.attention.query_key_value"));
    QVERIFY(out.contains("6144   2048    1  F16"));
    // By layer, though the file (as PEFT saves it) has layers 0, 1, 10, 11, ..., 19, 2, 20, ...
    const QString layer2 = "layers.2.attention.query_key_value ";
    const QString layer10 = "layers.10.attention.query_key_value ";
    QVERIFY(out.indexOf(layer2) >= 0 && out.indexOf(layer2) < out.indexOf(layer10));
    const lq::Adapter adapter =
        lq::Adapter::load((lqtest::adaptersDir() + "/opencalm1b-qkv-r1-f16").toStdString());
    QCOMPARE(adapter.modules()[2].layer, 10);
    QVERIFY2(out.contains("totals   24 modules, 196608 parameters, 393216 bytes"),
             qPrintable(out.right(300)));
}

void InspectCliTest::errorsGoToStderr_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("expected");
    const QString bad = lqtest::testDataDir() + "/bad/";
    QTest::newRow("empty file") << QStringList{"inspect", bad + "empty.safetensors"} << 1
                                << bad + "empty.safetensors: the file is empty";
    QTest::newRow("NaN module") << QStringList{"inspect", bad + "nan-values", "--json"} << 1
                                << "lora_A contains 1 NaN";
    QTest::newRow("no adapter") << QStringList{"inspect", bad + "no-adapter"} << 1
                                << "no adapter found";
    QTest::newRow("missing path") << QStringList{"inspect"} << 2 << "missing PATH";
    QTest::newRow("unknown option")
        << QStringList{"inspect", bad, "--jsn"} << 2 << "unknown option '--jsn'";
    QTest::newRow("synth unknown preset")
        << QStringList{"synth", "--preset", "gpt5", "-o", "/nonexistent/x"} << 2
        << "unknown preset 'gpt5'";
    QTest::newRow("synth bad dtype")
        << QStringList{"synth", "--preset", "tiny", "--dtype", "f8", "-o", "/nonexistent/x"} << 2
        << "--dtype must be f16, bf16 or f32";
    // An option given twice, by either of its names: which value would win is not obvious.
    QTest::newRow("synth -o and --output")
        << QStringList{"synth",          "--preset", "tiny",          "-o",
                       "/nonexistent/a", "--output", "/nonexistent/b"}
        << 2 << "option -o/--output is given twice (as -o and --output); give it once";
    QTest::newRow("synth --output=A --output B")
        << QStringList{"synth",    "--preset",      "tiny", "--output=/nonexistent/a",
                       "--output", "/nonexistent/b"}
        << 2 << "option -o/--output is given twice; give it once";
    QTest::newRow("inspect --json twice")
        << QStringList{"inspect", bad + "nan-values", "--json", "--json"} << 2
        << "option --json is given twice; give it once";
    QTest::newRow("unpack -o and --output")
        << QStringList{"unpack", bad + "x.lqa.h5", "--output", "/nonexistent/a",
                       "-o",     "/nonexistent/b"}
        << 2 << "option -o/--output is given twice (as --output and -o); give it once";
    // Numbers in sweep's lists follow the rule of every numeric option.
    QTest::newRow("sweep --rhos with nan")
        << QStringList{"sweep", bad + "nan-values", "--rhos", "0.5,nan"} << 2
        << "--rhos expects a finite number, got 'nan'";
    QTest::newRow("sweep --rhos with 1e999")
        << QStringList{"sweep", bad + "nan-values", "--rhos", "1e999"} << 2
        << "--rhos expects a finite number, got '1e999'";
    QTest::newRow("sweep --rhos with a space")
        << QStringList{"sweep", bad + "nan-values", "--rhos", "0.5, 0.6"} << 2
        << "--rhos expects a finite number, got ' 0.6'";
    QTest::newRow("synth -o without a value") << QStringList{"synth", "--preset", "tiny", "-o"} << 2
                                              << "option -o/--output needs a value";
    QTest::newRow("synth into a file's subfolder")
        << QStringList{"synth", "--preset", "tiny", "-o", bad + "empty.safetensors/x"} << 1
        << bad + "empty.safetensors/x: " + bad + "empty.safetensors is a file, not a folder";
}

void InspectCliTest::errorsGoToStderr()
{
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, expected);
    const Run run = runCli(arguments);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(QString::fromUtf8(run.err).contains(expected), run.err.constData());
    QVERIFY2(run.out.isEmpty(), run.out.constData()); // nothing half-printed on stdout
}

void InspectCliTest::help_data()
{
    QTest::addColumn<QString>("command");
    QTest::newRow("inspect") << "inspect";
    QTest::newRow("synth") << "synth";
}

void InspectCliTest::help()
{
    QFETCH(QString, command);
    const Run run = runCli({command, "--help"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY(run.out.startsWith(("usage: loraquant " + command).toUtf8()));
    QVERIFY(run.out.count('\n') > 5); // a description, not just the usage line
}

void InspectCliTest::synthThenInspect()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath("mistral-qv");
    // mistral-7b q/v at rank 2: small enough for a test, with the GQA v_proj shape.
    Run run = runCli({"synth", "--preset", "mistral-7b", "--rank", "2", "--targets", "qv",
                      "--dtype", "bf16", "--seed", "3", "-o", folder});
    QCOMPARE(run.exitCode, 0);
    QVERIFY(run.out.startsWith("wrote "));
    run = runCli({"inspect", folder, "--json"});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject root = QJsonDocument::fromJson(run.out).object();
    const QJsonArray modules = root["modules"].toArray();
    QCOMPARE(modules.size(), 64);
    QCOMPARE(modules[1].toObject()["name"].toString(),
             QString("base_model.model.model.layers.0.self_attn.v_proj"));
    QCOMPARE(modules[1].toObject()["m"].toInt(), 1024);
    QCOMPARE(modules[1].toObject()["n"].toInt(), 4096);
    QCOMPARE(modules[1].toObject()["dtype"].toString(), QString("BF16"));
    QCOMPARE(root["config"].toObject()["base_model"].toString(),
             QString("mistralai/Mistral-7B-v0.1"));
}

// Some exporters keep lora_A in float32 beside a bfloat16 lora_B: the listing shows both types
// for such a module, not B's alone, and the byte total counts each tensor at its own size.
void InspectCliTest::mixedFactorTypes()
{
    QTemporaryDir dir;
    const auto tensor = [](std::string name, lq::DType type, std::int64_t rows, std::int64_t cols) {
        std::vector<float> values(std::size_t(rows * cols));
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = 0.01f * float(i % 7) - 0.02f;
        std::vector<std::byte> bytes(values.size() * lq::elementSize(type));
        lq::convertFromFloat(type, values, bytes);
        return lq::TensorData{std::move(name), type, {rows, cols}, std::move(bytes)};
    };
    const std::string q = "base_model.model.layers.0.q_proj";
    const std::string v = "base_model.model.layers.0.v_proj";
    lq::writeSafetensors(dir.filePath("adapter_model.safetensors").toStdString(),
                         {tensor(q + ".lora_A.weight", lq::DType::F32, 2, 8),
                          tensor(q + ".lora_B.weight", lq::DType::BF16, 6, 2),
                          tensor(v + ".lora_A.weight", lq::DType::F16, 2, 8),
                          tensor(v + ".lora_B.weight", lq::DType::F16, 6, 2)},
                         {});

    Run run = runCli({"inspect", dir.path()});
    QCOMPARE(run.exitCode, 0);
    const QString table = QString::fromUtf8(run.out);
    QVERIFY2(table.contains(QString::fromStdString(q) + "      6      8    2  F32/BF16"),
             qPrintable(table));
    QVERIFY2(table.contains(QString::fromStdString(v) + "      6      8    2  F16     "),
             qPrintable(table));
    // q: 16 A values of 4 bytes and 12 B values of 2; v: 28 values of 2.
    QVERIFY2(table.contains("2 modules, 56 parameters, 144 bytes"), qPrintable(table));

    run = runCli({"inspect", dir.path(), "--json"});
    QCOMPARE(run.exitCode, 0);
    const QJsonArray modules = QJsonDocument::fromJson(run.out).object()["modules"].toArray();
    QCOMPARE(modules.size(), 2);
    QCOMPARE(modules[0].toObject()["dtype"].toString(), QString("F32/BF16"));
    QCOMPARE(modules[0].toObject()["dtype_a"].toString(), QString("F32"));
    QCOMPARE(modules[0].toObject()["dtype_b"].toString(), QString("BF16"));
    QCOMPARE(modules[1].toObject()["dtype"].toString(), QString("F16"));
    QCOMPARE(modules[1].toObject()["dtype_a"].toString(), QString("F16"));
}

// A folder named in another encoding (byte 0xff): every JSON output used to fail with
// "[json.exception.type_error.316] invalid UTF-8 byte" after the work, exit 1. The byte is now
// written as U+FFFD, exit 0, and the JSON parses.
void InspectCliTest::nonUtf8Paths()
{
    QTemporaryDir dir;
    const QString shown = QString::fromUtf8("a\uFFFDb");
    Run run = runInShell("\"$L\" synth --preset tiny --rank 2 --targets qv -o \"$D\"", dir.path());
    QVERIFY2(run.exitCode == 0, run.err.constData());
    // QTemporaryDir cannot name this folder to remove it (Qt decodes file names as UTF-8).
    const auto removeFolder = qScopeGuard([&] { runInShell("rm -rf \"$D\"", dir.path()); });

    run = runInShell("\"$L\" inspect \"$D\" --json", dir.path());
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QVERIFY2(run.err.isEmpty(), run.err.constData());
    QJsonParseError error;
    const QJsonObject inspected = QJsonDocument::fromJson(run.out, &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    QCOMPARE(inspected["path"].toString(), shown);
    QCOMPARE(inspected["safetensors"].toString(), shown + "/adapter_model.safetensors");
    QCOMPARE(inspected["modules"].toArray().size(), 8);

    run = runInShell("\"$L\" quantize \"$D\" --report report.json", dir.path());
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QFile report(dir.filePath("report.json"));
    QVERIFY(report.open(QIODevice::ReadOnly));
    const QJsonObject reported = QJsonDocument::fromJson(report.readAll(), &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    QCOMPARE(reported["adapter"].toString(), shown);
    QCOMPARE(reported["modules"].toArray().size(), 8);

    run = runInShell("\"$L\" sweep \"$D\" --methods rtn,svd-split --rhos 0.8 --bits-high 2 "
                     "--json sweep.json",
                     dir.path());
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QFile sweep(dir.filePath("sweep.json"));
    QVERIFY(sweep.open(QIODevice::ReadOnly));
    const QJsonObject swept = QJsonDocument::fromJson(sweep.readAll(), &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    QCOMPARE(swept["adapter"].toString(), shown);
    QVERIFY(!swept["rows"].toArray().isEmpty());
}

QTEST_GUILESS_MAIN(InspectCliTest)
#include "inspectclitest.moc"
