// `loraquant quantize --plan FILE`: a run's per-module choices, saved in its report or packed
// file, repeat exactly on the same adapter and carry over to another adapter with the same
// modules; a plan that does not fit says which modules and does no work.

#include "clirun.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using lqtest::runCli;
using Run = lqtest::CliRun;

namespace {

QJsonObject readJson(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

// name -> (h, bits_high) of every module of a report.
QMap<QString, QPair<int, int>> choices(const QJsonObject& report)
{
    QMap<QString, QPair<int, int>> result;
    for (const QJsonValue& value : report["modules"].toArray()) {
        const QJsonObject module = value.toObject();
        result.insert(module["name"].toString(),
                      {module["h"].toInt(), module["bits_high"].toInt()});
    }
    return result;
}

} // namespace

class QuantPlanTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void repeatsTheRun_data();
    void repeatsTheRun();
    void carriesToAnotherAdapter();
    void refinementCanChange();
    void refusesPlansThatDoNotFit_data();
    void refusesPlansThatDoNotFit();

private:
    // A synthetic adapter in m_dir, written once per name.
    QString synth(const QString& name, const QStringList& options);

    QTemporaryDir m_dir;
    QString m_adapter; // tiny, all targets, rank 16, seed 1
};

QString QuantPlanTest::synth(const QString& name, const QStringList& options)
{
    const QString path = m_dir.path() + "/" + name;
    if (QFile::exists(path + "/adapter_model.safetensors"))
        return path;
    const Run run = runCli(QStringList{"synth", "--preset", "tiny", "-o", path} + options);
    if (run.exitCode != 0)
        qWarning("synth failed: %s", run.err.constData());
    return path;
}

void QuantPlanTest::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_adapter = synth("seed1", {"--seed", "1"});
    QVERIFY(QFile::exists(m_adapter + "/adapter_model.safetensors"));
}

void QuantPlanTest::repeatsTheRun_data()
{
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("planFile");
    // A budget gives the modules different h and widths, which no single rule reproduces.
    QTest::newRow("budget, report") << QStringList{"--budget", "1.6"} << "plan.json";
    QTest::newRow("budget, best refinement, packed")
        << QStringList{"--budget", "1.6", "--refine", "best"} << "plan.lqa.h5";
    QTest::newRow("paper-exact, paper refinement, packed")
        << QStringList{"--rho", "0.95",          "--bits-high", "3",    "--group-size",
                       "64",    "--paper-exact", "--refine",    "paper"}
        << "plan.lqa.h5";
}

void QuantPlanTest::repeatsTheRun()
{
    QFETCH(QStringList, options);
    QFETCH(QString, planFile);
    QTemporaryDir dir;
    const QString first = dir.path() + "/first.json";
    const QString plan = dir.path() + "/" + planFile;
    QStringList call{"quantize", m_adapter, "--report", first};
    if (planFile.endsWith(".lqa.h5"))
        call << "--export-packed" << plan;
    const Run original = runCli(call + options);
    QVERIFY2(original.exitCode == 0, original.err.constData());
    if (planFile.endsWith(".json"))
        QVERIFY(QFile::copy(first, plan));

    const QString again = dir.path() + "/again.json";
    const Run repeated = runCli({"quantize", m_adapter, "--plan", plan, "--report", again});
    QVERIFY2(repeated.exitCode == 0, repeated.err.constData());
    QVERIFY(repeated.out.contains("plan       "));

    const QJsonObject before = readJson(first), after = readJson(again);
    QVERIFY(!before.isEmpty() && !after.isEmpty());
    const auto planned = choices(before);
    QCOMPARE(choices(after), planned);
    // The run is deterministic: the same choices give the same codes, so the same bits and error.
    for (const char* key : {"avg_bits_paper", "avg_bits_true", "rel_err_total", "rel_err_mean"})
        QVERIFY2(after[key].toDouble() == before[key].toDouble(), key);
    for (const char* key : {"group_size", "group_layout", "scale_format", "refine"})
        QVERIFY2(after["settings"].toObject()[key] == before["settings"].toObject()[key], key);
    // Not a trivial plan: the choices differ between modules, or from what the rule gives.
    const Run plain = runCli({"quantize", m_adapter, "--report", dir.path() + "/plain.json"});
    QVERIFY2(plain.exitCode == 0, plain.err.constData());
    QVERIFY(choices(readJson(dir.path() + "/plain.json")) != planned);
}

void QuantPlanTest::carriesToAnotherAdapter()
{
    const QString other = synth("seed2", {"--seed", "2"});
    QTemporaryDir dir;
    const QString plan = dir.path() + "/plan.json", otherReport = dir.path() + "/other.json";
    const Run planned = runCli({"quantize", m_adapter, "--budget", "1.5", "--report", plan});
    QVERIFY2(planned.exitCode == 0, planned.err.constData());
    const Run applied = runCli({"quantize", other, "--plan", plan, "--report", otherReport});
    QVERIFY2(applied.exitCode == 0, applied.err.constData());

    const QJsonObject source = readJson(plan), target = readJson(otherReport);
    QCOMPARE(choices(target), choices(source));
    // Same shapes and choices: the same stored bits, whatever the values.
    QCOMPARE(target["avg_bits_true"].toDouble(), source["avg_bits_true"].toDouble());
    QVERIFY(target["rel_err_total"].toDouble() != source["rel_err_total"].toDouble());
}

