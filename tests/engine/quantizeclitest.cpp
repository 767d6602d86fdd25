// `loraquant quantize` as a user and a script call it: the report parses and agrees with the
// library, the exported adapter loads like the input (same keys, dtypes, shapes, config) and
// holds the quantized factors, and the input is never overwritten.

#include "clirun.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/quantplan.h"
#include "core/engine/updateerror.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "shareddata.h"
#include "tests/io/filesnapshot.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace lq;

namespace {

// The CLI and the library run the same deterministic code on the same float32 factors.
constexpr double kSameRunTolerance = 0.0;
// An F32 adapter exported and reloaded holds B_hat and A_hat exactly; the error recomputed from
// the reloaded factors differs from the reported one only by the order of double sums.
constexpr double kReloadedErrorTolerance = 1e-9;
// An F16 adapter stores B_hat and A_hat rounded to fp16 once more (relative 2^-11 per value),
// which moves a relative error of ~0.5 by ~1e-4.
constexpr double kReloadedF16ErrorTolerance = 1e-3;

using lqtest::runCli;
using Run = lqtest::CliRun;

QString sharedAdapter(const QString& name)
{
    return lqtest::adaptersDir() + "/" + name;
}

// A writable copy of a shared adapter, so that a failed refusal could be noticed.
QString copyAdapter(const QString& name, const QTemporaryDir& dir)
{
    const QString target = dir.path() + "/" + name;
    QDir().mkpath(target);
    for (const char* file : {"adapter_model.safetensors", "adapter_config.json"})
        QFile::copy(sharedAdapter(name) + "/" + file, target + "/" + file);
    return target;
}

} // namespace

class QuantizeCliTest : public QObject
{
    Q_OBJECT

private slots:
    void reportMatchesLibrary_data();
    void reportMatchesLibrary();
    void exportPeft_data();
    void exportPeft();
    void refusesToOverwriteInput();
    void wrongCalls_data();
    void wrongCalls();
    void outputsCheckedBeforeTheWork_data();
    void outputsCheckedBeforeTheWork();
    void planOfAPackedFileListsAModuleTwice();
};

void QuantizeCliTest::reportMatchesLibrary_data()
{
    QTest::addColumn<QString>("adapter");
    QTest::addColumn<QStringList>("options");
    QTest::newRow("paper-exact, refined")
        << "gptneo125m-qv-r8-f32"
        << QStringList{"--rho", "0.9", "--bits-high", "3", "--refine", "paper", "--paper-exact"};
    QTest::newRow("defaults, F16 adapter") << "opencalm1b-qkv-r1-f16" << QStringList{};
    QTest::newRow("ratio-count, GQA")
        << "qwen2.5-3b-qv-r4-f32" << QStringList{"--split", "ratio-count", "--group-size", "64"};
    QTest::newRow("norm-ranked components")
        << "gptneo125m-qv-r8-f32" << QStringList{"--components", "norm"};
    QTest::newRow("random components, refined")
        << "qwen2.5-3b-qv-r4-f32" << QStringList{"--components", "random", "--refine", "paper"};
}

