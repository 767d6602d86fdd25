// Writing an adapter where it cannot be written: a read-only folder, and a disk that fills up
// before or while the output is written. Every writer (writePeftAdapter, writeSafetensors, the
// packed writer after a quantization) must throw lq::Error naming the file and the system's
// reason, leave the input exactly as it was, and leave nothing half-written: no partial file, no
// temporary file, and an older output in the same folder intact. What a user sees when this
// breaks: an exported adapter that loads as garbage or half a PEFT folder after "disk full", a
// stray .tmp file, a damaged earlier export, or a crash.
//
// Root ignores permission bits, so "read-only" is a read-only tmpfs and "full" a tmpfs filled
// to a chosen number of free pages, both mounted by the test itself (mount(2)); without the
// right to mount (not root, or a container without CAP_SYS_ADMIN) the tests skip and say why.

#include "clirun.h"
#include "core/engine/adapterquantizer.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "core/io/safetensors.h"
#include "core/io/synthesizer.h"
#include "core/packed/packedfile.h"
#include "filesnapshot.h"
#include "shareddata.h"

#include <QTemporaryDir>
#include <QTest>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

using namespace lq;

namespace {

// A tmpfs of `bytes` mounted on a fresh temporary folder for the lifetime of the object.
class Tmpfs
{
public:
    explicit Tmpfs(qint64 bytes)
        : m_options(QStringLiteral("size=%1,mode=0755").arg(bytes).toLatin1())
    {
        if (!m_dir.isValid()) {
            m_error = QStringLiteral("cannot create a temporary folder");
            return;
        }
        if (::mount("tmpfs", m_dir.path().toLocal8Bit().constData(), "tmpfs", MS_NOSUID | MS_NODEV,
                    m_options.constData()) != 0) {
            m_error = QString::fromLocal8Bit(std::strerror(errno));
            return;
        }
        m_mounted = true;
    }
    ~Tmpfs()
    {
        if (m_mounted)
            ::umount2(m_dir.path().toLocal8Bit().constData(), MNT_DETACH);
    }
    Tmpfs(const Tmpfs&) = delete;
    Tmpfs& operator=(const Tmpfs&) = delete;

    bool mounted() const { return m_mounted; }
    QString error() const { return m_error; }
    QString path() const { return m_dir.path(); }

    // Root writes through permission bits but not through a read-only mount.
    bool makeReadOnly()
    {
        return ::mount("tmpfs", m_dir.path().toLocal8Bit().constData(), "tmpfs",
                       MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, m_options.constData()) == 0;
    }

    qint64 freeBytes() const
    {
        struct statvfs info
        {
        };
        if (::statvfs(m_dir.path().toLocal8Bit().constData(), &info) != 0)
            return -1;
        return qint64(info.f_bavail) * qint64(info.f_frsize);
    }

