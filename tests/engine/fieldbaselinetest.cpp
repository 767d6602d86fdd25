// The field baselines as a person uses them (fieldbaseline.h): every --baseline spelling reads
// back, every method's adapter-level result adds up (bits per module = the parts + header,
// errors = the exact error of the factors it exports), the sweep has their rows and equals
// quantizeFieldBaseline, and `loraquant quantize --baseline` / `sweep --methods` accept them.

#include "core/engine/fieldbaseline.h"

#include "clirun.h"
#include "core/engine/bitcount.h"
#include "core/engine/sweep.h"
#include "core/engine/updateerror.h"
#include "core/io/adapter.h"

#include <QTemporaryDir>
#include <QTest>
#include <random>

using namespace lq;

namespace {

// The same deterministic code on the same factors.
constexpr double kSameRunTolerance = 0.0;

Adapter smallAdapter()
{
    std::mt19937 engine(9);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<LoraModule> modules;
    std::vector<ModuleFactors> factors;
    for (int i = 0; i < 3; ++i) {
        const int m = 128 + 64 * i, n = 192, r = 8;
        Eigen::MatrixXf B(m, r), A(r, n);
        for (Eigen::Index j = 0; j < B.size(); ++j)
            B.data()[j] = 0.01f * normal(engine);
        for (Eigen::Index j = 0; j < A.size(); ++j)
            A.data()[j] = 0.02f * normal(engine);
        for (int c = 0; c < r; ++c)
            B.col(c) *= std::pow(0.6f, float(c));
        LoraModule module;
        module.name = "layers." + std::to_string(i) + ".proj";
        module.m = m;
        module.n = n;
        module.r = r;
        modules.push_back(module);
        factors.push_back({B, A});
    }
    return Adapter::fromFactors("small", std::move(modules), std::move(factors));
}

} // namespace

class FieldBaselineTest : public QObject
{
    Q_OBJECT

private slots:
    void spellingsReadBack_data()
    {
        QTest::addColumn<QString>("spelling");
        for (const char* s :
             {"truncate:4", "truncate:energy=0.9", "truncate:bits=2", "nf4", "nf4-dq", "nf4-svd",
              "nf4-svd-dq", "q8_0", "deltacome:2", "deltacome:1.5", "compeft:0.1"})
            QTest::newRow(s) << QString(s);
    }
    void spellingsReadBack()
    {
        QFETCH(QString, spelling);
        const auto settings = fieldBaselineFromString(spelling.toStdString());
        QVERIFY(settings);
        QCOMPARE(QString::fromStdString(toString(*settings)), spelling);
    }

    void wrongSpellingsRejected()
    {
        for (const char* s : {"nf3", "q8", "truncate:", "truncate:-1", "truncate:1.5",
                              "truncate:energy=0", "truncate:energy=1.5", "truncate:bits=0",
                              "deltacome:", "deltacome:x", "compeft:0", "compeft:2", "rtn:2"})
            QVERIFY2(!fieldBaselineFromString(s), s);
    }

    void everyMethodAddsUp_data()
    {
        QTest::addColumn<QString>("spelling");
        QTest::addColumn<double>("maxBitsTrue"); // what the format allows at most, per value
        QTest::newRow("truncate:2") << "truncate:2" << 4.1;
        QTest::newRow("truncate:bits=3") << "truncate:bits=3" << 3.0;
        QTest::newRow("nf4") << "nf4" << 4.6;
        QTest::newRow("nf4-svd-dq") << "nf4-svd-dq" << 4.3;
        QTest::newRow("q8_0") << "q8_0" << 8.6;
        QTest::newRow("deltacome:2") << "deltacome:2" << 2.0;
        QTest::newRow("compeft:0.2") << "compeft:0.2" << 1.3;
    }
    void everyMethodAddsUp()
    {
        QFETCH(QString, spelling);
        QFETCH(double, maxBitsTrue);
        const Adapter adapter = smallAdapter();
        const QuantResult result =
            quantizeFieldBaseline(adapter, *fieldBaselineFromString(spelling.toStdString()));
        QCOMPARE(QString::fromStdString(result.method), spelling);
        QVERIFY(!result.methodNote.empty());
        QCOMPARE(result.modules.size(), adapter.modules().size());
        QVERIFY2(result.avgBitsTrue <= maxBitsTrue,
                 qPrintable(QString::number(result.avgBitsTrue)));
        QVERIFY(result.avgBitsTrue > result.avgBitsPaper);
        QVERIFY(result.relErrTotal > 0 && result.relErrTotal < 1);
        for (std::size_t i = 0; i < result.modules.size(); ++i) {
            const ModuleResult& module = result.modules[i];
            // What --export-peft writes is what was measured.
            const ModuleFactors original = adapter.factors(i);
            const UpdateError error =
                updateError(original.B, original.A, module.dequantizedB(), module.dequantizedA());
            QVERIFY(std::abs(error.relative() - module.relErr) <= kSameRunTolerance);
            QVERIFY(module.bitsTrue >= module.bitsPaper + kModuleHeaderBits);
        }
        // The same run twice gives the same figures (OpenMP over modules).
        const QuantResult again =
            quantizeFieldBaseline(adapter, *fieldBaselineFromString(spelling.toStdString()));
        QCOMPARE(again.relErrTotal, result.relErrTotal);
        QCOMPARE(again.avgBitsTrue, result.avgBitsTrue);
    }

