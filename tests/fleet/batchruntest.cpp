#include "core/fleet/batchrun.h"

#include "batchfixtures.h"
#include "core/io/error.h"
#include "shareddata.h"

#include <QTemporaryDir>
#include <QTest>
#include <filesystem>
#include <omp.h>
#include <set>
#include <unistd.h>

namespace fs = std::filesystem;

// The batch run without a subprocess: what a night's batch over many adapters must get right
// whatever the threads, the order and the interruptions.
class BatchRunTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    fs::path m_inputs;
    static constexpr int kAdapters = 9;

    lq::BatchSettings settingsFor(const fs::path& outdir) const
    {
        lq::BatchSettings settings;
        settings.inputs = lq::discoverBatchInputs({m_inputs.string()}, {}, outdir.string()).inputs;
        settings.outdir = outdir.string();
        settings.summaryFile = (outdir / lq::batchSummaryFileName()).string();
        settings.tool = "loraquant test";
        return settings;
    }

    static std::vector<lq::BatchRecord> summary(const fs::path& outdir)
    {
        return lq::readBatchSummaries(outdir.string());
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_inputs = fs::path(m_dir.path().toStdString()) / "in";
        lqtest::writeVariedAdapters(m_inputs, kAdapters);
    }

    // Several small adapters at once (one thread each) or each on every thread: the same bytes.
    void outputsDoNotDependOnThreadsOrScheduling()
    {
        const fs::path root = m_dir.path().toStdString();
        const int threads = omp_get_max_threads();
        std::map<std::string, QByteArray> reference;
        struct Run
        {
            const char* name;
            int jobs;
            int ompThreads;
            std::uint64_t largeBytes;
        };
        for (const Run& run : {Run{"serial", 1, 1, 1u << 30}, Run{"jobs2", 2, 2, 1u << 30},
                               Run{"large1", 1, 1, 0}, Run{"large2", 1, 2, 0}}) {
            omp_set_num_threads(run.ompThreads);
            const fs::path outdir = root / ("threads-" + std::string(run.name));
            lq::BatchSettings settings = settingsFor(outdir);
            settings.jobs = run.jobs;
            settings.largeBytes = run.largeBytes;
            const lq::BatchOutcome outcome = lq::runBatch(settings);
            QCOMPARE(outcome.ok, kAdapters);
            const auto outputs = lqtest::packedOutputs(outdir);
            QCOMPARE(int(outputs.size()), kAdapters);
            if (reference.empty())
                reference = outputs;
            else
                QVERIFY2(outputs == reference, run.name);
        }
        omp_set_num_threads(threads);
    }

    // A rerun skips what is up to date, by a stat() or, when the time changed, by the bytes;
    // changed bytes or settings, or --force, redo it.
    void resumeSkipsWhatIsUpToDate()
    {
        const fs::path outdir = fs::path(m_dir.path().toStdString()) / "resume";
        lq::BatchSettings settings = settingsFor(outdir);
        QCOMPARE(lq::runBatch(settings).ok, kAdapters);
        lq::BatchOutcome again = lq::runBatch(settings);
        QCOMPARE(again.skipped, kAdapters);
        QCOMPARE(again.ok, 0);

        // The same bytes with a new time (a copy): still up to date.
        const fs::path touched = fs::path(settings.inputs[0].path) / "adapter_model.safetensors";
        fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::seconds(5));
        again = lq::runBatch(settings);
        QCOMPARE(again.skipped, kAdapters);

        // Other settings: every adapter again; the records say which settings made them.
        lq::BatchSettings other = settings;
        other.recipe.settings.rho = 0.9;
        again = lq::runBatch(other);
        QCOMPARE(again.ok, kAdapters);
        QCOMPARE(summary(outdir).front().settings["rho"].get<double>(), 0.9);
        QCOMPARE(lq::runBatch(other).skipped, kAdapters);

        lq::BatchSettings forced = other;
        forced.force = true;
        QCOMPARE(lq::runBatch(forced).ok, kAdapters);

        // A damaged output is redone.
        const fs::path packed = outdir / (settings.inputs[1].relative + ".lqa.h5");
        fs::resize_file(packed, 100);
        again = lq::runBatch(other);
        QCOMPARE(again.ok, 1);
        QCOMPARE(again.skipped, kAdapters - 1);
    }

    // Stopped after the first adapter: that one is recorded with its output, the others have
    // neither an output nor a line, and a rerun does exactly the rest.
    void cancelLeavesNothingHalfDone()
    {
        const fs::path outdir = fs::path(m_dir.path().toStdString()) / "cancel";
        lq::BatchSettings settings = settingsFor(outdir);
        settings.jobs = 2;
        const lq::BatchOutcome stopped =
            lq::runBatch(settings, [](const lq::BatchProgress& p) { return p.done == 0; });
        QVERIFY(stopped.cancelled);
        QVERIFY(stopped.ok >= 1 && stopped.ok < kAdapters);
        const auto recorded = summary(outdir);
        QCOMPARE(int(recorded.size()), stopped.ok);
        std::set<std::string> done;
        for (const lq::BatchRecord& record : recorded)
            done.insert(record.relative + ".lqa.h5");
        for (const auto& [name, bytes] : lqtest::packedOutputs(outdir))
            QVERIFY2(done.count(name), name.c_str());

        const lq::BatchOutcome rest = lq::runBatch(settings);
        QCOMPARE(rest.ok, kAdapters - stopped.ok);
        QCOMPARE(rest.skipped, stopped.ok);
    }

    void badAdaptersAreFailedRecordsAndTheBatchGoesOn()
    {
        const fs::path root = fs::path(m_dir.path().toStdString()) / "bad";
        const int bad =
            lqtest::writeBadAdapters(root / "in" / "bad", lqtest::testDataDir().toStdString());
        lqtest::writeVariedAdapters(root / "in", 2, 99);
        lq::BatchSettings settings;
        settings.outdir = (root / "out").string();
        settings.inputs =
            lq::discoverBatchInputs({(root / "in").string()}, {}, settings.outdir).inputs;
        settings.summaryFile = (root / "out" / lq::batchSummaryFileName()).string();
        const lq::BatchOutcome outcome = lq::runBatch(settings);
        QCOMPARE(outcome.failed, bad);
        QCOMPARE(outcome.ok, 2);
        for (const lq::BatchRecord& record : summary(root / "out")) {
            if (record.status != lq::BatchStatus::Failed)
                continue;
            // The reader's message, naming the file.
            QVERIFY2(record.error.find("bad/") != std::string::npos, record.error.c_str());
            QVERIFY(!fs::exists(root / "out" / (record.relative + ".lqa.h5")));
        }
    }

    void unwritableOutputFolderIsFatal()
    {
        if (::geteuid() == 0)
            QSKIP("running as root: a read-only folder is still writable");
        const fs::path outdir = fs::path(m_dir.path().toStdString()) / "readonly";
        fs::create_directories(outdir);
        fs::permissions(outdir, fs::perms::owner_read | fs::perms::owner_exec);
        lq::BatchSettings settings = settingsFor(outdir);
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::runBatch(settings));
        fs::permissions(outdir, fs::perms::owner_all);
    }
};

QTEST_GUILESS_MAIN(BatchRunTest)
#include "batchruntest.moc"