    // Reserves space in filler/ (outside the folder under test) until `bytes` remain free.
    bool fillLeaving(qint64 bytes)
    {
        const qint64 take = freeBytes() - bytes;
        if (take < 0 || !QDir(path()).mkpath(QStringLiteral("filler")))
            return false;
        if (take == 0)
            return true;
        const QByteArray filler = (path() + QStringLiteral("/filler/space")).toLocal8Bit();
        const int fd = ::open(filler.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return false;
        const bool ok = ::posix_fallocate(fd, 0, take) == 0;
        ::close(fd);
        return ok && freeBytes() == bytes;
    }

private:
    QTemporaryDir m_dir; // destroyed after the unmount in ~Tmpfs
    QByteArray m_options;
    QString m_error;
    bool m_mounted = false;
};

#define LQ_REQUIRE_TMPFS(fs)                                                                       \
    do {                                                                                           \
        if (!(fs).mounted())                                                                       \
            QSKIP(qPrintable(QStringLiteral("cannot mount a tmpfs (%1); this test needs root or "  \
                                            "CAP_SYS_ADMIN to make a read-only or full folder")    \
                                 .arg((fs).error())));                                             \
    } while (false)

// tmpfs hands out whole pages.
constexpr qint64 kPage = 4096;

enum class Writer
{
    Peft,        // writePeftAdapter with the quantized factors (an export)
    Safetensors, // writeSafetensors of every tensor
    Packed,      // exportPackedAdapter of the quantization result
};

// What the output folder holds before the write.
enum class Setup
{
    NewFolder,   // nothing: the writer creates the folder (PEFT only; the others write a file)
    EmptyFolder, // an empty folder
    OlderOutput, // an earlier output of another adapter, which must survive a failed write
};

// Names of everything in `folder` except the test's filler, with each file's content hash. The
// filler is left out before hashing: it is most of the file system, and hashing it twice per
// step would make this test minutes long.
lqtest::FileSnapshot outputFiles(const QString& folder)
{
    lqtest::FileSnapshot files;
    for (const QFileInfo& entry : QDir(folder).entryInfoList(QDir::AllEntries | QDir::Hidden |
                                                             QDir::System | QDir::NoDotAndDotDot)) {
        if (entry.fileName() == QStringLiteral("filler"))
            continue;
        const lqtest::FileSnapshot inner = lqtest::snapshot(entry.filePath());
        for (auto it = inner.begin(); it != inner.end(); ++it)
            files.insert(entry.isDir() ? entry.fileName() + '/' + it.key() : it.key(), it.value());
    }
    return files;
}

// The same files with the same content (modification times dropped).
lqtest::FileSnapshot contentOf(lqtest::FileSnapshot files)
{
    for (auto it = files.begin(); it != files.end(); ++it)
        it.value() = it.value().section(' ', 0, 1);
    return files;
}

void addRows()
{
    QTest::addColumn<Writer>("writer");
    QTest::addColumn<Setup>("setup");
    QTest::newRow("PEFT export, new folder") << Writer::Peft << Setup::NewFolder;
    QTest::newRow("PEFT export, empty folder") << Writer::Peft << Setup::EmptyFolder;
    QTest::newRow("PEFT export over an older one") << Writer::Peft << Setup::OlderOutput;
    QTest::newRow("safetensors, empty folder") << Writer::Safetensors << Setup::EmptyFolder;
    QTest::newRow("safetensors over an older one") << Writer::Safetensors << Setup::OlderOutput;
    QTest::newRow("packed export, empty folder") << Writer::Packed << Setup::EmptyFolder;
    QTest::newRow("packed export over an older one") << Writer::Packed << Setup::OlderOutput;
}

} // namespace

Q_DECLARE_METATYPE(Writer)
Q_DECLARE_METATYPE(Setup)

class UnwritableOutputTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void readOnlyFolder_data();
    void readOnlyFolder();
    void diskFull_data();
    void diskFull();
    void folderBecomesReadOnlyAfterQuantizing();
    void commandsCheckOutputsBeforeTheWork_data();
    void commandsCheckOutputsBeforeTheWork();
    void exportWithoutConfigOverAnOlderAdapter();

private:
    // Writes the output of `writer` into `folder` (only the PEFT writer creates it; the packed
    // file is folder/adapter.lqa.h5); `older` writes the other adapter, an earlier output.
    void write(Writer writer, const QString& folder, bool older = false) const;
    // Makes `folder` as `setup` says.
    void prepare(Writer writer, Setup setup, const QString& folder) const;

    QTemporaryDir m_sources; // on the normal disk: the inputs that must stay intact
    QString m_source;
    QString m_olderSource;
    std::optional<Adapter> m_adapter;
    std::optional<Adapter> m_older;
    QuantResult m_result;
    QuantResult m_olderResult;
    std::vector<ModuleFactors> m_quantized;
    std::vector<ModuleFactors> m_olderQuantized;
};