    void sweepRowsEqualRuns()
    {
        const Adapter adapter = smallAdapter();
        SweepSettings settings;
        settings.methods = {SweepMethod::Truncate, SweepMethod::Nf4,       SweepMethod::Nf4Svd,
                            SweepMethod::Q8_0,     SweepMethod::DeltaCome, SweepMethod::Compeft};
        const SweepResult sweep = runSweep(adapter, settings);
        const std::vector<FieldBaselineSettings> fields = fieldBaselineRows(settings);
        QCOMPARE(sweep.rows.size(), fields.size());
        QCOMPARE(int(sweep.rows.size()), 6 + 2 + 2 + 1 + 6 + 5);
        double lowest = 1e9, highest = 0;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const QuantResult run = quantizeFieldBaseline(adapter, fields[i]);
            QCOMPARE(sweep.rows[i].setting, toString(fields[i]));
            QCOMPARE(sweep.rows[i].avgBitsTrue, run.avgBitsTrue);
            QCOMPARE(sweep.rows[i].relErrTotal, run.relErrTotal);
            lowest = std::min(lowest, run.avgBitsTrue);
            highest = std::max(highest, run.avgBitsTrue);
        }
        // The rows span about 1 to 9 bits, as the trade-off plot needs.
        QVERIFY(lowest < 1.2);
        QVERIFY(highest > 8);
    }

    void cli()
    {
        QTemporaryDir dir;
        const Adapter adapter = smallAdapter();
        const QString input = dir.filePath("in");
        writePeftAdapter(input.toStdString(), adapter,
                         [&](std::size_t i) { return adapter.factors(i); });
        const lqtest::CliRun run =
            lqtest::runCli({"quantize", input, "--baseline", "nf4-dq", "--export-peft",
                            dir.filePath("out"), "--report", dir.filePath("r.json")});
        QCOMPARE(run.exitCode, 0);
        QVERIFY(run.out.contains("method     nf4-dq"));
        QVERIFY(run.out.contains("true count"));
        QVERIFY(QFile::exists(dir.filePath("out/adapter_model.safetensors")));
        const Adapter exported = Adapter::load(dir.filePath("out").toStdString());
        QCOMPARE(exported.modules().size(), adapter.modules().size());

        const lqtest::CliRun wrong = lqtest::runCli({"quantize", input, "--baseline", "nf5"});
        QCOMPARE(wrong.exitCode, 2);
        QVERIFY(wrong.err.contains("compeft:DENSITY"));
        const lqtest::CliRun groups =
            lqtest::runCli({"quantize", input, "--baseline", "q8_0", "--group-size", "64"});
        QCOMPARE(groups.exitCode, 2);

        const lqtest::CliRun sweep = lqtest::runCli(
            {"sweep", input, "--methods", "q8_0,compeft", "--compeft-densities", "0.1,0.3"});
        QCOMPARE(sweep.exitCode, 0);
        QVERIFY(sweep.out.contains("compeft:0.3"));
        QVERIFY(sweep.out.contains("q8_0"));
    }
};

QTEST_GUILESS_MAIN(FieldBaselineTest)
#include "fieldbaselinetest.moc"
