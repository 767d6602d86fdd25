// JSON written after the work must never fail on the names it carries. Paths come from the file
// system and names from untrusted files; either may hold bytes that are not UTF-8, and the JSON
// writer used to throw "[json.exception.type_error.316] invalid UTF-8 byte" once the whole run
// was done (exit 1, no report). Each invalid byte is now written as U+FFFD, everything else as
// it was, and the file is valid JSON (RFC 8259 requires UTF-8).

#include "core/io/jsonoutput.h"

#include "core/engine/adapterquantizer.h"
#include "core/engine/report.h"
#include "core/engine/sweep.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <nlohmann/json.hpp>

using namespace lq;

namespace {

// A folder name in Latin-1 ("caf\xe9") and a module name with a stray byte.
const std::string kAdapterName = "/models/caf\xe9/adapter\xff";
const std::string kModuleName = "model.layers.0.q\xff\xfeproj";
const QString kAdapterShown = QString::fromUtf8("/models/caf\uFFFD/adapter\uFFFD");
const QString kModuleShown = QString::fromUtf8("model.layers.0.q\uFFFD\uFFFDproj");

Adapter adapterWithBadNames()
{
    std::vector<LoraModule> modules(2);
    modules[0].name = kModuleName;
    modules[1].name = "model.layers.1.v_proj";
    std::vector<ModuleFactors> factors;
    for (int i = 0; i < 2; ++i) {
        Eigen::MatrixXf b(8, 2), a(2, 12);
        for (Eigen::Index k = 0; k < b.size(); ++k)
            b.data()[k] = 0.1f * float(k % 5) - 0.2f + 0.01f * float(i);
        for (Eigen::Index k = 0; k < a.size(); ++k)
            a.data()[k] = 0.05f * float(k % 7) - 0.1f;
        factors.push_back({b, a});
    }
    return Adapter::fromFactors(kAdapterName, std::move(modules), std::move(factors));
}

QJsonObject parse(const std::string& text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(QByteArray::fromStdString(text), &error);
    if (error.error != QJsonParseError::NoError)
        return {{"parse error", error.errorString()}};
    return document.object();
}

} // namespace

class JsonOutputTest : public QObject
{
    Q_OBJECT

private slots:
    void replacesInvalidBytes();
    void report();
    void sweep();
};

void JsonOutputTest::replacesInvalidBytes()
{
    nlohmann::ordered_json json;
    json["name"] = std::string("ok \xc3\xa9 bad \xff end");
    json["truncated"] = std::string("\xe2\x82"); // the first two bytes of a three-byte character
    const QJsonObject parsed = parse(outputJson(json));
    QCOMPARE(parsed["name"].toString(), QString::fromUtf8("ok \u00e9 bad \uFFFD end"));
    QVERIFY(parsed["truncated"].toString().contains(QChar(0xFFFD)));
    // Valid text is written exactly as the default dump writes it.
    nlohmann::json valid = {{"a", "caf\xc3\xa9"}, {"b", {1, 2}}};
    QCOMPARE(outputJson(valid), valid.dump(2));
    QCOMPARE(outputJson(valid, -1), valid.dump());
}

void JsonOutputTest::report()
{
    const QuantResult result = quantizeAdapter(adapterWithBadNames(), {});
    QJsonObject json;
    try {
        json = parse(reportJson(result));
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    QVERIFY2(!json.contains("parse error"), qPrintable(json["parse error"].toString()));
    QCOMPARE(json["adapter"].toString(), kAdapterShown);
    QCOMPARE(json["modules"].toArray()[0].toObject()["name"].toString(), kModuleShown);
    QCOMPARE(json["modules"].toArray()[1].toObject()["name"].toString(),
             QString("model.layers.1.v_proj"));
    // The file too (quantize --report, the workbench's Export Report).
    QTemporaryDir dir;
    const std::string path = dir.filePath("report.json").toStdString();
    writeReport(path, result);
    QFile file(QString::fromStdString(path));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(QJsonDocument::fromJson(file.readAll()).object()["adapter"].toString(), kAdapterShown);
}

void JsonOutputTest::sweep()
{
    SweepSettings settings;
    settings.methods = {SweepMethod::Rtn};
    const SweepResult result = runSweep(adapterWithBadNames(), settings);
    QJsonObject json;
    try {
        json = parse(sweepJson(result));
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    QVERIFY2(!json.contains("parse error"), qPrintable(json["parse error"].toString()));
    QCOMPARE(json["adapter"].toString(), kAdapterShown);
    QVERIFY(!json["rows"].toArray().isEmpty());
}

QTEST_APPLESS_MAIN(JsonOutputTest)
#include "jsonoutputtest.moc"