void UnwritableOutputTest::initTestCase()
{
    // Two small synthetic adapters (tiny preset, r = 4, q and v only, F16): the one written in
    // the tests and a different one that plays an earlier export in the same folder.
    QVERIFY(m_sources.isValid());
    m_source = m_sources.filePath(QStringLiteral("source"));
    m_olderSource = m_sources.filePath(QStringLiteral("older"));
    for (const auto& [folder, seed] : {std::pair{m_source, 7u}, std::pair{m_olderSource, 8u}}) {
        SynthSettings settings;
        settings.rank = 4;
        settings.targets = SynthTargets::QV;
        settings.seed = seed;
        writeSyntheticAdapter(folder.toStdString(), settings);
    }
    m_adapter = Adapter::load(m_source.toStdString());
    m_older = Adapter::load(m_olderSource.toStdString());
    m_result = quantizeAdapter(*m_adapter, {});
    m_olderResult = quantizeAdapter(*m_older, {});
    for (const ModuleResult& module : m_result.modules)
        m_quantized.push_back({module.dequantizedB(), module.dequantizedA()});
    for (const ModuleResult& module : m_olderResult.modules)
        m_olderQuantized.push_back({module.dequantizedB(), module.dequantizedA()});
}

void UnwritableOutputTest::write(Writer writer, const QString& folder, bool older) const
{
    const Adapter& adapter = older ? *m_older : *m_adapter;
    switch (writer) {
    case Writer::Peft:
        writePeftAdapter(folder.toStdString(), adapter, older ? &m_olderQuantized : &m_quantized);
        return;
    case Writer::Safetensors: {
        std::vector<TensorData> tensors;
        for (const TensorEntry& entry : adapter.file()->tensors()) {
            const auto bytes = adapter.file()->bytes(entry);
            tensors.push_back({entry.name, entry.dtype, entry.shape, {bytes.begin(), bytes.end()}});
        }
        writeSafetensors((folder + QStringLiteral("/adapter_model.safetensors")).toStdString(),
                         tensors, adapter.file()->metadata());
        return;
    }
    case Writer::Packed:
        exportPackedAdapter((folder + QStringLiteral("/adapter.lqa.h5")).toStdString(), adapter,
                            older ? m_olderResult : m_result);
        return;
    }
}

void UnwritableOutputTest::prepare(Writer writer, Setup setup, const QString& folder) const
{
    if (setup != Setup::NewFolder)
        QVERIFY(QDir().mkpath(folder));
    if (setup == Setup::OlderOutput)
        write(writer, folder, true);
}

void UnwritableOutputTest::readOnlyFolder_data()
{
    addRows();
}

void UnwritableOutputTest::readOnlyFolder()
{
    QFETCH(Writer, writer);
    QFETCH(Setup, setup);
    constexpr qint64 kRoom = 8 << 20; // more than any output here: only read-only stops it
    Tmpfs fs(kRoom);
    LQ_REQUIRE_TMPFS(fs);
    const QString folder = fs.path() + QStringLiteral("/out");
    prepare(writer, setup, folder);
    const lqtest::FileSnapshot before = outputFiles(fs.path());
    const lqtest::FileSnapshot input = lqtest::snapshot(m_source);
    QVERIFY(fs.makeReadOnly());

    try {
        write(writer, folder);
        QFAIL("wrote into a read-only folder");
    } catch (const Error& e) {
        QVERIFY2(QString::fromStdString(e.file()).startsWith(folder), e.what());
        QVERIFY2(std::string(e.what()).find("Read-only file system") != std::string::npos,
                 e.what());
    }
    QCOMPARE(outputFiles(fs.path()), before);
    QVERIFY(setup != Setup::NewFolder || !QFileInfo::exists(folder));
    QCOMPARE(lqtest::snapshot(m_source), input);
}

void UnwritableOutputTest::diskFull_data()
{
    addRows();
}

