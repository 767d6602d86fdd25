// keepFreedBlocksForReuse, which the programs call first: a freed block of a few MB must stay in
// the process for the next allocation instead of going back to the kernel. Without it every
// module's temporaries come back as fresh zeroed pages, and quantizing a 7B rank-64 adapter takes
// about half as long again (tests/benchmarks/quantizebenchmark.cpp measures the time).

#include "core/engine/allocatorsettings.h"

#include <QTest>
#include <cstdlib>
#include <cstring>

#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

class AllocatorTest : public QObject
{
    Q_OBJECT

private slots:
    void freedBlockStaysForReuse();
};

void AllocatorTest::freedBlockStaysForReuse()
{
#if defined(__SANITIZE_ADDRESS__)
    QSKIP("AddressSanitizer's allocator replaces malloc; nothing of glibc's to check");
#elif !defined(__GLIBC__)
    QSKIP("only glibc's malloc has these settings");
#else
    lq::keepFreedBlocksForReuse();
    // The size of one module's factors in float32 at rank 64 (14336 x 64).
    constexpr std::size_t kBlock = std::size_t(14336) * 64 * sizeof(float);
    const struct mallinfo2 before = mallinfo2();
    auto* block = static_cast<char*>(std::malloc(kBlock));
    QVERIFY(block);
    std::memset(block, 1, kBlock);
    QCOMPARE(static_cast<volatile char*>(block)[kBlock - 1], char(1));
    // Not a mapping of its own, which free() would hand back to the kernel...
    QCOMPARE(mallinfo2().hblkhd, before.hblkhd);
    std::free(block);
    // ...but heap space the process keeps, free for the next block.
    QVERIFY2(mallinfo2().fordblks >= kBlock,
             qPrintable(QStringLiteral("%1 bytes free in the heap after freeing %2")
                            .arg(mallinfo2().fordblks)
                            .arg(kBlock)));
#endif
}

QTEST_APPLESS_MAIN(AllocatorTest)
#include "allocatortest.moc"
