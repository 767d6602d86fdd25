// The packed-file commands as a user and a script call them: quantize --export-packed, inspect
// and validate on .lqa.h5 files (--json agrees with the library), unpack writing an adapter that
// loads with the dequantized factors, exit codes, and refusals to overwrite inputs.

#include "clirun.h"
#include "core/io/adapter.h"
#include "core/packed/packedfile.h"
#include "shareddata.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

namespace {

using lqtest::runCli;
using Run = lqtest::CliRun;

QByteArray digestOf(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

} // namespace

class PackedCliTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_adapter; // a synthetic adapter (tiny preset, rank 8)
    QString m_packed;  // its packed file

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_adapter = m_dir.filePath("tiny");
        Run synth = runCli({"synth", "--preset", "tiny", "--rank", "8", "-o", m_adapter});
        QCOMPARE(synth.exitCode, 0);
        m_packed = m_dir.filePath("tiny.lqa.h5");
        Run quantize = runCli({"quantize", m_adapter, "--rho", "0.9", "--export-packed", m_packed});
        QVERIFY2(quantize.exitCode == 0, quantize.err.constData());
        QVERIFY(quantize.out.contains("packed"));
        QVERIFY(QFile::exists(m_packed));
    }

    // inspect --json on a packed file: the library's figures.
    void inspectJson()
    {
        Run run = runCli({"inspect", m_packed, "--json"});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const QJsonObject json = QJsonDocument::fromJson(run.out).object();
        const lq::PackedAdapter packed = lq::readPackedAdapter(m_packed.toStdString());
        QCOMPARE(json["modules"].toArray().size(), qsizetype(packed.modules.size()));
        const QJsonObject totals = json["totals"].toObject();
        QCOMPARE(totals["avg_bits_true"].toDouble(), packed.avgBitsTrue());
        QCOMPARE(totals["parameters"].toInteger(), packed.parameterCount());
        QCOMPARE(json["settings"].toObject()["bits_high"].toInt(), 2);
        QCOMPARE(json["format_version"].toInt(), lq::kPackedFormatVersion);
        const QJsonObject first = json["modules"].toArray()[0].toObject();
        QCOMPARE(first["name"].toString().toStdString(), packed.modules[0].name);
        QCOMPARE(first["h"].toInt(), packed.modules[0].h);

        Run table = runCli({"inspect", m_packed});
        QCOMPARE(table.exitCode, 0);
        QVERIFY(table.out.contains("true count"));
    }

    void validate()
    {
        Run run = runCli({"validate", m_packed, "--tokens", "3", "--json"});
        QVERIFY2(run.exitCode == 0, run.out.constData());
        const QJsonObject json = QJsonDocument::fromJson(run.out).object();
        QVERIFY(json["passed"].toBool());
        QCOMPARE(json["tokens"].toInt(), 3);
        QVERIFY(json["max_rel_error"].toDouble() <= json["tolerance"].toDouble());
        const lq::PackedAdapter packed = lq::readPackedAdapter(m_packed.toStdString());
        QCOMPARE(json["modules"].toArray().size(), qsizetype(packed.modules.size()));

        Run table = runCli({"validate", m_packed});
        QCOMPARE(table.exitCode, 0);
        QVERIFY(table.out.contains("PASSED"));
    }

    // PEFT saves module names sorted as text (layers.0, 1, 10, 11, ..., 19, 2, ...), and a
    // packed file keeps that order. The inspect and validate tables list modules by layer, the
    // JSON in the file's order.
    void tablesInLayerOrder()
    {
        LQ_REQUIRE_SHARED();
        const QString packed = m_dir.filePath("qwen.lqa.h5");
        Run run = runCli({"quantize", lqtest::adaptersDir() + "/qwen2.5-3b-qv-r4-f32",
                          "--export-packed", packed});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const QString layer2 = "layers.2.self_attn.q_proj ";
        const QString layer10 = "layers.10.self_attn.q_proj ";
        const lq::PackedAdapter read = lq::readPackedAdapter(packed.toStdString());
        QVERIFY(read.modules[4].name.find("layers.10.") != std::string::npos);
        for (const char* command : {"inspect", "validate"}) {
            run = runCli({command, packed});
            QCOMPARE(run.exitCode, 0);
            const QString table = QString::fromUtf8(run.out);
            QVERIFY2(table.indexOf(layer2) >= 0 && table.indexOf(layer2) < table.indexOf(layer10),
                     command);

            run = runCli({command, packed, "--json"});
            QCOMPARE(run.exitCode, 0);
            const QJsonArray modules =
                QJsonDocument::fromJson(run.out).object()["modules"].toArray();
            QCOMPARE(modules.size(), qsizetype(read.modules.size()));
            for (qsizetype i = 0; i < modules.size(); ++i)
                QCOMPARE(modules[i].toObject()["name"].toString().toStdString(),
                         read.modules[std::size_t(i)].name);
        }
    }

    // A damaged file: exit 1, the file and the problem on stderr, nothing on stdout.
    void validateDamagedFile()
    {
        const QString damaged = m_dir.filePath("damaged.lqa.h5");
        QFile::remove(damaged);
        QVERIFY(QFile::copy(m_packed, damaged));
        QFile file(damaged);
        QVERIFY(file.open(QIODevice::ReadWrite));
        QVERIFY(file.resize(file.size() / 2));
        file.close();
        for (const char* command : {"validate", "unpack", "inspect"}) {
            QStringList arguments{command, damaged};
            if (QByteArray(command) == "unpack")
                arguments << "-o" << m_dir.filePath("never");
            Run run = runCli(arguments);
            QCOMPARE(run.exitCode, 1);
            QVERIFY(run.err.contains(damaged.toUtf8()));
            QVERIFY(run.err.contains("truncated"));
        }
        QVERIFY(!QFileInfo::exists(m_dir.filePath("never")));
    }

    // unpack writes an adapter whose factors are the dequantized ones (f32: exactly), with the
    // source's tensor names and config.
    void unpack()
    {
        const QString out = m_dir.filePath("unpacked");
        Run run = runCli({"unpack", m_packed, "-o", out});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const lq::PackedAdapter packed = lq::readPackedAdapter(m_packed.toStdString());
        const lq::Adapter back = lq::Adapter::load(out.toStdString());
        const lq::Adapter source = lq::Adapter::load(m_adapter.toStdString());
        QCOMPARE(back.modules().size(), packed.modules.size());
        for (std::size_t i = 0; i < packed.modules.size(); ++i) {
            QCOMPARE(back.modules()[i].keyA, source.modules()[i].keyA);
            QCOMPARE(back.modules()[i].dtype, lq::DType::F32);
            const lq::ModuleFactors f = back.factors(i);
            QVERIFY(f.B == lq::dequantizedB(packed.modules[i]));
            QVERIFY(f.A == lq::dequantizedA(packed.modules[i]));
        }
        QCOMPARE(digestOf(out + "/adapter_config.json"),
                 digestOf(m_adapter + "/adapter_config.json"));

        const QString sourceTypes = m_dir.filePath("unpacked-f16");
        QCOMPARE(runCli({"unpack", m_packed, "-o", sourceTypes, "--dtype", "source"}).exitCode, 0);
        QCOMPARE(lq::Adapter::load(sourceTypes.toStdString()).modules()[0].dtype,
                 source.modules()[0].dtype);
    }

    // Never over an input: not into the source adapter's folder, not over the packed file.
    void refusesToOverwriteInputs()
    {
        const QByteArray before = digestOf(m_adapter + "/adapter_model.safetensors");
        Run intoSource = runCli({"unpack", m_packed, "-o", m_adapter});
        QCOMPARE(intoSource.exitCode, 1);
        QVERIFY(intoSource.err.contains("source adapter"));
        QCOMPARE(digestOf(m_adapter + "/adapter_model.safetensors"), before);

        // A packed file named like the tensor file, unpacked into its own folder.
        const QString folder = m_dir.filePath("odd");
        QVERIFY(QDir().mkpath(folder));
        const QString odd = folder + "/adapter_model.safetensors";
        QVERIFY(QFile::copy(m_packed, odd));
        // (It does not end in .lqa.h5, but unpack reads any packed file by content.)
        const QByteArray oddBefore = digestOf(odd);
        Run overPacked = runCli({"unpack", odd, "-o", folder});
        QCOMPARE(overPacked.exitCode, 1);
        QCOMPARE(digestOf(odd), oddBefore);
    }

    void wrongCalls_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addRow("export-packed with a baseline") << QStringList{
            "quantize", "ADAPTER", "--baseline", "rtn:2", "--export-packed", "x.lqa.h5"};
        QTest::addRow("export-packed without .lqa.h5")
            << QStringList{"quantize", "ADAPTER", "--export-packed", "x.h5"};
        QTest::addRow("validate, tokens 0") << QStringList{"validate", "PACKED", "--tokens", "0"};
        QTest::addRow("validate, no file") << QStringList{"validate"};
        QTest::addRow("unpack without -o") << QStringList{"unpack", "PACKED"};
        QTest::addRow("unpack, bad dtype")
            << QStringList{"unpack", "PACKED", "-o", "x", "--dtype", "f8"};
    }

    // A wrong call: exit 2 with the usage, nothing written.
    void wrongCalls()
    {
        QFETCH(QStringList, arguments);
        arguments.replaceInStrings("ADAPTER", m_adapter);
        arguments.replaceInStrings("PACKED", m_packed);
        const QStringList before = QDir(m_dir.path()).entryList();
        Run run = runCli(arguments);
        QCOMPARE(run.exitCode, 2);
        QVERIFY(run.err.contains("usage:"));
        QCOMPARE(QDir(m_dir.path()).entryList(), before);
    }
};

QTEST_GUILESS_MAIN(PackedCliTest)
#include "packedclitest.moc"