void UnwritableOutputTest::diskFull()
{
    // The disk fills at every point of the write: from no free page to two pages more than the
    // output takes. Short of room the write fails with the system's reason and the folder is as
    // it was; with room it succeeds and its files equal those written on a roomy disk.
    QFETCH(Writer, writer);
    QFETCH(Setup, setup);
    QTemporaryDir roomy;
    write(writer, roomy.path());
    const lqtest::FileSnapshot complete = contentOf(outputFiles(roomy.path()));
    // tmpfs gives each file whole pages; the temporary files take what the outputs take.
    qint64 pages = 0;
    for (const QFileInfo& file : QDir(roomy.path()).entryInfoList(QDir::Files | QDir::Hidden))
        pages += (file.size() + kPage - 1) / kPage;
    QVERIFY(pages > 2);

    int failures = 0;
    for (qint64 free = 0; free <= pages + 2; ++free) {
        Tmpfs fs(8 << 20); // room for the filler and the outputs
        LQ_REQUIRE_TMPFS(fs);
        const QString folder = fs.path() + QStringLiteral("/out");
        prepare(writer, setup, folder);
        QVERIFY(fs.fillLeaving(free * kPage));
        const lqtest::FileSnapshot before = outputFiles(fs.path());
        const lqtest::FileSnapshot input = lqtest::snapshot(m_source);
        const QString context = QStringLiteral("%1 of %2 pages free").arg(free).arg(pages);

        try {
            write(writer, folder);
            QVERIFY2(contentOf(outputFiles(folder)) == complete,
                     qPrintable(context + ": the write succeeded but its files are incomplete"));
        } catch (const Error& e) {
            ++failures;
            QVERIFY2(free < pages + 2, qPrintable(context + ": failed with room to spare"));
            QVERIFY2(QString::fromStdString(e.file()).startsWith(folder),
                     qPrintable(context + ": " + e.what()));
            QVERIFY2(std::string(e.what()).find("No space left on device") != std::string::npos,
                     qPrintable(context + ": " + e.what()));
            QVERIFY2(outputFiles(fs.path()) == before,
                     qPrintable(context + ": the folder changed after a failed write"));
            // An export into a new folder that fails leaves no empty folder behind either.
            QVERIFY2(setup != Setup::NewFolder || !QFileInfo::exists(folder),
                     qPrintable(context + ": the new output folder was left behind"));
        }
        QVERIFY2(lqtest::snapshot(m_source) == input, qPrintable(context + ": input changed"));
    }
    QVERIFY2(failures > 0, "no write failed: the disk was never too full");
}

void UnwritableOutputTest::folderBecomesReadOnlyAfterQuantizing()
{
    // The workbench quantizes first and exports later: the folder it chose may have become
    // read-only meanwhile (a remounted drive). Both exports fail cleanly, the source included.
    Tmpfs fs(8 << 20);
    LQ_REQUIRE_TMPFS(fs);
    const QString folder = fs.path() + QStringLiteral("/export");
    QVERIFY(QDir().mkpath(folder));
    const QuantResult result = quantizeAdapter(*m_adapter, {});
    const lqtest::FileSnapshot input = lqtest::snapshot(m_source);
    QVERIFY(fs.makeReadOnly());
    for (const std::string& path :
         {(folder + QStringLiteral("/adapter.lqa.h5")).toStdString(), folder.toStdString()}) {
        try {
            if (path.ends_with(".lqa.h5"))
                exportPackedAdapter(path, *m_adapter, result);
            else
                writePeftAdapter(path, *m_adapter, &m_quantized);
            QFAIL(qPrintable(QString::fromStdString("exported into a read-only folder: " + path)));
        } catch (const Error& e) {
            QVERIFY2(e.file().starts_with(folder.toStdString()), e.what());
            QVERIFY2(std::string(e.what()).find("Read-only file system") != std::string::npos,
                     e.what());
        }
    }
    QVERIFY(
        QDir(folder).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot).isEmpty());
    QCOMPARE(lqtest::snapshot(m_source), input);
}

