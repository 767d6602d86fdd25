// An export replaces the whole adapter in its folder. Exporting an adapter that has no
// adapter_config.json into a folder that holds another adapter used to keep that adapter's
// config beside the new tensors: exit 0, and every later load used the other adapter's rank,
// alpha and targets. Every PEFT writer is checked: the library's writePeftAdapter, the
// workbench's Export (writeDequantizedAdapter), `quantize --export-peft` and `unpack`. The
// folder's other files (a README) stay, and a source with a config still writes its own.

#include "clirun.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/dequantizedadapter.h"
#include "core/io/adapter.h"
#include "core/io/synthesizer.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedunpack.h"
#include "shareddata.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace lq;

namespace {

using lqtest::runCli;
using Run = lqtest::CliRun;

const char* const kReadme = "Notes of the earlier export, not part of the adapter.\n";

} // namespace

class PeftExportTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void libraryExport();
    void workbenchExport();
    void quantizeExportPeft();
    void unpack();
    void unpackLibrary();
    void sourceWithConfigWritesItsOwn();

private:
    // The folder holds what it should after an export of the adapter without a config: the new
    // tensors (its modules, rank 2), no config, and the README.
    void checkReplaced(const QString& context) const;

    QTemporaryDir m_dir;
    QString m_source; // two modules, r = 2, no adapter_config.json (tests/data/bad)
    QString m_out;    // holds an earlier export of another adapter before each test
    std::optional<Adapter> m_adapter;
};

void PeftExportTest::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_source = m_dir.filePath("no-config");
    QVERIFY(QDir().mkpath(m_source));
    QVERIFY(QFile::copy(lqtest::testDataDir() + "/bad/missing-config/adapter_model.safetensors",
                        m_source + "/adapter_model.safetensors"));
    m_adapter = Adapter::load(m_source.toStdString());
    QVERIFY(!m_adapter->config());
    m_out = m_dir.filePath("out");
}

void PeftExportTest::init()
{
    // Another adapter (rank 4 with its config: r 4, lora_alpha 8), and a file of the user's.
    QDir(m_out).removeRecursively();
    SynthSettings settings;
    settings.rank = 4;
    settings.targets = SynthTargets::QV;
    writeSyntheticAdapter(m_out.toStdString(), settings);
    QVERIFY(QFile::exists(m_out + "/adapter_config.json"));
    QFile readme(m_out + "/README.md");
    QVERIFY(readme.open(QIODevice::WriteOnly));
    readme.write(kReadme);
}

void PeftExportTest::checkReplaced(const QString& context) const
{
    const QStringList files =
        QDir(m_out).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name);
    QVERIFY2(files == (QStringList{"README.md", "adapter_model.safetensors"}),
             qPrintable(context + ": " + files.join(", ")));
    const Adapter exported = Adapter::load(m_out.toStdString());
    QVERIFY2(!exported.config(), qPrintable(context));
    QCOMPARE(exported.modules().size(), m_adapter->modules().size());
    for (std::size_t i = 0; i < exported.modules().size(); ++i) {
        QCOMPARE(exported.modules()[i].name, m_adapter->modules()[i].name);
        QCOMPARE(exported.modules()[i].r, 2);
    }
    QFile readme(m_out + "/README.md");
    QVERIFY(readme.open(QIODevice::ReadOnly));
    QCOMPARE(readme.readAll(), QByteArray(kReadme));
}

void PeftExportTest::libraryExport()
{
    writePeftAdapter(m_out.toStdString(), *m_adapter);
    checkReplaced("writePeftAdapter");
}

void PeftExportTest::workbenchExport()
{
    // The workbench's Export > PEFT adapter (app/gui/exportjob.cpp) calls this.
    const QuantResult result = quantizeAdapter(*m_adapter, {});
    writeDequantizedAdapter(m_out.toStdString(), *m_adapter, result);
    checkReplaced("writeDequantizedAdapter");
}

void PeftExportTest::quantizeExportPeft()
{
    const Run run = runCli({"quantize", m_source, "--export-peft", m_out});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    checkReplaced("quantize --export-peft");
}

void PeftExportTest::unpack()
{
    const QString packed = m_dir.filePath("no-config.lqa.h5");
    Run run = runCli({"quantize", m_source, "--export-packed", packed});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    run = runCli({"unpack", packed, "-o", m_out});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    checkReplaced("unpack");
}

void PeftExportTest::unpackLibrary()
{
    const QString packed = m_dir.filePath("library.lqa.h5");
    exportPackedAdapter(packed.toStdString(), *m_adapter, quantizeAdapter(*m_adapter, {}));
    writeUnpackedAdapter(m_out.toStdString(), readPackedAdapter(packed.toStdString()),
                         packed.toStdString());
    checkReplaced("writeUnpackedAdapter");
}

void PeftExportTest::sourceWithConfigWritesItsOwn()
{
    const QString source = m_dir.filePath("with-config");
    SynthSettings settings;
    settings.rank = 2;
    settings.targets = SynthTargets::QV;
    settings.seed = 5;
    writeSyntheticAdapter(source.toStdString(), settings);
    const Run run = runCli({"quantize", source, "--export-peft", m_out});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    const Adapter exported = Adapter::load(m_out.toStdString());
    QVERIFY(exported.config().has_value());
    QCOMPARE(exported.config()->rawJson, Adapter::load(source.toStdString()).config()->rawJson);
    QCOMPARE(exported.config()->r, std::optional<int>(2));
    QVERIFY(QFile::exists(m_out + "/README.md"));
}

QTEST_APPLESS_MAIN(PeftExportTest)
#include "peftexporttest.moc"
