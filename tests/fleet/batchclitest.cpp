#include "batchfixtures.h"
#include "clirun.h"
#include "core/fleet/batchrecord.h"
#include "shareddata.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;

// `loraquant batch` as a script or a scheduler runs it: exit codes, the summary, signals,
// shards from the command line and the environment.
class BatchCliTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    fs::path m_root;
    static constexpr int kAdapters = 8;

    static lqtest::CliRun run(const QStringList& arguments,
                              const std::map<QString, QString>& environment = {})
    {
        QProcess process;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char* name :
             {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
              "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "LQ_SHARD_COUNT"})
            env.remove(name);
        for (const auto& [name, value] : environment)
            env.insert(name, value);
        process.setProcessEnvironment(env);
        process.start(QStringLiteral(LQ_CLI_PATH), arguments);
        return lqtest::finishRun(process, 300000);
    }

    QString path(const std::string& relative) const
    {
        return QString::fromStdString((m_root / relative).string());
    }

    static std::vector<std::string> lines(const fs::path& file)
    {
        std::ifstream in(file);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);)
            out.push_back(line);
        return out;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_root = m_dir.path().toStdString();
        lqtest::writeVariedAdapters(m_root / "in", kAdapters);
    }

    void badAdaptersFailWithExitThree()
    {
        lqtest::writeVariedAdapters(m_root / "mixed", 2, 3);
        const int bad =
            lqtest::writeBadAdapters(m_root / "mixed" / "bad", lqtest::testDataDir().toStdString());
        const auto result = run({"batch", path("mixed"), "-o", path("mixed-out")});
        QCOMPARE(result.exitCode, 3);
        int failed = 0, ok = 0;
        for (const std::string& line : lines(m_root / "mixed-out" / "batch-summary.jsonl")) {
            const lq::BatchRecord record = lq::parseBatchRecord(line, "summary", 1);
            if (record.status == lq::BatchStatus::Failed) {
                ++failed;
                QVERIFY2(!record.error.empty(), line.c_str());
                // The same message on stderr, for the log.
                QVERIFY2(result.err.contains(QByteArray::fromStdString(record.error)),
                         record.error.c_str());
            } else {
                ++ok;
            }
        }
        QCOMPARE(failed, bad);
        QCOMPARE(ok, 2);
        QVERIFY(result.err.contains("truncated"));
        QVERIFY(result.err.contains("NaN"));
    }

    void wrongCallsAndFatalErrors()
    {
        QCOMPARE(run({"batch", path("in")}).exitCode, 2); // no -o
        QCOMPARE(run({"batch", path("in"), "-o", path("x"), "--shard", "5/4"}).exitCode, 2);
        QCOMPARE(run({"batch", path("in"), "-o", path("x"), "--baseline", "rtn:2"}).exitCode, 2);
        QCOMPARE(run({"batch", path("in"), "-o", path("x"), "--rho", "2"}).exitCode, 2);
        // An output folder that cannot be made (a file is in the way): fatal, 1.
        std::ofstream(m_root / "a-file") << "x";
        QCOMPARE(run({"batch", path("in"), "-o", path("a-file/out")}).exitCode, 1);
        // No adapters at all.
        fs::create_directories(m_root / "empty");
        QCOMPARE(run({"batch", path("empty"), "-o", path("empty-out")}).exitCode, 1);
    }

    // What Slurm does at a time limit: SIGTERM mid-batch. The adapter in progress leaves no
    // file under its final name; the rerun finishes the rest; each adapter is ok exactly once.
    void resumeAfterSigterm()
    {
        lqtest::writeVariedAdapters(m_root / "slow", 12, 5, 16);
        const fs::path outdir = m_root / "slow-out";
        const fs::path summary = outdir / "batch-summary.jsonl";
        const QStringList arguments{"batch",    path("slow"), "-o",     path("slow-out"),
                                    "--refine", "best",       "--jobs", "1"};
        QProcess process;
        process.start(QStringLiteral(LQ_CLI_PATH), arguments);
        QVERIFY(process.waitForStarted());
        QElapsedTimer timer;
        timer.start();
        while (lines(summary).empty() && timer.elapsed() < 120000 &&
               process.state() == QProcess::Running)
            QThread::msleep(5);
        QVERIFY2(process.state() == QProcess::Running, "the batch ended before it was stopped");
        ::kill(pid_t(process.processId()), SIGTERM);
        const auto stopped = lqtest::finishRun(process, 120000);
        QCOMPARE(stopped.exitCode, 128 + SIGTERM);
        QVERIFY(stopped.err.contains("stopped by SIGTERM"));

        const auto first = lines(summary);
        QVERIFY(!first.empty() && first.size() < 12);
        std::map<std::string, int> okCount;
        for (const std::string& line : first)
            ++okCount[lq::parseBatchRecord(line, "summary", 1).relative];
        // No output, and no temporary, of an adapter that has no line.
        for (const auto& entry : fs::recursive_directory_iterator(outdir)) {
            const std::string name = entry.path().lexically_relative(outdir).generic_string();
            if (name.ends_with(".lqa.h5"))
                QVERIFY2(okCount.count(name.substr(0, name.size() - 7)), name.c_str());
            QVERIFY2(name.find(".tmp-") == std::string::npos, name.c_str());
        }

        const auto rerun = run(arguments);
        QCOMPARE(rerun.exitCode, 0);
        int skipped = 0;
        for (const std::string& line : lines(summary)) {
            const lq::BatchRecord record = lq::parseBatchRecord(line, "summary", 1);
            if (record.status == lq::BatchStatus::Skipped)
                ++skipped;
        }
        const auto all = lq::readBatchSummaries(outdir.string());
        QCOMPARE(all.size(), std::size_t(12));
        for (const lq::BatchRecord& record : all)
            QCOMPARE(record.status, lq::BatchStatus::Ok);
        QCOMPARE(skipped, int(first.size()));
        QCOMPARE(int(lines(summary).size()), 12 + skipped);
    }

    // One process, one or two threads, four shards (by option and by Slurm's environment): the
    // same packed bytes, and --merge of the shards' summaries gives the one-process totals.
    void byteIdenticalAcrossThreadsAndShards()
    {
        const auto one = run({"batch", path("in"), "-o", path("one")}, {{"OMP_NUM_THREADS", "1"}});
        QCOMPARE(one.exitCode, 0);
        const auto reference = lqtest::packedOutputs(m_root / "one");
        QCOMPARE(int(reference.size()), kAdapters);

        QCOMPARE(run({"batch", path("in"), "-o", path("two")}, {{"OMP_NUM_THREADS", "2"}}).exitCode,
                 0);
        QVERIFY(lqtest::packedOutputs(m_root / "two") == reference);

        for (int shard = 1; shard <= 4; ++shard) {
            // Shards 1 and 2 by option, 3 and 4 as a Slurm array task 0-3 would.
            const auto result = shard <= 2
                                    ? run({"batch", path("in"), "-o", path("shards"), "--shard",
                                           QString("%1/4").arg(shard)})
                                    : run({"batch", path("in"), "-o", path("shards")},
                                          {{"SLURM_ARRAY_TASK_ID", QString::number(shard - 1)},
                                           {"SLURM_ARRAY_TASK_MIN", "0"},
                                           {"SLURM_ARRAY_TASK_MAX", "3"},
                                           {"SLURM_ARRAY_TASK_COUNT", "4"}});
            QCOMPARE(result.exitCode, 0);
            QVERIFY(fs::exists(m_root / "shards" / lq::batchSummaryFileName(std::pair(shard, 4))));
        }
        QVERIFY(lqtest::packedOutputs(m_root / "shards") == reference);

        const auto mergedShards = run({"batch", "--merge", path("shards")});
        const auto mergedOne = run({"batch", "--merge", path("one")});
        QCOMPARE(mergedShards.exitCode, 0);
        QVERIFY(mergedShards.out.contains(QByteArray("adapters   8: 8 ok, 0 failed, 0 skipped")));
        // Everything but the summed seconds agrees.
        auto withoutTime = [](QByteArray text) {
            QList<QByteArray> kept;
            for (const QByteArray& line : text.split('\n'))
                if (!line.startsWith("time") && !line.startsWith("totals"))
                    kept.push_back(line);
            return kept;
        };
        QCOMPARE(withoutTime(mergedShards.out), withoutTime(mergedOne.out));
        QVERIFY(fs::exists(m_root / "shards" / "batch-totals.csv"));
        QVERIFY(fs::exists(m_root / "shards" / "batch-totals.json"));
    }
};

QTEST_GUILESS_MAIN(BatchCliTest)
#include "batchclitest.moc"
