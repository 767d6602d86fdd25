// adapter_config.json: the scale s = alpha / r (or alpha / sqrt(r)) multiplies every module's
// update, so a misread config silently changes every error the workbench reports.

#include "core/io/adapterconfig.h"

#include "core/io/error.h"

#include <QTemporaryDir>
#include <QTest>
#include <cmath>

using namespace lq;

namespace {

// Scales are ratios of small integers computed in double; anything above rounding is a bug.
constexpr double kScaleTolerance = 1e-12;

} // namespace

class AdapterConfigTest : public QObject
{
    Q_OBJECT

private slots:
    void scale_data();
    void scale();
    void targetModules();
    void nullsAndUnknownKeys();
    void wrongTypes_data();
    void wrongTypes();
    void readsFileAndKeepsText();
    void unreadableFileNamesIt();
};

void AdapterConfigTest::scale_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("module");
    QTest::addColumn<int>("rank");
    QTest::addColumn<double>("expected"); // NaN: the scale is unknown
    const double unknown = std::nan("");
    const QString llamaQ = "base_model.model.model.layers.3.self_attn.q_proj";
    const QString llamaV = "base_model.model.model.layers.3.self_attn.v_proj";

    QTest::newRow("alpha / r") << R"({"r": 8, "lora_alpha": 16})" << llamaQ << 8 << 2.0;
    QTest::newRow("rank from the shapes wins over r")
        << R"({"r": 8, "lora_alpha": 16})" << llamaQ << 4 << 4.0;
    QTest::newRow("float alpha") << R"({"r": 4, "lora_alpha": 6.5})" << llamaQ << 4 << 1.625;
    QTest::newRow("rslora: alpha / sqrt(r)")
        << R"({"r": 16, "lora_alpha": 16, "use_rslora": true})" << llamaQ << 16 << 4.0;
    QTest::newRow("alpha_pattern matches by suffix")
        << R"({"r": 8, "lora_alpha": 16, "alpha_pattern": {"v_proj": 32}})" << llamaV << 8 << 4.0;
    QTest::newRow("alpha_pattern leaves others alone")
        << R"({"r": 8, "lora_alpha": 16, "alpha_pattern": {"v_proj": 32}})" << llamaQ << 8 << 2.0;
    QTest::newRow("alpha_pattern needs a dot boundary")
        << R"({"r": 8, "lora_alpha": 16, "alpha_pattern": {"proj": 32}})" << llamaQ << 8 << 2.0;
    QTest::newRow("alpha_pattern as a regex")
        << R"({"r": 8, "lora_alpha": 16, "alpha_pattern": {"layers\\.3\\..*q_proj": 8}})" << llamaQ
        << 8 << 1.0;
    QTest::newRow("rank_pattern rank with rslora")
        << R"({"r": 8, "lora_alpha": 8, "use_rslora": true, "rank_pattern": {"q_proj": 4}})"
        << llamaQ << 4 << 4.0;
    QTest::newRow("no lora_alpha: unknown") << R"({"r": 8})" << llamaQ << 8 << unknown;
    QTest::newRow("null lora_alpha: unknown")
        << R"({"r": 8, "lora_alpha": null})" << llamaQ << 8 << unknown;
}

void AdapterConfigTest::scale()
{
    QFETCH(QString, json);
    QFETCH(QString, module);
    QFETCH(int, rank);
    QFETCH(double, expected);
    const AdapterConfig config = parseAdapterConfig(json.toStdString(), "c.json");
    const auto s = config.scaleFor(module.toStdString(), rank);
    if (std::isnan(expected)) {
        QVERIFY(!s);
        return;
    }
    QVERIFY(s);
    QVERIFY2(std::abs(*s - expected) < kScaleTolerance, qPrintable(QString::number(*s)));
}

void AdapterConfigTest::targetModules()
{
    const auto list = parseAdapterConfig(R"({"target_modules": ["q_proj", "v_proj"]})", "c");
    QCOMPARE(list.targetModules, (std::vector<std::string>{"q_proj", "v_proj"}));
    QVERIFY(list.targetModulesRegex.empty());
    const auto regex = parseAdapterConfig(R"({"target_modules": ".*\\.(q|v)_proj"})", "c");
    QVERIFY(regex.targetModules.empty());
    QCOMPARE(regex.targetModulesRegex, std::string(R"(.*\.(q|v)_proj)"));
    const auto single = parseAdapterConfig(R"({"target_modules": "all-linear"})", "c");
    QCOMPARE(single.targetModulesRegex, std::string("all-linear"));
}

