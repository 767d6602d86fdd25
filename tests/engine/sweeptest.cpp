// The sweep (issue 6, part 3) as the comparison document, the CLI and the workbench's Pareto plot
// use it: a row for every method and setting, each row exactly what quantizeAdapter /
// quantizeBaseline give for the same settings, equal bits where the storage is equal, budgets
// never exceeded, JSON and CSV holding the library's values, and `loraquant sweep` agreeing.

#include "core/engine/sweep.h"

#include "clirun.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/baseline.h"
#include "core/engine/bitbudget.h"
#include "core/engine/fieldbaseline.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "shareddata.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <map>
#include <random>

using namespace lq;

namespace {

// Rows and reruns execute the same deterministic code on the same factors.
constexpr double kSameRunTolerance = 0.0;

const char* kAdapter = "gptneo125m-qv-r8-f32";

SweepSettings smallSweep()
{
    SweepSettings settings;
    settings.rhos = {0.8, 0.95};
    settings.bitsHigh = {2, 3};
    return settings;
}

Adapter sharedAdapter()
{
    return Adapter::load((lqtest::adaptersDir() + "/" + kAdapter).toStdString());
}

// A small in-memory adapter with spread spectra, so that rho changes h, in some modules more
// than in others.
Adapter spreadAdapter()
{
    std::mt19937 engine(5);
    const auto uniform = [&](int rows, int cols, float scale) {
        Eigen::MatrixXf x(rows, cols);
        for (Eigen::Index i = 0; i < x.size(); ++i)
            x.data()[i] = scale * float(double(engine()) / 2147483648.0 - 1.0);
        return x;
    };
    std::vector<LoraModule> modules;
    std::vector<ModuleFactors> factors;
    for (int i = 0; i < 4; ++i) {
        Eigen::MatrixXf B = uniform(256, 8, 0.05f);
        for (int c = 0; c < 8; ++c)
            B.col(c) *= float(std::pow(0.45 + 0.1 * i, c));
        ModuleFactors f{B, uniform(8, 384, 0.02f)};
        LoraModule module;
        module.name = "layers." + std::to_string(i) + ".proj";
        module.m = 256;
        module.n = 384;
        module.r = 8;
        modules.push_back(module);
        factors.push_back(std::move(f));
    }
    return Adapter::fromFactors("spread", std::move(modules), std::move(factors));
}

int rowsOf(const SweepResult& result, SweepMethod method)
{
    return int(std::count_if(result.rows.begin(), result.rows.end(),
                             [&](const SweepRow& row) { return row.method == method; }));
}

const SweepRow* find(const SweepResult& result, SweepMethod method, int bits, double rho)
{
    for (const SweepRow& row : result.rows)
        if (row.method == method && row.bits == bits && row.rho == rho)
            return &row;
    return nullptr;
}

void compareRow(const SweepRow& row, const QuantResult& quant)
{
    QCOMPARE(row.avgBitsPaper, quant.avgBitsPaper);
    QCOMPARE(row.avgBitsTrue, quant.avgBitsTrue);
    QVERIFY(std::abs(row.relErrTotal - quant.relErrTotal) <= kSameRunTolerance);
    QVERIFY(std::abs(row.relErrMean - quant.relErrMean) <= kSameRunTolerance);
}

using lqtest::runCli;
using Run = lqtest::CliRun;

// Rows of a CSV written by sweepCsv: field name -> text, per row.
std::vector<std::map<QString, QString>> parseCsv(const QByteArray& text)
{
    QList<QByteArray> lines = text.split('\n');
    std::vector<std::map<QString, QString>> rows;
    if (lines.isEmpty())
        return rows;
    const QStringList header = QString::fromUtf8(lines[0].trimmed()).split(',');
    for (int l = 1; l < lines.size(); ++l) {
        const QString line = QString::fromUtf8(lines[l].trimmed());
        if (line.isEmpty())
            continue;
        QStringList fields;
        QString field;
        bool quoted = false;
        for (QChar ch : line) {
            if (ch == '"')
                quoted = !quoted;
            else if (ch == ',' && !quoted) {
                fields << field;
                field.clear();
            } else
                field += ch;
        }
        fields << field;
        std::map<QString, QString> row;
        for (int i = 0; i < header.size() && i < fields.size(); ++i)
            row[header[i]] = fields[i];
        rows.push_back(row);
    }
    return rows;
}

} // namespace

class SweepTest : public QObject
{
    Q_OBJECT

private slots:
    void everyMethodEqualsItsRun_data();
    void everyMethodEqualsItsRun();
    void equalStorageEqualBits();
    void randomSplitSeeded();
    void jsonAndCsvHoldTheRows();
    void cancel();
    void badSettings();
    void cli();
    void cliWrongCalls_data();
    void cliWrongCalls();
};

