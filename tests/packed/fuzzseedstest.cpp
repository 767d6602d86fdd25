// The packed seeds of fuzz_packed (tests/fuzz/corpus/packed) must be files the reader accepts.
// Seeds the reader refuses at its first check all reach the same few lines, and libFuzzer then
// explores little beyond "refused" (after the switch to fixed-length string attributes, stale
// seeds cut the packed fuzzer's coverage from ~1400 to ~150 edges without any failure). When
// this fails after a format change, regenerate them: tests/fuzz/make-seeds.py.
// The exceptions are the bad-* seeds, copies of the crafted hostile files of tests/data/bad:
// valid HDF5 that reaches deep into the reader before it is refused, as it must be.

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

        int good = 0;
        for (const QString& name : names) {
            if (name.startsWith(QStringLiteral("bad-"))) {
                QVERIFY_THROWS_EXCEPTION(lq::Error,
                                         lq::readPackedAdapter(seeds.filePath(name).toStdString()));
                continue;
            }
            ++good;
            try {
                const lq::PackedAdapter adapter =
                    lq::readPackedAdapter(seeds.filePath(name).toStdString());
                QVERIFY2(!adapter.modules.empty(), qPrintable(name + ": no modules"));
            } catch (const lq::Error& e) {
                QFAIL(qPrintable(name + QStringLiteral(" is refused, regenerate the seeds: ") +
                                 e.what()));
            }
        }
        QVERIFY2(good >= 4, qPrintable(seeds.path() + ": too few packed seeds"));
    }
};

QTEST_APPLESS_MAIN(FuzzSeedsTest)
#include "fuzzseedstest.moc"