void QuantizeCliTest::reportMatchesLibrary()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QString, adapter);
    QFETCH(QStringList, options);
    QTemporaryDir dir;
    const QString report = dir.path() + "/report.json";
    const Run run =
        runCli(QStringList{"quantize", sharedAdapter(adapter), "--report", report} + options);
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QVERIFY(run.out.contains("paper count"));
    QVERIFY(run.out.contains("true count"));

    QFile file(report);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QJsonParseError error;
    const QJsonObject json = QJsonDocument::fromJson(file.readAll(), &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);

    // the same settings through the library
    QuantSettings settings;
    if (options.contains("--paper-exact"))
        settings = QuantSettings::paperExact(0.9, 3, true);
    if (options.contains("ratio-count")) {
        settings.split = SplitRule::RatioCount;
        settings.groupSize = 64;
    }
    if (options.contains("norm"))
        settings.order = ComponentOrder::Norm;
    if (options.contains("random")) {
        settings.order = ComponentOrder::Random;
        settings.refine = Refinement::Paper;
    }
    const QuantResult expected =
        quantizeAdapter(Adapter::load(sharedAdapter(adapter).toStdString()), settings);
    QVERIFY(std::abs(json["avg_bits_paper"].toDouble() - expected.avgBitsPaper) <=
            kSameRunTolerance);
    QVERIFY(std::abs(json["avg_bits_true"].toDouble() - expected.avgBitsTrue) <= kSameRunTolerance);
    QVERIFY(std::abs(json["rel_err_total"].toDouble() - expected.relErrTotal) <= kSameRunTolerance);
    QVERIFY(std::abs(json["rel_err_mean"].toDouble() - expected.relErrMean) <= kSameRunTolerance);
    QVERIFY(json["seconds"].toDouble() > 0);
    QCOMPARE(json["settings"].toObject()["components"].toString().toStdString(),
             toString(settings.order));
    const QJsonArray modules = json["modules"].toArray();
    QCOMPARE(modules.size(), qsizetype(expected.modules.size()));
    for (qsizetype i = 0; i < modules.size(); ++i) {
        const QJsonObject m = modules[i].toObject();
        const ModuleResult& e = expected.modules[std::size_t(i)];
        QCOMPARE(m["name"].toString().toStdString(), e.name);
        QCOMPARE(m["m"].toInt(), e.m);
        QCOMPARE(m["n"].toInt(), e.n);
        QCOMPARE(m["r"].toInt(), e.r);
        QCOMPARE(m["h"].toInt(), e.h);
        QCOMPARE(m["bits_high"].toInt(), e.bitsHigh);
        QVERIFY(std::abs(m["rel_err"].toDouble() - e.relErr) <= kSameRunTolerance);
        for (const char* key : {"bits_paper", "bits_true"})
            QVERIFY2(m.contains(key), key);
    }
}

void QuantizeCliTest::exportPeft_data()
{
    QTest::addColumn<QString>("adapter");
    QTest::newRow("F32") << "gptneo125m-qv-r8-f32";
    QTest::newRow("F16") << "opencalm1b-qkv-r1-f16";
}

// The exported folder is a PEFT adapter like the input: same tensors (names, dtypes, shapes),
// the same config text, and factors that are the quantized ones.
void QuantizeCliTest::exportPeft()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QString, adapter);
    QTemporaryDir dir;
    const QString out = dir.path() + "/exported";
    const QString report = dir.path() + "/report.json";
    const Run run = runCli({"quantize", sharedAdapter(adapter), "--refine", "paper",
                            "--export-peft", out, "--report", report});
    QVERIFY2(run.exitCode == 0, run.err.constData());

    const Adapter original = Adapter::load(sharedAdapter(adapter).toStdString());
    const Adapter exported = Adapter::load(out.toStdString());
    const auto& a = original.file()->tensors();
    const auto& b = exported.file()->tensors();
    QCOMPARE(b.size(), a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(b[i].name, a[i].name);
        QVERIFY(b[i].dtype == a[i].dtype);
        QVERIFY(b[i].shape == a[i].shape);
    }
    QVERIFY(exported.config().has_value());
    QCOMPARE(exported.config()->rawJson, original.config()->rawJson);

    QFile file(report);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonArray modules =
        QJsonDocument::fromJson(file.readAll()).object()["modules"].toArray();
    for (std::size_t i = 0; i < original.modules().size(); ++i) {
        const ModuleFactors o = original.factors(i);
        const ModuleFactors q = exported.factors(i);
        QVERIFY(!(o.B == q.B)); // quantized, not copied
        const double reported = modules[qsizetype(i)].toObject()["rel_err"].toDouble();
        const double reloaded = updateError(o.B, o.A, q.B, q.A).relative();
        if (original.modules()[i].dtype == DType::F32)
            QVERIFY(std::abs(reloaded - reported) <= kReloadedErrorTolerance);
        else
            QVERIFY(std::abs(reloaded - reported) <= kReloadedF16ErrorTolerance);
    }
}

void QuantizeCliTest::refusesToOverwriteInput()
{
    LQ_REQUIRE_SHARED();
    QTemporaryDir dir;
    const QString input = copyAdapter("gptneo125m-qv-r8-f32", dir);
    const lqtest::FileSnapshot before = lqtest::snapshot(input);
    const QString tensors = input + "/adapter_model.safetensors";
    const QList<QStringList> calls{
        {"quantize", input, "--export-peft", input},
        {"quantize", tensors, "--export-peft", input},
        {"quantize", input, "--report", tensors},
        {"quantize", input, "--report", input + "/adapter_config.json"},
        {"quantize", tensors, "--export-peft", tensors},
    };
    for (const QStringList& call : calls) {
        const Run run = runCli(call);
        QVERIFY2(run.exitCode == 1, qPrintable(call.join(' ') + ": " + run.err));
        QVERIFY(run.err.contains("refusing"));
        QCOMPARE(lqtest::snapshot(input), before);
    }
}