void SweepTest::everyMethodEqualsItsRun_data()
{
    QTest::addColumn<bool>("shared");
    QTest::newRow(kAdapter) << true;
    // Rows of one method share the modules whose h they agree on (sweep.cpp): here rho changes
    // h in some modules and not in others.
    QTest::newRow("spread spectra") << false;
}

// A row for every method and setting, each equal to quantizeAdapter / quantizeBaseline with the
// settings it names (the budget rows: with the allocation for their target, never above it).
void SweepTest::everyMethodEqualsItsRun()
{
    QFETCH(bool, shared);
    if (shared)
        LQ_REQUIRE_SHARED();
    const Adapter adapter = shared ? sharedAdapter() : spreadAdapter();
    const SweepSettings settings = smallSweep();
    const QuantSettings curveSettings = sweepQuantSettings(
        settings, SweepMethod::SvdSplit, settings.rhos.front(), settings.bitsHigh.front());
    const ErrorCurves curves = computeErrorCurves(adapter, curveSettings, settings.budgetBitsHigh);
    const SweepResult result = runSweep(adapter, settings);
    QVERIFY(!result.cancelled);
    QCOMPARE(rowsOf(result, SweepMethod::Rtn), 4);
    QCOMPARE(rowsOf(result, SweepMethod::Binary), 1);
    for (SweepMethod method :
         {SweepMethod::RandomSplit, SweepMethod::NormSplit, SweepMethod::SvdSplit,
          SweepMethod::PaperRefine, SweepMethod::BestRefine, SweepMethod::Budget})
        QCOMPARE(rowsOf(result, method), 4);
    QCOMPARE(rowsOf(result, SweepMethod::Truncate), 6);
    QCOMPARE(rowsOf(result, SweepMethod::Nf4), 2);
    QCOMPARE(rowsOf(result, SweepMethod::Q8_0), 1);
    QCOMPARE(rowsOf(result, SweepMethod::Compeft), 5);

    for (const SweepRow& row : result.rows) {
        if (row.method == SweepMethod::Rtn || row.method == SweepMethod::Binary) {
            BaselineSettings baseline;
            baseline.method =
                row.method == SweepMethod::Rtn ? BaselineMethod::Rtn : BaselineMethod::Binary;
            baseline.bits = row.bits;
            baseline.groupSize = settings.groupSize;
            baseline.scaleFormat = settings.scaleFormat;
            compareRow(row, quantizeBaseline(adapter, baseline));
        } else if (row.method == SweepMethod::Budget) {
            QVERIFY2(row.avgBitsTrue <= row.budget, row.setting.c_str());
            QVERIFY(row.relErrTotal > 0 && row.relErrTotal < 1);
            compareRow(row, quantizeAdapter(adapter, curveSettings,
                                            allocateBudget(curves, row.budget, BitCount::True)));
        } else if (const auto field = fieldBaselineFromString(row.setting)) {
            // The methods people use today (issue 29): the row is the --baseline run it names.
            compareRow(row, quantizeFieldBaseline(adapter, *field));
        } else {
            compareRow(row, quantizeAdapter(adapter, sweepQuantSettings(settings, row.method,
                                                                        row.rho, row.bits)));
        }
    }
    // The settings behind a row are what they say.
    const QuantSettings best = sweepQuantSettings(settings, SweepMethod::BestRefine, 0.8, 3);
    QCOMPARE(int(best.refine), int(Refinement::Best));
    QCOMPARE(best.rho, 0.8);
    QCOMPARE(best.bitsHigh, 3);
    QCOMPARE(int(best.layout), int(GroupLayout::Flattened));
    QCOMPARE(int(sweepQuantSettings(settings, SweepMethod::NormSplit, 0.8, 2).order),
             int(ComponentOrder::Norm));
}

// Every LoRAQuant method at one (b_h, rho) stores the same codes, scales and zero points, so the
// bits agree exactly; the orders of the ablations change which components are kept in b_h bits,
// not how many. On an adapter whose spectra spread, rho changes h and so the bits.
void SweepTest::equalStorageEqualBits()
{
    const Adapter adapter = spreadAdapter();
    SweepSettings settings;
    settings.methods = {SweepMethod::RandomSplit, SweepMethod::NormSplit, SweepMethod::SvdSplit,
                        SweepMethod::PaperRefine, SweepMethod::BestRefine};
    settings.rhos = {0.5, 0.95};
    settings.bitsHigh = {2};
    const SweepResult result = runSweep(adapter, settings);
    QCOMPARE(int(result.rows.size()), 10);
    for (double rho : settings.rhos) {
        const SweepRow* svd = find(result, SweepMethod::SvdSplit, 2, rho);
        QVERIFY(svd);
        for (const SweepRow& row : result.rows)
            if (row.rho == rho) {
                QCOMPARE(row.avgBitsPaper, svd->avgBitsPaper);
                QCOMPARE(row.avgBitsTrue, svd->avgBitsTrue);
            }
    }
    QVERIFY(find(result, SweepMethod::SvdSplit, 2, 0.95)->avgBitsPaper >
            find(result, SweepMethod::SvdSplit, 2, 0.5)->avgBitsPaper);
}