void QuantPlanTest::refinementCanChange()
{
    QTemporaryDir dir;
    const QString plan = dir.path() + "/plan.json", refined = dir.path() + "/refined.json";
    QVERIFY(runCli({"quantize", m_adapter, "--budget", "1.6", "--report", plan}).exitCode == 0);
    const Run run =
        runCli({"quantize", m_adapter, "--plan", plan, "--refine", "best", "--report", refined});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const QJsonObject before = readJson(plan), after = readJson(refined);
    QCOMPARE(after["settings"].toObject()["refine"].toString(), QStringLiteral("best"));
    QCOMPARE(choices(after), choices(before));
    // Refinement keeps the storage, so the bits, and lowers the error.
    QCOMPARE(after["avg_bits_true"].toDouble(), before["avg_bits_true"].toDouble());
    QVERIFY(after["rel_err_total"].toDouble() < before["rel_err_total"].toDouble());
}

void QuantPlanTest::refusesPlansThatDoNotFit_data()
{
    QTest::addColumn<QStringList>("synthOptions"); // the adapter the plan is applied to
    QTest::addColumn<QStringList>("planOptions");  // the run that wrote the plan, or "bad:..."
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("stderrSays");
    const QStringList same{"--seed", "1"};
    QTest::newRow("other rank") << QStringList{"--rank", "8"} << QStringList{} << QStringList{} << 1
                                << "have another rank than planned";
    QTest::newRow("fewer planned modules")
        << same << QStringList{"qv"} << QStringList{} << 1 << "are not in the plan";
    QTest::newRow("more planned modules") << QStringList{"--targets", "qv"} << QStringList{}
                                          << QStringList{} << 1 << "planned module(s) are not in";
    QTest::newRow("baseline report")
        << same << QStringList{"--baseline", "rtn:2"} << QStringList{} << 1 << "no split";
    QTest::newRow("not a report") << same << QStringList{"bad:{\"r\": 8}"} << QStringList{} << 1
                                  << "'settings' is missing";
    QTest::newRow("truncated report")
        << same << QStringList{"bad:{\"settings\": {"} << QStringList{} << 1 << "malformed JSON";
    QTest::newRow("module without h")
        << same
        << QStringList{"bad:{\"settings\": {\"bits_high\": 2, \"group_size\": 128}, \"modules\": "
                       "[{\"name\": \"x\", \"r\": 4, \"bits_high\": 2}]}"}
        << QStringList{} << 1 << "'modules[0].h' is missing";
    QTest::newRow("with rho") << same << QStringList{} << QStringList{"--rho", "0.9"} << 2
                              << "does not apply with --plan";
    QTest::newRow("with a budget") << same << QStringList{} << QStringList{"--budget", "1.5"} << 2
                                   << "does not apply with --plan";
    // A packed file records no component order, so a plan of the paper's ablation cannot be
    // exported packed; refused before any work.
    QTest::newRow("ablation plan, packed export")
        << same << QStringList{"--components", "random"}
        << QStringList{"--export-packed", QDir::tempPath() + "/lq-plan-never-written.lqa.h5"} << 2
        << "a packed file records no order";
}

void QuantPlanTest::refusesPlansThatDoNotFit()
{
    QFETCH(QStringList, synthOptions);
    QFETCH(QStringList, planOptions);
    QFETCH(QStringList, extra);
    QFETCH(int, exitCode);
    QFETCH(QString, stderrSays);
    QTemporaryDir dir;
    const QString plan = dir.path() + "/plan.json";
    if (!planOptions.isEmpty() && planOptions.first().startsWith("bad:")) {
        QFile file(plan);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(planOptions.first().mid(4).toUtf8());
    } else {
        QString source = m_adapter;
        if (planOptions == QStringList{"qv"}) {
            source = synth("seed1-qv", {"--seed", "1", "--targets", "qv"});
            planOptions.clear();
        }
        const Run run = runCli(QStringList{"quantize", source, "--report", plan} + planOptions);
        QVERIFY2(run.exitCode == 0, run.err.constData());
    }
    const QString target = synth("target" + synthOptions.join(""), synthOptions);
    const QString output = dir.path() + "/out.json";
    const Run run =
        runCli(QStringList{"quantize", target, "--plan", plan, "--report", output} + extra);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(run.err.contains(stderrSays.toUtf8()), run.err.constData());
    if (exitCode == 1) // a file's problem names the file
        QVERIFY2(run.err.contains("plan.json"), run.err.constData());
    QVERIFY(!QFile::exists(output));
}

QTEST_APPLESS_MAIN(QuantPlanTest)
#include "quantplantest.moc"
