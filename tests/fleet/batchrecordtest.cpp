#include "core/fleet/batchrecord.h"

#include "core/io/error.h"

#include <QTemporaryDir>
#include <QTest>
#include <fstream>

// The batch summary is what a person reads after a night's batch and what the Fleet view and
// `batch --merge` aggregate: a field lost or misread there misstates the whole fleet.
class BatchRecordTest : public QObject
{
    Q_OBJECT

private:
    static lq::BatchRecord sample(const std::string& input, lq::BatchStatus status)
    {
        lq::BatchRecord record;
        record.input = input;
        record.relative = "team/" + input;
        record.sha256 = std::string(64, 'a');
        record.status = status;
        if (status == lq::BatchStatus::Failed)
            record.error = input + ": truncated";
        record.baseModel = "Qwen/Qwen2.5-3B";
        record.modules = 72;
        record.loraParameters = 921600;
        record.bytesBefore = 3686400;
        record.bytesAfter = 174952;
        record.bitsPaper = 1.2589;
        record.bitsTrue = 1.3979;
        record.relError = 0.6732;
        record.seconds = 0.25;
        record.output = "team/" + input + ".lqa.h5";
        record.settings = {{"rho", 0.9}, {"bits_high", 2}};
        return record;
    }

    static void write(const QString& path, const std::string& text)
    {
        std::ofstream(path.toStdString(), std::ios::binary) << text;
    }

private slots:
    void roundTrip()
    {
        const lq::BatchRecord in = sample("a", lq::BatchStatus::Failed);
        const std::string line = lq::batchRecordLine(in);
        QVERIFY(line.find('\n') == std::string::npos);
        const lq::BatchRecord out = lq::parseBatchRecord(line, "s.jsonl", 1);
        QCOMPARE(out.input, in.input);
        QCOMPARE(out.relative, in.relative);
        QCOMPARE(out.status, lq::BatchStatus::Failed);
        QCOMPARE(out.error, in.error);
        QCOMPARE(out.baseModel, in.baseModel);
        QCOMPARE(out.modules, in.modules);
        QCOMPARE(out.loraParameters, in.loraParameters);
        QCOMPARE(out.bytesBefore, in.bytesBefore);
        QCOMPARE(out.bytesAfter, in.bytesAfter);
        QCOMPARE(out.bitsPaper, in.bitsPaper);
        QCOMPARE(out.bitsTrue, in.bitsTrue);
        QCOMPARE(out.relError, in.relError);
        QCOMPARE(out.output, in.output);
        QVERIFY(out.settings == in.settings);
    }

    void shardNames()
    {
        QCOMPARE(lq::batchSummaryFileName(), std::string("batch-summary.jsonl"));
        QCOMPARE(lq::batchSummaryFileName(std::pair{3, 4}),
                 std::string("batch-summary.shard-3-of-4.jsonl"));
    }

    void badLinesNameFileAndLine_data()
    {
        QTest::addColumn<QByteArray>("line");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not JSON") << QByteArray("{\"input\": ") << "s.jsonl: line 7";
        QTest::newRow("not an object") << QByteArray("[1, 2]") << "must be a JSON object";
        QTest::newRow("no input") << QByteArray("{\"status\": \"ok\"}") << "no \"input\"";
        QTest::newRow("unknown status")
            << QByteArray("{\"input\": \"x\", \"status\": \"done\"}") << "unknown status \"done\"";
        QTest::newRow("wrong type")
            << QByteArray("{\"input\": \"x\", \"status\": \"ok\", \"modules\": \"many\"}")
            << "\"modules\" is";
    }
    void badLinesNameFileAndLine()
    {
        QFETCH(QByteArray, line);
        QFETCH(QString, expected);
        try {
            lq::parseBatchRecord(line.toStdString(), "s.jsonl", 7);
            QFAIL("a malformed line was accepted");
        } catch (const lq::Error& error) {
            QVERIFY2(QString::fromStdString(error.what()).contains(expected), error.what());
            QVERIFY2(QString::fromStdString(error.what()).startsWith("s.jsonl: line 7"),
                     error.what());
        }
    }

    // Shards write their own files; a resumed run appends to its own. The reader merges them:
    // one record per input, the last real outcome winning over a later "skipped".
    void mergesShardsAndReruns()
    {
        QTemporaryDir dir;
        const auto line = [](const lq::BatchRecord& r) { return lq::batchRecordLine(r) + "\n"; };
        lq::BatchRecord firstTry = sample("b", lq::BatchStatus::Failed);
        lq::BatchRecord retry = sample("b", lq::BatchStatus::Ok);
        lq::BatchRecord skipped = sample("a", lq::BatchStatus::Skipped);
        skipped.relError = 0.0;
        write(dir.filePath("batch-summary.shard-1-of-2.jsonl"),
              line(sample("a", lq::BatchStatus::Ok)) + line(skipped));
        // The second shard was killed while writing its third line.
        write(dir.filePath("batch-summary.shard-2-of-2.jsonl"),
              line(firstTry) + line(retry) + "{\"input\": \"c\", \"sta");
        write(dir.filePath("unrelated.jsonl"), "not a summary\n");

        const auto records = lq::readBatchSummaries(dir.path().toStdString());
        QCOMPARE(records.size(), std::size_t(2));
        QCOMPARE(records[0].input, std::string("a"));
        QCOMPARE(records[0].status, lq::BatchStatus::Ok);
        QCOMPARE(records[0].relError, 0.6732);
        QCOMPARE(records[1].input, std::string("b"));
        QCOMPARE(records[1].status, lq::BatchStatus::Ok);
    }

    void folderWithoutSummary()
    {
        QTemporaryDir dir;
        QVERIFY_THROWS_EXCEPTION(lq::Error, lq::readBatchSummaries(dir.path().toStdString()));
    }
};

QTEST_GUILESS_MAIN(BatchRecordTest)
#include "batchrecordtest.moc"
