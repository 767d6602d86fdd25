// keepFreedBlocksForReuse, which the programs call first: a freed block of a few MB must stay in
// the process for the next allocation instead of going back to the kernel. Without it every
// module's temporaries come back as fresh zeroed pages, and quantizing a 7B rank-64 adapter takes
// about half as long again (tests/benchmarks/quantizebenchmark.cpp measures the time). And
// returnFreedBlocks, which the workbench calls after each job: then they do go back.

#include "core/engine/allocatorsettings.h"
#include "sanitizers.h"

#include <QTest>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

class AllocatorTest : public QObject
{
    Q_OBJECT

private slots:
    void freedBlockStaysForReuse();
    void freedBlocksGoBackOnRequest();
};

#if defined(__GLIBC__) && !defined(LQ_ADDRESS_SANITIZER)
namespace {

// This process's resident memory in bytes, from /proc/self/statm (0 where there is none).
std::size_t residentBytes()
{
    std::FILE* statm = std::fopen("/proc/self/statm", "r");
    if (!statm)
        return 0;
    unsigned long size = 0, resident = 0;
    const int read = std::fscanf(statm, "%lu %lu", &size, &resident);
    std::fclose(statm);
    return read == 2 ? std::size_t(resident) * std::size_t(sysconf(_SC_PAGESIZE)) : 0;
}

} // namespace
#endif

void AllocatorTest::freedBlockStaysForReuse()
{
#if defined(LQ_ADDRESS_SANITIZER)
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

void AllocatorTest::freedBlocksGoBackOnRequest()
{
    // The workbench calls returnFreedBlocks after each background job, so that an idle window
    // does not hold the job's peak.
#if defined(LQ_ADDRESS_SANITIZER)
    QSKIP("AddressSanitizer's allocator replaces malloc; nothing of glibc's to check");
#elif !defined(__GLIBC__)
    QSKIP("only glibc's malloc has these settings");
#else
    if (residentBytes() == 0)
        QSKIP("no /proc/self/statm to read the resident size from");
    lq::keepFreedBlocksForReuse();
    constexpr std::size_t kBlock = std::size_t(32) << 20;
    auto* block = static_cast<char*>(std::malloc(kBlock - 4096)); // below the mmap threshold
    QVERIFY(block);
    std::memset(block, 1, kBlock - 4096);
    QCOMPARE(static_cast<volatile char*>(block)[kBlock - 4097], char(1));
    std::free(block);
    const std::size_t kept = residentBytes();
    lq::returnFreedBlocks();
    const std::size_t returned = residentBytes();
    QVERIFY2(returned + kBlock / 2 < kept,
             qPrintable(QStringLiteral("resident %1 MB while kept, %2 MB after returning")
                            .arg(double(kept) / 1e6)
                            .arg(double(returned) / 1e6)));
#endif
}

QTEST_APPLESS_MAIN(AllocatorTest)
#include "allocatortest.moc"
