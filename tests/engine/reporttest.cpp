// Reports are what people keep and compare across runs (and what the workbench exports): every
// number in them must be the result's, with both bit figures labelled.

#include "core/engine/report.h"

#include "core/engine/adapterquantizer.h"
#include "core/engine/baseline.h"
#include "core/io/error.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <random>

using namespace lq;

namespace {

// JSON holds doubles with 17 significant digits: values come back exactly. CSV prints 10.
constexpr double kJsonTolerance = 0.0;
constexpr double kCsvTolerance = 1e-9;

Adapter smallAdapter()
{
    std::mt19937 engine(8);
    const auto uniform = [&](int rows, int cols) {
        Eigen::MatrixXf x(rows, cols);
        for (Eigen::Index i = 0; i < x.size(); ++i)
            x.data()[i] = float(double(engine()) / 4294967296.0 - 0.5);
        return x;
    };
    std::vector<LoraModule> modules(3);
    std::vector<ModuleFactors> factors;
    const int shapes[][3] = {{64, 96, 4}, {200, 64, 8}, {32, 32, 2}};
    for (int i = 0; i < 3; ++i) {
        modules[std::size_t(i)].name = "model.layers." + std::to_string(i) + ".q_proj";
        factors.push_back(
            {uniform(shapes[i][0], shapes[i][2]), uniform(shapes[i][2], shapes[i][1])});
    }
    return Adapter::fromFactors("small", std::move(modules), std::move(factors));
}

QJsonObject parse(const std::string& text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(QByteArray::fromStdString(text), &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("report is not JSON: %s", qPrintable(error.errorString()));
    return document.object();
}

} // namespace

class ReportTest : public QObject
{
    Q_OBJECT

private slots:
    void json();
    void baselineJson();
    void csv();
    void summary();
    void writeReport();
};

void ReportTest::json()
{
    QuantSettings settings;
    settings.rho = 0.9;
    settings.refine = Refinement::Paper;
    settings.hOverride["model.layers.1.q_proj"] = 3;
    const QuantResult result = quantizeAdapter(smallAdapter(), settings);
    const QJsonObject json = parse(reportJson(result));
    QCOMPARE(json["method"].toString(), QString("loraquant"));
    QCOMPARE(json["avg_bits_paper"].toDouble(), result.avgBitsPaper);
    QCOMPARE(json["avg_bits_true"].toDouble(), result.avgBitsTrue);
    QVERIFY(json["avg_bits_true"].toDouble() > json["avg_bits_paper"].toDouble());
    QCOMPARE(json["rel_err_total"].toDouble(), result.relErrTotal);
    QCOMPARE(json["rel_err_mean"].toDouble(), result.relErrMean);
    QCOMPARE(json["seconds"].toDouble(), result.seconds);
    QCOMPARE(json["group_layout"].toString(), QString("per-component"));
    const QJsonObject s = json["settings"].toObject();
    QCOMPARE(s["rho"].toDouble(), 0.9);
    QCOMPARE(s["split"].toString(), QString("ratio"));
    QCOMPARE(s["refine"].toString(), QString("paper"));
    QCOMPARE(s["refine_steps"].toInt(), 300);
    QCOMPARE(s["scale_format"].toString(), QString("f16"));
    QCOMPARE(s["h_overrides"].toObject()["model.layers.1.q_proj"].toInt(), 3);

    const QJsonArray modules = json["modules"].toArray();
    QCOMPARE(modules.size(), qsizetype(result.modules.size()));
    for (qsizetype i = 0; i < modules.size(); ++i) {
        const QJsonObject m = modules[i].toObject();
        const ModuleResult& expected = result.modules[std::size_t(i)];
        QCOMPARE(m["name"].toString().toStdString(), expected.name);
        QCOMPARE(m["m"].toInt(), expected.m);
        QCOMPARE(m["n"].toInt(), expected.n);
        QCOMPARE(m["r"].toInt(), expected.r);
        QCOMPARE(m["h"].toInt(), expected.h);
        QCOMPARE(m["bits_high"].toInt(), 2);
        QVERIFY(std::abs(m["rel_err"].toDouble() - expected.relErr) <= kJsonTolerance);
        // per module: bits per parameter, like the adapter's averages; *_total: the module's bits
        const double parameters = double(expected.r) * (expected.m + expected.n);
        QCOMPARE(m["bits_paper"].toDouble(), expected.bitsPaper / parameters);
        QCOMPARE(m["bits_true"].toDouble(), expected.bitsTrue / parameters);
        QCOMPARE(m["bits_paper_total"].toDouble(), expected.bitsPaper);
        QCOMPARE(m["bits_true_total"].toDouble(), expected.bitsTrue);
    }
    QCOMPARE(modules[1].toObject()["h"].toInt(), 3); // the override
}

void ReportTest::baselineJson()
{
    BaselineSettings settings;
    settings.method = BaselineMethod::Rtn;
    settings.bits = 3;
    const QuantResult result = quantizeBaseline(smallAdapter(), settings);
    const QJsonObject json = parse(reportJson(result));
    QCOMPARE(json["method"].toString(), QString("rtn"));
    QCOMPARE(json["settings"].toObject()["bits"].toInt(), 3);
    QCOMPARE(json["group_layout"].toString(), QString("row-major"));
    QCOMPARE(json["avg_bits_paper"].toDouble(), 3.0);
    QCOMPARE(json["modules"].toArray()[0].toObject()["h"].toInt(), 0);
}

void ReportTest::csv()
{
    const QuantResult result = quantizeAdapter(smallAdapter(), {});
    const QStringList lines =
        QString::fromStdString(reportCsv(result)).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 3 + 1); // header, modules, adapter totals
    const QStringList header = lines[0].split(',');
    for (const char* field :
         {"name", "m", "n", "r", "h", "bits_high", "rel_err", "bits_paper", "bits_true"})
        QVERIFY2(header.contains(field), field);
    const QStringList first = lines[1].split(',');
    QCOMPARE(first[header.indexOf("name")].toStdString(), result.modules[0].name);
    QCOMPARE(first[header.indexOf("h")].toInt(), result.modules[0].h);
    QVERIFY(std::abs(first[header.indexOf("rel_err")].toDouble() - result.modules[0].relErr) <=
            kCsvTolerance);
    const QStringList total = lines[4].split(',');
    QCOMPARE(total[0], QString("(adapter)"));
    QVERIFY(std::abs(total[header.indexOf("rel_err")].toDouble() - result.relErrTotal) <=
            kCsvTolerance);
    QVERIFY(std::abs(total[header.indexOf("bits_true")].toDouble() - result.avgBitsTrue) <=
            kCsvTolerance);
}

