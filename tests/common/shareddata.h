#pragma once

#include <QDir>
#include <QFileInfo>
#include <QString>
#include <QStringList>
#include <QTest>

// Access to ../shared (real adapters trained by others, and what the public reference produced on
// them). Tests that need it call LQ_REQUIRE_SHARED() first, which skips with a clear message when
// the folder is absent, as on a machine without the shared data.
namespace lqtest {

inline QString sharedDir()
{
    return QStringLiteral(LQ_SHARED_DIR);
}
inline QString adaptersDir()
{
    return sharedDir() + QStringLiteral("/adapters");
}
inline QString referenceDir()
{
    return sharedDir() + QStringLiteral("/reference");
}
inline QString testDataDir()
{
    return QStringLiteral(LQ_TEST_DATA_DIR);
}

inline bool haveShared()
{
    return QFileInfo(adaptersDir()).isDir();
}

// Names of the shared adapters (folder names), sorted.
inline QStringList sharedAdapterNames()
{
    return QDir(adaptersDir()).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
}

} // namespace lqtest

#define LQ_REQUIRE_SHARED()                                                                        \
    do {                                                                                           \
        if (!lqtest::haveShared())                                                                 \
            QSKIP(qPrintable(QStringLiteral("shared adapters not found at %1; this test needs "    \
                                            "../shared/adapters and ../shared/reference")          \
                                 .arg(lqtest::adaptersDir())));                                    \
    } while (false)