void QuantizeCliTest::wrongCalls_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("stderrSays");
    const QString adapter = sharedAdapter("gptneo125m-qv-r8-f32");
    QTest::newRow("no path") << QStringList{"quantize"} << 2 << "missing PATH";
    QTest::newRow("rho out of range")
        << QStringList{"quantize", adapter, "--rho", "1.5"} << 2 << "rho";
    QTest::newRow("bits out of range")
        << QStringList{"quantize", adapter, "--bits-high", "9"} << 2 << "bit width";
    QTest::newRow("bad split") << QStringList{"quantize", adapter, "--split", "fixed:x"} << 2
                               << "fixed:H";
    QTest::newRow("bad refinement")
        << QStringList{"quantize", adapter, "--refine", "sgd"} << 2 << "none, paper or best";
    QTest::newRow("bad baseline") << QStringList{"quantize", adapter, "--baseline", "rtn:9"} << 2
                                  << "--baseline";
    QTest::newRow("bad components")
        << QStringList{"quantize", adapter, "--components", "pca"} << 2 << "--components must be";
    QTest::newRow("random components with a budget")
        << QStringList{"quantize", adapter, "--components", "random", "--budget", "1.5"} << 2
        << "does not apply with --budget";
    QTest::newRow("random components, packed")
        << QStringList{"quantize", adapter,           "--components",
                       "random",   "--export-packed", "/tmp/never-written.lqa.h5"}
        << 2 << "a packed file records no order";
    QTest::newRow("baseline with rho")
        << QStringList{"quantize", adapter, "--baseline", "binary", "--rho", "0.9"} << 2
        << "does not apply";
    QTest::newRow("report format")
        << QStringList{"quantize", adapter, "--report", "/tmp/x.txt"} << 1 << ".json or .csv";
    QTest::newRow("missing adapter")
        << QStringList{"quantize", "/nonexistent/adapter"} << 1 << "/nonexistent/adapter";

    // --split takes its three forms exactly: a space, a sign or a trailing character used to be
    // read as a number (stoi), and "fixed: 3" ran with h = 3.
    const QString forms = "--split must be ratio, ratio-count or fixed:H (H a whole number >= 0, "
                          "no spaces), got '%1'";
    for (const char* split : {"fixed: 3", "fixed:3 ", "fixed:+3", "fixed:-1", "fixed:3x",
                              "fixed:", "fixed", "Ratio", " ratio", ""})
        QTest::newRow(qPrintable(QString("split '%1'").arg(split)))
            << QStringList{"quantize", adapter, "--split", split} << 2 << forms.arg(split);

    // One rule for every number: unparsable or not finite is a wrong call naming the option
    // (--budget nan used to fail later with exit 1, --budget 1e999 with exit 2).
    for (const auto& [option, value] :
         {std::pair{"--budget", "nan"}, std::pair{"--budget", "1e999"},
          std::pair{"--budget", "inf"}, std::pair{"--budget", "-inf"}, std::pair{"--budget", "2 "},
          std::pair{"--budget", "0x2"}, std::pair{"--rho", "nan"}, std::pair{"--rho", "+0.5"},
          std::pair{"--rho", ""}})
        QTest::newRow(qPrintable(QString(option) + " '" + value + "'"))
            << QStringList{"quantize", adapter, option, value} << 2
            << QString("%1 expects a finite number, got '%2'").arg(option, value);

    // An option given twice, whichever way: which output would be written is not obvious.
    QTest::newRow("report twice") << QStringList{"quantize",    adapter,    "--report",
                                                 "/tmp/a.json", "--report", "/tmp/b.json"}
                                  << 2 << "option --report is given twice; give it once";
    QTest::newRow("export-peft twice, one with =")
        << QStringList{"quantize", adapter, "--export-peft=/tmp/a", "--export-peft", "/tmp/b"} << 2
        << "option --export-peft is given twice; give it once";
    QTest::newRow("flag twice") << QStringList{"quantize", adapter, "--paper-exact",
                                               "--paper-exact"}
                                << 2 << "option --paper-exact is given twice; give it once";

    // A plan that lists a module twice (tests/data/bad): refused before the adapter is read.
    const QString bad = lqtest::testDataDir() + "/bad/";
    QTest::newRow("plan lists a module twice")
        << QStringList{"quantize", bad + "missing-config", "--plan", bad + "plan-module-twice.json"}
        << 1
        << bad + "plan-module-twice.json: not a usable quantization report: module "
                 "base_model.model.model.layers.0.self_attn.q_proj is listed twice (modules[0] "
                 "and modules[2])";
}