// The random split is reproducible for one seed and differs for another.
void SweepTest::randomSplitSeeded()
{
    const Adapter adapter = spreadAdapter();
    SweepSettings settings;
    settings.methods = {SweepMethod::RandomSplit};
    settings.rhos = {0.5};
    settings.bitsHigh = {2};
    const SweepResult first = runSweep(adapter, settings);
    const SweepResult again = runSweep(adapter, settings);
    settings.seed = 2;
    const SweepResult other = runSweep(adapter, settings);
    QCOMPARE(first.rows.at(0).relErrTotal, again.rows.at(0).relErrTotal);
    QVERIFY(first.rows.at(0).relErrTotal != other.rows.at(0).relErrTotal);
}

void SweepTest::jsonAndCsvHoldTheRows()
{
    const Adapter adapter = spreadAdapter();
    SweepSettings settings;
    settings.methods = {SweepMethod::Rtn, SweepMethod::SvdSplit, SweepMethod::Budget};
    settings.rhos = {0.7, 0.9};
    settings.bitsHigh = {2};
    const SweepResult result = runSweep(adapter, settings);
    QCOMPARE(int(result.rows.size()), 4 + 2 + 2);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString json = dir.path() + "/sweep.json", csv = dir.path() + "/sweep.CSV";
    writeSweep(json.toStdString(), result);
    writeSweep(csv.toStdString(), result);
    QVERIFY_THROWS_EXCEPTION(Error, writeSweep((dir.path() + "/sweep.txt").toStdString(), result));
    QVERIFY(!QFile::exists(dir.path() + "/sweep.txt"));

    QFile jsonFile(json);
    QVERIFY(jsonFile.open(QIODevice::ReadOnly));
    const QJsonObject object = QJsonDocument::fromJson(jsonFile.readAll()).object();
    QCOMPARE(object["settings"].toObject()["scale_format"].toString(), QString("f32"));
    const QJsonArray rows = object["rows"].toArray();
    QCOMPARE(rows.size(), qsizetype(result.rows.size()));
    QFile csvFile(csv);
    QVERIFY(csvFile.open(QIODevice::ReadOnly));
    const auto csvRows = parseCsv(csvFile.readAll());
    QCOMPARE(csvRows.size(), result.rows.size());
    for (std::size_t i = 0; i < result.rows.size(); ++i) {
        const SweepRow& row = result.rows[i];
        const QJsonObject item = rows[qsizetype(i)].toObject();
        QCOMPARE(item["method"].toString().toStdString(), toString(row.method));
        QCOMPARE(item["setting"].toString().toStdString(), row.setting);
        QCOMPARE(item["bits"].toInt(), row.bits);
        QCOMPARE(item["rho"].toDouble(), row.rho);
        QCOMPARE(item["budget"].toDouble(), row.budget);
        QCOMPARE(item["avg_bits_paper"].toDouble(), row.avgBitsPaper);
        QCOMPARE(item["avg_bits_true"].toDouble(), row.avgBitsTrue);
        QCOMPARE(item["rel_err_total"].toDouble(), row.relErrTotal);
        QCOMPARE(item["rel_err_mean"].toDouble(), row.relErrMean);
        auto c = csvRows[i];
        QCOMPARE(c["method"].toStdString(), toString(row.method));
        QCOMPARE(c["setting"].toStdString(), row.setting);
        QCOMPARE(c["avg_bits_paper"].toDouble(), row.avgBitsPaper);
        QCOMPARE(c["avg_bits_true"].toDouble(), row.avgBitsTrue);
        QCOMPARE(c["rel_err_total"].toDouble(), row.relErrTotal);
        QCOMPARE(c["rel_err_mean"].toDouble(), row.relErrMean);
        QCOMPARE(c["budget"].toDouble(), row.budget);
    }
    const std::string table = sweepTable(result);
    QVERIFY(table.find("bits paper") != std::string::npos);
    QVERIFY(table.find("bits true") != std::string::npos);
    QVERIFY(table.find("budget") != std::string::npos);
}

