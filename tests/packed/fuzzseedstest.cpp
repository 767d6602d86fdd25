// The packed seeds of fuzz_packed (tests/fuzz/corpus/packed) must be files the reader accepts.
// Seeds the reader refuses at its first check all reach the same few lines, and libFuzzer then
// explores little beyond "refused" (after the switch to fixed-length string attributes, stale
// seeds cut the packed fuzzer's coverage from ~1400 to ~150 edges without any failure). When
// this fails after a format change, regenerate them: tests/fuzz/make-seeds.py.

#include "core/io/error.h"
#include "core/packed/packedfile.h"

#include <QDir>
#include <QTest>

class FuzzSeedsTest : public QObject
{
    Q_OBJECT

private slots:
    void seedsAreAccepted()
    {
        const QDir seeds(QStringLiteral(LQ_TEST_DATA_DIR "/../fuzz/corpus/packed"));
        const QStringList names = seeds.entryList({QStringLiteral("*.lqa.h5")}, QDir::Files);
        QVERIFY2(names.size() >= 4, qPrintable(seeds.path() + ": too few packed seeds"));
        for (const QString& name : names) {
            try {
                const lq::PackedAdapter adapter =
                    lq::readPackedAdapter(seeds.filePath(name).toStdString());
                QVERIFY2(!adapter.modules.empty(), qPrintable(name + ": no modules"));
            } catch (const lq::Error& e) {
                QFAIL(qPrintable(name + QStringLiteral(" is refused, regenerate the seeds: ") +
                                 e.what()));
            }
        }
    }
};

QTEST_APPLESS_MAIN(FuzzSeedsTest)
#include "fuzzseedstest.moc"