void QuantizeCliTest::wrongCalls()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, stderrSays);
    const Run run = runCli(arguments);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(run.err.contains(stderrSays.toUtf8()), run.err.constData());
}

void QuantizeCliTest::outputsCheckedBeforeTheWork_data()
{
    // An output that cannot be written stops the run before the quantization, not after it:
    // nothing is printed on stdout (the summary comes after the work), exit 1, and the message
    // names the output and gives the system's reason. (A read-only folder: test_io_unwritable.)
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("stderrSays");
    const QString file = sharedAdapter("gptneo125m-qv-r8-f32") + "/adapter_config.json";
    QTest::newRow("report in a missing folder")
        << QStringList{"--report", "/nonexistent/folder/report.json"}
        << "/nonexistent/folder/report.json: cannot create a file in that folder: No such file "
           "or directory";
    QTest::newRow("report is a folder")
        << QStringList{"--report", "/tmp/"} << "unknown report format";
    QTest::newRow("report with another extension")
        << QStringList{"--report", "/tmp/report.txt"}
        << "/tmp/report.txt: unknown report format: the file name must end in .json or .csv";
    QTest::newRow("PEFT export under a file")
        << QStringList{"--export-peft", file + "/exported"}
        << file + "/exported: " + file + " is a file, not a folder";
    QTest::newRow("PEFT export onto a file")
        << QStringList{"--export-peft", "/dev/null"} << "/dev/null: is a file, not a folder";
    QTest::newRow("packed export in a missing folder")
        << QStringList{"--export-packed", "/nonexistent/folder/a.lqa.h5"}
        << "/nonexistent/folder/a.lqa.h5: cannot create a file in that folder: No such file or "
           "directory";
    QTest::newRow("the last of three outputs")
        << QStringList{"--report", "/tmp/never-written-report.json", "--export-packed",
                       "/nonexistent/a.lqa.h5"}
        << "/nonexistent/a.lqa.h5: cannot create a file in that folder";
}

void QuantizeCliTest::outputsCheckedBeforeTheWork()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QStringList, options);
    QFETCH(QString, stderrSays);
    const Run run =
        runCli(QStringList{"quantize", sharedAdapter("gptneo125m-qv-r8-f32")} + options);
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.contains(stderrSays.toUtf8()), run.err.constData());
    QVERIFY2(run.out.isEmpty(), run.out.constData());
    QVERIFY(!QFile::exists("/tmp/never-written-report.json"));
}

// A plan read from a packed file (planOf) has no JSON list to check as it is read: applying it
// refuses a module listed twice as well, instead of using one of the entries.
void QuantizeCliTest::planOfAPackedFileListsAModuleTwice()
{
    const Adapter adapter =
        Adapter::load((lqtest::testDataDir() + "/bad/missing-config").toStdString());
    QuantPlan plan;
    plan.file = "plan.lqa.h5";
    for (const LoraModule& module : adapter.modules())
        plan.modules.push_back({module.name, module.r, 1, 2});
    plan.modules.push_back({adapter.modules()[0].name, adapter.modules()[0].r, 2, 3});
    try {
        plan.settingsFor(adapter);
        QFAIL("applied a plan that lists a module twice");
    } catch (const Error& e) {
        QCOMPARE(e.file(), std::string("plan.lqa.h5"));
        QCOMPARE(e.problem(), "module " + adapter.modules()[0].name +
                                  " is listed twice in the plan; which h and width to use is "
                                  "unclear");
    }
}

QTEST_APPLESS_MAIN(QuantizeCliTest)
#include "quantizeclitest.moc"