void UnwritableOutputTest::commandsCheckOutputsBeforeTheWork_data()
{
    // Each command's outputs, given a read-only folder: the run stops before its work (the
    // quantization, the sweep, decoding a packed file, making a synthetic adapter) with exit 1
    // and the system's reason, instead of failing after minutes of it. %1 is the read-only
    // folder, %2 the source adapter, %3 its packed file.
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("output");
    QTest::newRow("quantize --report")
        << QStringList{"quantize", "%2", "--report", "%1/report.json"} << "%1/report.json";
    QTest::newRow("quantize --export-peft, new folder")
        << QStringList{"quantize", "%2", "--export-peft", "%1/new/export"} << "%1/new/export";
    QTest::newRow("quantize --export-peft, existing folder")
        << QStringList{"quantize", "%2", "--export-peft", "%1"} << "%1";
    QTest::newRow("quantize --export-packed")
        << QStringList{"quantize", "%2", "--export-packed", "%1/a.lqa.h5"} << "%1/a.lqa.h5";
    QTest::newRow("quantize, budget, report")
        << QStringList{"quantize", "%2", "--budget", "2", "--report", "%1/r.csv"} << "%1/r.csv";
    QTest::newRow("sweep --json") << QStringList{"sweep", "%2", "--json", "%1/sweep.json"}
                                  << "%1/sweep.json";
    QTest::newRow("sweep --csv") << QStringList{"sweep", "%2", "--csv", "%1/sweep.csv"}
                                 << "%1/sweep.csv";
    QTest::newRow("synth -o") << QStringList{"synth", "--preset", "tiny", "-o", "%1/synth"}
                              << "%1/synth";
    QTest::newRow("unpack -o") << QStringList{"unpack", "%3", "-o", "%1/unpacked"} << "%1/unpacked";
}

void UnwritableOutputTest::commandsCheckOutputsBeforeTheWork()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, output);
    Tmpfs fs(1 << 20);
    LQ_REQUIRE_TMPFS(fs);
    const QString packed = m_sources.filePath(QStringLiteral("source.lqa.h5"));
    if (!QFileInfo::exists(packed))
        exportPackedAdapter(packed.toStdString(), *m_adapter, m_result);
    QVERIFY(fs.makeReadOnly());
    const auto fill = [&](QString text) {
        return text.replace(QStringLiteral("%1"), fs.path())
            .replace(QStringLiteral("%2"), m_source)
            .replace(QStringLiteral("%3"), packed);
    };
    for (QString& argument : arguments)
        argument = fill(argument);
    output = fill(output);
    const lqtest::FileSnapshot input = lqtest::snapshot(m_sources.path());

    const lqtest::CliRun run = lqtest::runCli(arguments);
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.contains((output + ": ").toLocal8Bit()), run.err.constData());
    QVERIFY2(run.err.contains("Read-only file system"), run.err.constData());
    QVERIFY2(run.out.isEmpty(), run.out.constData()); // results are printed after the work
    QVERIFY(outputFiles(fs.path()).isEmpty());
    QCOMPARE(lqtest::snapshot(m_sources.path()), input);
}

void UnwritableOutputTest::exportWithoutConfigOverAnOlderAdapter()
{
    // An adapter without a config exported over another adapter removes that one's config
    // (test_packed_peftexport); when the folder is read-only, the failed export removes nothing.
    Tmpfs fs(8 << 20);
    LQ_REQUIRE_TMPFS(fs);
    const QString folder = fs.path() + QStringLiteral("/out");
    prepare(Writer::Peft, Setup::OlderOutput, folder);
    QVERIFY(QFileInfo::exists(folder + QStringLiteral("/adapter_config.json")));
    const lqtest::FileSnapshot before = outputFiles(fs.path());
    QVERIFY(fs.makeReadOnly());
    const Adapter noConfig = Adapter::load(
        (lqtest::testDataDir() + QStringLiteral("/bad/missing-config")).toStdString());
    QVERIFY(!noConfig.config());
    try {
        writePeftAdapter(folder.toStdString(), noConfig);
        QFAIL("exported into a read-only folder");
    } catch (const Error& e) {
        QVERIFY2(e.file().starts_with(folder.toStdString()), e.what());
        QVERIFY2(std::string(e.what()).find("Read-only file system") != std::string::npos,
                 e.what());
    }
    QCOMPARE(outputFiles(fs.path()), before);
}

QTEST_APPLESS_MAIN(UnwritableOutputTest)
#include "unwritableoutputtest.moc"
