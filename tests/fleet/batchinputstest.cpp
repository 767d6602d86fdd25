#include "core/fleet/batchinputs.h"

#include "batchfixtures.h"
#include "core/fleet/batchrecord.h"
#include "core/fleet/batchtotals.h"
#include "core/io/error.h"

#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

// Which adapters a batch takes, what their outputs are called and which shard does each: a shard
// that skips an adapter loses it silently, two that take the same one race on its output, and a
// list that changes with the order of the arguments breaks both across the tasks of a job array.
class BatchInputsTest : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string m_root; // a tree of 23 adapter folders and 2 loose tensor files

    static void touch(const std::filesystem::path& file)
    {
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << "{}";
    }

    static std::vector<std::string> names(const std::vector<lq::BatchInput>& inputs)
    {
        std::vector<std::string> out;
        for (const lq::BatchInput& input : inputs)
            out.push_back(input.relative);
        return out;
    }

    // The process environment, as a table.
    static inline std::map<std::string, std::string> s_environment;
    static std::optional<std::string> lookup(const char* name)
    {
        const auto it = s_environment.find(name);
        return it == s_environment.end() ? std::nullopt : std::optional(it->second);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        const std::filesystem::path root = m_dir.filePath("tree").toStdString();
        for (int team = 0; team < 3; ++team)
            for (int i = 0; i < 7; ++i)
                touch(root / lqtest::numbered("team-", team) / lqtest::numbered("c", i) /
                      "adapter_config.json");
        touch(root / "solo" / "adapter_model.safetensors");
        touch(root / "deep" / "a" / "b" / "adapter_config.json");
        touch(root / "loose" / "x.safetensors");
        touch(root / "loose" / "y.safetensors");
        touch(root / ".hidden" / "z" / "adapter_config.json");            // not searched
        touch(root / "team-0" / "c0" / "nested" / "adapter_config.json"); // inside an adapter
        m_root = root.string();
    }

    void discoversAdaptersByRelativeName()
    {
        const lq::BatchInputList list = lq::discoverBatchInputs({m_root}, {}, "");
        const std::vector<std::string> found = names(list.inputs);
        QCOMPARE(found.size(), std::size_t(25));
        QVERIFY(std::is_sorted(found.begin(), found.end()));
        for (const char* expected : {"team-0/c0", "team-2/c6", "solo", "deep/a/b", "loose/x"})
            QVERIFY2(std::find(found.begin(), found.end(), expected) != found.end(), expected);
        for (const std::string& name : found)
            QVERIFY2(name.find("hidden") == std::string::npos &&
                         name.find("nested") == std::string::npos,
                     name.c_str());
    }

    void shardsAreDisjointAndComplete_data()
    {
        QTest::addColumn<int>("count");
        for (int n = 1; n <= 7; ++n)
            QTest::addRow("N=%d", n) << n;
    }
    void shardsAreDisjointAndComplete()
    {
        QFETCH(int, count);
        const auto inputs = lq::discoverBatchInputs({m_root}, {}, "").inputs;
        std::multiset<std::string> taken;
        for (int i = 1; i <= count; ++i) {
            const auto shard = lq::selectShard(inputs, {i, count});
            // Balanced: no shard has more than one adapter more than another.
            QVERIFY(std::abs(int(shard.size()) - int(inputs.size()) / count) <= 1);
            for (const lq::BatchInput& input : shard)
                taken.insert(input.relative);
        }
        QCOMPARE(taken.size(), inputs.size());
        for (const lq::BatchInput& input : inputs)
            QCOMPARE(taken.count(input.relative), std::size_t(1));
    }

    // The tasks of an array job may list their INPUTs in any order (a shell glob, a manifest
    // written by another tool): each must still compute the same list and take the same slice.
    void shardsAreStableUnderReordering_data()
    {
        QTest::addColumn<int>("count");
        for (int n = 1; n <= 7; ++n)
            QTest::addRow("N=%d", n) << n;
    }
    void shardsAreStableUnderReordering()
    {
        QFETCH(int, count);
        const std::filesystem::path root(m_root);
        std::vector<std::string> roots{(root / "team-0").string(), (root / "deep").string(),
                                       (root / "solo").string(),
                                       (root / "loose" / "x.safetensors").string(),
                                       (root / "loose" / "y.safetensors").string()};
        const auto reference = lq::discoverBatchInputs(roots, {}, "").inputs;
        QCOMPARE(reference.size(), std::size_t(7 + 4));
        std::sort(roots.begin(), roots.end());
        int permutations = 0;
        do {
            const auto inputs = lq::discoverBatchInputs(roots, {}, "").inputs;
            for (int i = 1; i <= count; ++i)
                QCOMPARE(names(lq::selectShard(inputs, {i, count})),
                         names(lq::selectShard(reference, {i, count})));
        } while (std::next_permutation(roots.begin(), roots.end()) && ++permutations < 40);
    }

    // An adapter reached twice (its folder and a folder above it) is done once.
    void sameAdapterTwiceIsKeptOnce()
    {
        const std::filesystem::path root(m_root);
        const auto a = lq::discoverBatchInputs(
                           {(root / "team-1").string(), (root / "team-1" / "c3").string()}, {}, "")
                           .inputs;
        const auto b = lq::discoverBatchInputs(
                           {(root / "team-1" / "c3").string(), (root / "team-1").string()}, {}, "")
                           .inputs;
        QCOMPARE(a.size(), std::size_t(7));
        QCOMPARE(names(a), names(b));
    }

    void sameNameForTwoAdaptersIsRefused()
    {
        const std::filesystem::path root(m_root);
        QVERIFY_THROWS_EXCEPTION(
            lq::Error,
            lq::discoverBatchInputs(
                {(root / "team-0" / "c1").string(), (root / "team-1" / "c1").string()}, {}, ""));
    }

    void outputFolderInsideTheInputsIsNotSearched()
    {
        const std::filesystem::path root(m_root);
        touch(root / "team-2" / "out" / "c1.peft" / "adapter_config.json");
        const auto inputs = lq::discoverBatchInputs({(root / "team-2").string()}, {},
                                                    (root / "team-2" / "out").string())
                                .inputs;
        std::filesystem::remove_all(root / "team-2" / "out");
        QCOMPARE(inputs.size(), std::size_t(7));
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::discoverBatchInputs({m_root}, {}, m_root));
    }

    void manifestLinesNameTheirOutputs()
    {
        const std::filesystem::path root(m_root);
        const std::string manifest = (root / "list.txt").string();
        std::ofstream(manifest) << "# nightly\n\nteam-0/c1\n  team-2/c5/adapter_config.json  \n"
                                   "loose/y.safetensors\nmissing/c9\n";
        const auto list = lq::discoverBatchInputs({}, {manifest}, "");
        QCOMPARE(names(list.inputs),
                 (std::vector<std::string>{"loose/y", "missing/c9", "team-0/c1", "team-2/c5"}));
        // A line that does not exist stays, to fail with the reader's message.
        QCOMPARE(list.inputs[1].path, (root / "missing/c9").string());
    }

    void shardFromSchedulerEnvironment_data()
    {
        QTest::addColumn<QStringList>("environment");
        QTest::addColumn<int>("shardCount"); // --shard-count, 0 when not given
        QTest::addColumn<int>("index");      // expected, 0 for no shard
        QTest::addColumn<int>("count");
        QTest::addColumn<bool>("refused");
        QTest::addRow("none") << QStringList{} << 0 << 0 << 0 << false;
        QTest::addRow("slurm 0-based")
            << QStringList{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0",
                           "SLURM_ARRAY_TASK_MAX=3", "SLURM_ARRAY_TASK_COUNT=4"}
            << 0 << 1 << 4 << false;
        QTest::addRow("slurm 1-based")
            << QStringList{"SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_MIN=1",
                           "SLURM_ARRAY_TASK_MAX=4"}
            << 0 << 4 << 4 << false;
        QTest::addRow("slurm count only")
            << QStringList{"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_COUNT=3"} << 0 << 3 << 3
            << false;
        QTest::addRow("slurm step")
            << QStringList{"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=1",
                           "SLURM_ARRAY_TASK_MAX=7", "SLURM_ARRAY_TASK_COUNT=4"}
            << 0 << 0 << 0 << true;
        QTest::addRow("k8s with count")
            << QStringList{"JOB_COMPLETION_INDEX=2"} << 5 << 3 << 5 << false;
        QTest::addRow("k8s env count")
            << QStringList{"JOB_COMPLETION_INDEX=0", "LQ_SHARD_COUNT=2"} << 0 << 1 << 2 << false;
        QTest::addRow("k8s no count")
            << QStringList{"JOB_COMPLETION_INDEX=0"} << 0 << 0 << 0 << true;
        QTest::addRow("k8s index too big")
            << QStringList{"JOB_COMPLETION_INDEX=5"} << 5 << 0 << 0 << true;
        QTest::addRow("not a number")
            << QStringList{"SLURM_ARRAY_TASK_ID=x"} << 0 << 0 << 0 << true;
    }
    void shardFromSchedulerEnvironment()
    {
        QFETCH(QStringList, environment);
        QFETCH(int, shardCount);
        QFETCH(int, index);
        QFETCH(int, count);
        QFETCH(bool, refused);
        s_environment.clear();
        for (const QString& entry : environment)
            s_environment[entry.section('=', 0, 0).toStdString()] =
                entry.section('=', 1).toStdString();
        const std::optional<int> given = shardCount ? std::optional(shardCount) : std::nullopt;
        if (refused) {
            QVERIFY_THROWS_EXCEPTION(lq::Error, lq::shardFromEnvironment(lookup, given));
            return;
        }
        const auto shard = lq::shardFromEnvironment(lookup, given);
        QCOMPARE(shard.has_value(), index > 0);
        if (shard) {
            QCOMPARE(shard->index, index);
            QCOMPARE(shard->count, count);
        }
    }

    void parseShardText()
    {
        QCOMPARE(lq::parseShard("2/4")->index, 2);
        QCOMPARE(lq::parseShard("4/4")->count, 4);
        for (const char* bad : {"0/4", "5/4", "1/0", "1/", "/2", "a/b", "1/2/3", " 1/2", "-1/2"})
            QVERIFY2(!lq::parseShard(bad), bad);
    }

    // Shards write their own summaries; --merge reads them all and a rerun's lines as well.
    void mergeOfShardSummaries()
    {
        QTemporaryDir out;
        auto record = [](const std::string& name, lq::BatchStatus status, double error) {
            lq::BatchRecord r;
            r.input = "in/" + name;
            r.relative = name;
            r.status = status;
            if (status == lq::BatchStatus::Failed)
                r.error = "in/" + name + ": truncated";
            r.bytesBefore = status == lq::BatchStatus::Failed ? 0 : 1000;
            r.bytesAfter = status == lq::BatchStatus::Failed ? 0 : 100;
            r.relError = error;
            r.seconds = 1;
            return r;
        };
        const std::vector<std::vector<lq::BatchRecord>> shards{
            {record("a", lq::BatchStatus::Ok, 0.1), record("d", lq::BatchStatus::Ok, 0.4)},
            {record("b", lq::BatchStatus::Failed, 0), record("e", lq::BatchStatus::Ok, 0.5)},
            {record("c", lq::BatchStatus::Ok, 0.3), record("f", lq::BatchStatus::Ok, 0.6)},
        };
        for (int i = 0; i < 3; ++i) {
            std::ofstream file(
                out.filePath(QString::fromStdString(lq::batchSummaryFileName(std::pair(i + 1, 3))))
                    .toStdString());
            for (const lq::BatchRecord& r : shards[std::size_t(i)])
                file << lq::batchRecordLine(r) << '\n';
        }
        // A rerun of shard 1 after "a" was done: skipped, which must not count it twice.
        std::ofstream(out.filePath("batch-summary.shard-1-of-3.jsonl").toStdString(), std::ios::app)
            << lq::batchRecordLine(record("a", lq::BatchStatus::Skipped, 0.1)) << '\n';

        const lq::BatchTotals totals =
            lq::batchTotals(lq::readBatchSummaries(out.path().toStdString()));
        QCOMPARE(totals.adapters, 6);
        QCOMPARE(totals.ok, 5);
        QCOMPARE(totals.failed, 1);
        QCOMPARE(totals.skipped, 0);
        QCOMPARE(totals.bytesBefore, std::int64_t(5000));
        QCOMPARE(totals.bytesAfter, std::int64_t(500));
        QCOMPARE(totals.ratio, 10.0);
        constexpr double kExact = 1e-12;
        QVERIFY(std::abs(totals.errorMean - 0.38) < kExact);
        QCOMPARE(totals.errorP50, 0.4); // nearest rank: 3rd of 5
        QCOMPARE(totals.errorP95, 0.6);
        QCOMPARE(totals.worst.front().first, std::string("f"));
        QCOMPARE(totals.worst.size(), std::size_t(5));
        QCOMPARE(totals.failures.size(), std::size_t(1));
        QCOMPARE(totals.failures[0].first, std::string("b"));
        const std::string csv = lq::batchTotalsCsv(totals);
        QVERIFY(csv.starts_with("adapters,ok,failed,skipped,bytes_before,bytes_after,ratio"));
        QVERIFY(csv.find("\n6,5,1,0,5000,500,10,") != std::string::npos);
        QVERIFY(lq::batchTotalsJson(totals).find("\"failed\": 1") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(BatchInputsTest)
#include "batchinputstest.moc"