void AdapterConfigTest::nullsAndUnknownKeys()
{
    // PEFT writes many keys we do not use and null for unset ones; none of that is an error.
    const char* json = R"({
        "base_model_name_or_path": null, "r": 4, "lora_alpha": 8, "peft_type": "LORA",
        "fan_in_fan_out": true, "rank_pattern": {}, "alpha_pattern": null,
        "target_modules": null, "use_rslora": null, "eva_config": {"x": [1, 2]},
        "some_future_key": [true, "x", 3.5], "layers_to_transform": null
    })";
    const AdapterConfig config = parseAdapterConfig(json, "c.json");
    QVERIFY(!config.baseModel);
    QCOMPARE(config.r, std::optional<int>(4));
    QCOMPARE(config.loraAlpha, std::optional<double>(8));
    QVERIFY(config.fanInFanOut);
    QVERIFY(!config.useRslora);
    QVERIFY(config.targetModules.empty() && config.targetModulesRegex.empty());
    QCOMPARE(config.peftType, std::string("LORA"));
    QCOMPARE(config.rawJson, std::string(json));

    const auto local = parseAdapterConfig(R"({"base_model_name_or_path": "/models/llama"})", "c");
    QCOMPARE(local.baseModel, std::optional<std::string>("/models/llama"));
}

void AdapterConfigTest::wrongTypes_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("expected");
    QTest::newRow("r as text") << R"({"r": "eight"})"
                               << "'r' must be a positive whole number";
    QTest::newRow("r zero") << R"({"r": 0})"
                            << "'r' must be a positive whole number";
    QTest::newRow("r fractional") << R"({"r": 2.5})"
                                  << "'r' must be a positive whole number";
    QTest::newRow("alpha as text") << R"({"lora_alpha": "16"})"
                                   << "'lora_alpha' must be a number";
    QTest::newRow("rslora as number") << R"({"use_rslora": 1})"
                                      << "'use_rslora' must be true";
    QTest::newRow("target_modules number") << R"({"target_modules": 5})"
                                           << "'target_modules' must be a list";
    QTest::newRow("target_modules mixed list") << R"({"target_modules": ["q_proj", 3]})"
                                               << "'target_modules' must be a list";
    QTest::newRow("rank_pattern value") << R"({"rank_pattern": {"q_proj": "4"}})"
                                        << "'rank_pattern.q_proj' must be";
    QTest::newRow("alpha_pattern list") << R"({"alpha_pattern": [1]})"
                                        << "'alpha_pattern' must be an object";
    QTest::newRow("base model number") << R"({"base_model_name_or_path": 7})"
                                       << "'base_model_name_or_path' must be";
    QTest::newRow("not an object") << R"(["r", 8])"
                                   << "not a JSON object";
    QTest::newRow("malformed") << R"({"r": 8,)"
                               << "malformed adapter config JSON";
    QTest::newRow("empty") << ""
                           << "malformed adapter config JSON";
}

void AdapterConfigTest::wrongTypes()
{
    QFETCH(QString, json);
    QFETCH(QString, expected);
    try {
        parseAdapterConfig(json.toStdString(), "dir/adapter_config.json");
        QFAIL("accepted a bad config");
    } catch (const Error& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(expected), qPrintable(message));
        QVERIFY2(message.startsWith("dir/adapter_config.json: "), qPrintable(message));
    }
}

void AdapterConfigTest::readsFileAndKeepsText()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("adapter_config.json");
    const QByteArray text = "{\n  \"r\": 2,\n  \"lora_alpha\": 4\n}\n";
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(text);
    file.close();
    const AdapterConfig config = readAdapterConfig(path.toStdString());
    QCOMPARE(config.rawJson, text.toStdString()); // a written adapter carries the same text
    QCOMPARE(config.scaleFor("x.q_proj", 2), std::optional<double>(2.0));
}

void AdapterConfigTest::unreadableFileNamesIt()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("nope/adapter_config.json");
    try {
        readAdapterConfig(path.toStdString());
        QFAIL("read a missing file");
    } catch (const Error& e) {
        QCOMPARE(QString::fromStdString(e.file()), path);
    }
}

QTEST_APPLESS_MAIN(AdapterConfigTest)
#include "adapterconfigtest.moc"
