// The atomic writer's temporary files and the checks before a write. What a user sees when this
// breaks: `.adapter_model.safetensors.tmp-...` files of gigabytes piling up beside an output
// after killed runs (and filling the disk), a running writer losing its temporary to another
// one, an old adapter_config.json left beside new tensors, or a long run that fails only at the
// end because its output folder was never writable.

#include "core/io/atomicfile.h"

#include "core/io/error.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace lq;

namespace {

// The temporaries of `target` in its folder ("." + name + ".tmp-"), by name.
QStringList temporariesOf(const QString& target)
{
    const QFileInfo info(target);
    return QDir(info.path())
        .entryList({"." + info.fileName() + ".tmp-*"}, QDir::Files | QDir::Hidden | QDir::System,
                   QDir::Name);
}

bool createFile(const QString& path, const char* content = "")
{
    std::ofstream out(path.toStdString(), std::ios::binary);
    out << content;
    return bool(out);
}

// A writer of `target` in a child process that stops inside its write, after its temporary holds
// bytes: killed (kill -9, as by the OOM killer or a user) or, with `stay`, waiting until the test
// kills it. Returns the child's process id once its temporary exists.
pid_t startWriter(const QString& target, bool stay)
{
    int ready[2];
    if (::pipe(ready) != 0)
        return -1;
    const std::string path = target.toStdString();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ready[0]);
        try {
            writeFileAtomically(path, [&](const std::string& temporary) {
                std::FILE* out = std::fopen(temporary.c_str(), "wb");
                std::fputs("half of an adapter", out);
                std::fclose(out);
                if (!stay)
                    ::kill(::getpid(), SIGKILL);
                (void)!::write(ready[1], "x", 1);
                for (;;)
                    ::pause();
            });
        } catch (...) {
        }
        ::_exit(1);
    }
    ::close(ready[1]);
    if (pid > 0 && !stay) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            return -1;
    } else if (pid > 0) {
        char byte = 0;
        if (::read(ready[0], &byte, 1) != 1)
            return -1;
    }
    ::close(ready[0]);
    return pid;
}

void stopWriter(pid_t pid)
{
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

} // namespace

class AtomicFileTest : public QObject
{
    Q_OBJECT

private slots:
    void killedWritersTemporaryIsRemovedByTheNextWrite();
    void livingWritersTemporaryIsKept();
    void onlyThisHostsTemporariesOfTheTarget();
    void stagedWriteRemovesStaleTemporaries();
    void removeOnCommit();
    void removeOnCommitOfAFolder();
    void checksBeforeTheWork();
};

void AtomicFileTest::killedWritersTemporaryIsRemovedByTheNextWrite()
{
    QTemporaryDir dir;
    const QString target = dir.filePath("report.json");
    const pid_t writer = startWriter(target, false);
    QVERIFY(writer > 0);
    const QStringList left = temporariesOf(target);
    QCOMPARE(left.size(), 1); // what kill -9 leaves: the temporary, and no report
    QVERIFY2(left[0].startsWith(".report.json.tmp-" + QString::number(writer) + "-"),
             qPrintable(left[0]));
    QVERIFY(!QFileInfo::exists(target));

    writeFileAtomically(target.toStdString(), std::string("{}\n"));
    QVERIFY2(temporariesOf(target).isEmpty(), qPrintable(temporariesOf(target).join(", ")));
    QCOMPARE(QDir(dir.path())
                 .entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name),
             QStringList{"report.json"});
}

void AtomicFileTest::livingWritersTemporaryIsKept()
{
    // Another process writing the same file right now: its temporary is its work in progress.
    QTemporaryDir dir;
    const QString target = dir.filePath("adapter.lqa.h5");
    const pid_t writer = startWriter(target, true);
    QVERIFY(writer > 0);
    const QStringList running = temporariesOf(target);
    QCOMPARE(running.size(), 1);

    writeFileAtomically(target.toStdString(), std::string("packed"));
    QCOMPARE(temporariesOf(target), running);

    stopWriter(writer); // now it is a killed writer's: the next write removes it
    writeFileAtomically(target.toStdString(), std::string("packed again"));
    QVERIFY(temporariesOf(target).isEmpty());
}

void AtomicFileTest::onlyThisHostsTemporariesOfTheTarget()
{
    // Left alone: another host's temporary in a shared folder (its process ids are not ours),
    // another target's, a temporary of the earlier naming (no writer in its name), and files
    // that only look alike.
    QTemporaryDir dir;
    const QString target = dir.filePath("out.csv");
    const pid_t writer = startWriter(target, false);
    QVERIFY(writer > 0);
    const QString stale = temporariesOf(target).value(0);
    QVERIFY(!stale.isEmpty());
    // .out.csv.tmp-PID-HOST-RANDOM: the same dead writer, on a host with another tag.
    QStringList parts = stale.split('-');
    QCOMPARE(parts.size(), 4);
    parts[2] = parts[2] == "00000000" ? "00000001" : "00000000";
    const QStringList kept{parts.join('-'), ".other.csv" + stale.mid(QString(".out.csv").size()),
                           ".out.csv.tmp1234abcd",
                           ".out.csv.tmp-" + QString::number(writer) + "-notahost-00000000",
                           "out.csv.tmp-" + stale.mid(QString(".out.csv.tmp-").size())};
    for (const QString& name : kept)
        QVERIFY(createFile(dir.filePath(name)));

    writeFileAtomically(target.toStdString(), std::string("a,b\n"));
    QVERIFY(!QFileInfo::exists(dir.filePath(stale)));
    for (const QString& name : kept)
        QVERIFY2(QFileInfo::exists(dir.filePath(name)), qPrintable(name + " was removed"));
}