// Cancelling stops at the next module: flagged, fewer rows, each finished row complete.
void SweepTest::cancel()
{
    const Adapter adapter = spreadAdapter();
    SweepSettings settings;
    settings.rhos = {0.8};
    settings.bitsHigh = {2};
    int calls = 0, lastTotal = 0;
    const SweepResult result = runSweep(adapter, settings, [&](int, int total) {
        lastTotal = total;
        return ++calls < 10;
    });
    QVERIFY(result.cancelled);
    QCOMPARE(calls, 10);
    QVERIFY(result.rows.size() < 4 + 1 + 6);
    QVERIFY(lastTotal > 10);
}

void SweepTest::badSettings()
{
    const Adapter adapter = spreadAdapter();
    SweepSettings settings;
    settings.methods.clear();
    QVERIFY_THROWS_EXCEPTION(Error, runSweep(adapter, settings));
    settings = {};
    settings.rhos = {0.0};
    QVERIFY_THROWS_EXCEPTION(Error, runSweep(adapter, settings));
    settings = {};
    settings.bitsHigh = {9};
    QVERIFY_THROWS_EXCEPTION(Error, runSweep(adapter, settings));
    settings = {};
    settings.rhos.clear();
    QVERIFY_THROWS_EXCEPTION(Error, runSweep(adapter, settings));
    QVERIFY(sweepMethodFromString("best-refine") == SweepMethod::BestRefine);
    QVERIFY(!sweepMethodFromString("best"));
}

// `loraquant sweep` writes the library's rows and prints the table.
void SweepTest::cli()
{
    LQ_REQUIRE_SHARED();
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString json = dir.path() + "/s.json", csv = dir.path() + "/s.csv";
    const QString path = lqtest::adaptersDir() + "/" + kAdapter;
    const Run run = runCli({"sweep", path, "--json", json, "--csv", csv, "--methods",
                            "rtn,svd-split,best-refine,budget", "--rhos", "0.8,0.9", "--bits-high",
                            "2", "--storage", "compact"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY(run.out.contains("bits true"));
    QVERIFY(run.out.contains("best-refine"));

    SweepSettings settings;
    settings.methods = {SweepMethod::Rtn, SweepMethod::SvdSplit, SweepMethod::BestRefine,
                        SweepMethod::Budget};
    settings.rhos = {0.8, 0.9};
    settings.bitsHigh = {2};
    settings.layout = GroupLayout::PerComponent;
    settings.scaleFormat = ScaleFormat::F16;
    const SweepResult library = runSweep(sharedAdapter(), settings);

    QFile file(json);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonArray rows = QJsonDocument::fromJson(file.readAll()).object()["rows"].toArray();
    QCOMPARE(rows.size(), qsizetype(library.rows.size()));
    for (std::size_t i = 0; i < library.rows.size(); ++i) {
        const QJsonObject item = rows[qsizetype(i)].toObject();
        QCOMPARE(item["method"].toString().toStdString(), toString(library.rows[i].method));
        QCOMPARE(item["avg_bits_true"].toDouble(), library.rows[i].avgBitsTrue);
        QCOMPARE(item["rel_err_total"].toDouble(), library.rows[i].relErrTotal);
    }
    QFile csvFile(csv);
    QVERIFY(csvFile.open(QIODevice::ReadOnly));
    QCOMPARE(parseCsv(csvFile.readAll()).size(), library.rows.size());
}

void SweepTest::cliWrongCalls_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("stderrSays");
    const QString adapter = lqtest::adaptersDir() + "/" + kAdapter;
    QTest::newRow("no path") << QStringList{"sweep"} << 2 << "missing PATH";
    QTest::newRow("unknown method")
        << QStringList{"sweep", adapter, "--methods", "rtn,gptq"} << 2 << "unknown method 'gptq'";
    QTest::newRow("bad rho") << QStringList{"sweep", adapter, "--rhos", "0.8,1.5"} << 2 << "rho";
    QTest::newRow("empty list entry")
        << QStringList{"sweep", adapter, "--rhos", "0.8,,0.9"} << 2 << "empty entry";
    QTest::newRow("bad storage") << QStringList{"sweep", adapter, "--storage", "tiny"} << 2
                                 << "--storage";
    QTest::newRow("json extension")
        << QStringList{"sweep", adapter, "--json", "/tmp/x.txt"} << 2 << ".json";
    QTest::newRow("missing adapter")
        << QStringList{"sweep", "/nonexistent/adapter"} << 1 << "/nonexistent/adapter";
}

void SweepTest::cliWrongCalls()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, stderrSays);
    const Run run = runCli(arguments);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(run.err.contains(stderrSays.toUtf8()), run.err.constData());
}

QTEST_GUILESS_MAIN(SweepTest)
#include "sweeptest.moc"