// The human summary names which bit count each figure is.
void ReportTest::summary()
{
    const QuantResult result = quantizeAdapter(smallAdapter(), {});
    const QString text = QString::fromStdString(reportSummary(result));
    QVERIFY(text.contains(QString::asprintf("%.4f paper count", result.avgBitsPaper)));
    QVERIFY(text.contains(QString::asprintf("%.4f true count", result.avgBitsTrue)));
    QVERIFY(text.contains(QString::asprintf("%.4f total", result.relErrTotal)));
    QVERIFY(text.contains("inside each component")); // which grouping was used
}

void ReportTest::writeReport()
{
    const QuantResult result = quantizeAdapter(smallAdapter(), {});
    QTemporaryDir dir;
    const std::string json = (dir.path() + "/report.JSON").toStdString();
    lq::writeReport(json, result);
    QFile file(QString::fromStdString(json));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll().toStdString(), reportJson(result));
    const std::string csv = (dir.path() + "/report.csv").toStdString();
    lq::writeReport(csv, result);
    QVERIFY(QFile::exists(QString::fromStdString(csv)));
    QVERIFY_THROWS_EXCEPTION(Error,
                             lq::writeReport((dir.path() + "/report.txt").toStdString(), result));
    QVERIFY_THROWS_EXCEPTION(
        Error, lq::writeReport((dir.path() + "/missing/r.json").toStdString(), result));
    // nothing else was left behind (no temporary files)
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), qsizetype(2));
}

QTEST_APPLESS_MAIN(ReportTest)
#include "reporttest.moc"