void AtomicFileTest::stagedWriteRemovesStaleTemporaries()
{
    // The PEFT writers stage their files (StagedFiles): they clean up the same way.
    QTemporaryDir dir;
    const QString tensors = dir.filePath("adapter_model.safetensors");
    const QString config = dir.filePath("adapter_config.json");
    QVERIFY(startWriter(tensors, false) > 0);
    QVERIFY(startWriter(config, false) > 0);
    QCOMPARE(temporariesOf(tensors).size() + temporariesOf(config).size(), 2);
    StagedFiles files;
    files.add(tensors.toStdString(), std::string("tensors"));
    files.add(config.toStdString(), std::string("{}"));
    files.commit();
    QCOMPARE(QDir(dir.path())
                 .entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name),
             (QStringList{"adapter_config.json", "adapter_model.safetensors"}));
}

void AtomicFileTest::removeOnCommit()
{
    QTemporaryDir dir;
    const QString tensors = dir.filePath("adapter_model.safetensors");
    const QString config = dir.filePath("adapter_config.json");
    const QString readme = dir.filePath("README.md");
    for (const QString& path : {tensors, config, readme})
        QVERIFY(createFile(path, "old"));

    {
        // A write that fails before its commit changes nothing, the file to remove included.
        StagedFiles files;
        files.add(tensors.toStdString(), std::string("new"));
        files.removeOnCommit(config.toStdString());
    }
    QVERIFY(QFileInfo::exists(config));
    QCOMPARE(QDir(dir.path())
                 .entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name)
                 .size(),
             3);

    StagedFiles files;
    files.add(tensors.toStdString(), std::string("new"));
    files.removeOnCommit(config.toStdString());
    files.removeOnCommit(dir.filePath("never-there.json").toStdString());
    QVERIFY(QFileInfo::exists(config)); // only the commit removes it
    files.commit();
    QVERIFY(!QFileInfo::exists(config));
    QFile written(tensors);
    QVERIFY(written.open(QIODevice::ReadOnly));
    QCOMPARE(written.readAll(), QByteArray("new"));
    // Nothing else goes, and nothing is left moved aside.
    QCOMPARE(QDir(dir.path())
                 .entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name),
             (QStringList{"README.md", "adapter_model.safetensors"}));
}

void AtomicFileTest::removeOnCommitOfAFolder()
{
    QTemporaryDir dir;
    const QString tensors = dir.filePath("adapter_model.safetensors");
    QVERIFY(QDir(dir.path()).mkdir("adapter_config.json"));
    StagedFiles files;
    files.add(tensors.toStdString(), std::string("new"));
    files.removeOnCommit(dir.filePath("adapter_config.json").toStdString());
    try {
        files.commit();
        QFAIL("removed a folder");
    } catch (const Error& e) {
        QCOMPARE(QString::fromStdString(e.file()), dir.filePath("adapter_config.json"));
        QVERIFY2(QString(e.what()).contains("is a folder, where this write leaves no file of that "
                                            "name"),
                 e.what());
    }
    QVERIFY(QFileInfo(dir.filePath("adapter_config.json")).isDir());
    QVERIFY(!QFileInfo::exists(tensors));
}

void AtomicFileTest::checksBeforeTheWork()
{
    QTemporaryDir dir;
    QVERIFY(createFile(dir.filePath("a-file")));
    const auto fails = [](const std::function<void()>& check, const QString& file,
                          const QString& message) {
        try {
            check();
        } catch (const Error& e) {
            if (QString::fromStdString(e.file()) != file || !QString(e.what()).contains(message))
                return QString("wrong error: ") + e.what();
            return QString();
        }
        return QString("no error, expected ") + message;
    };
    const QString missing = dir.filePath("missing/report.json");
    QString problem =
        fails([&] { checkCanWriteFile(missing.toStdString()); }, missing,
              missing + ": cannot create a file in that folder: No such file or directory");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    problem = fails([&] { checkCanWriteFile(dir.path().toStdString()); }, dir.path(),
                    dir.path() + ": is a folder; a file is written there");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const QString under = dir.filePath("a-file/export");
    problem = fails([&] { checkCanWriteFolder(under.toStdString()); }, under,
                    under + ": " + dir.filePath("a-file") + " is a file, not a folder");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    problem = fails([&] { checkCanWriteFolder(dir.filePath("a-file").toStdString()); },
                    dir.filePath("a-file"), "is a file, not a folder");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    // What can be written passes, and the checks leave nothing behind (no folder is created).
    checkCanWriteFile(dir.filePath("report.json").toStdString());
    checkCanWriteFolder(dir.filePath("new/deeper/export").toStdString());
    checkCanWriteFolder(dir.path().toStdString());
    QCOMPARE(QDir(dir.path())
                 .entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDir::Name),
             QStringList{"a-file"});
}

QTEST_APPLESS_MAIN(AtomicFileTest)
#include "atomicfiletest.moc"
