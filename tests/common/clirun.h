#pragma once

#include <QByteArray>
#include <QProcess>
#include <QStringList>

// Runs the `loraquant` executable the tests were built against (LQ_CLI_PATH) the way a script
// would, so CLI tests see its exit code and both streams exactly as a user does.
namespace lqtest {

struct CliRun
{
    int exitCode = -1; // stays -1 when the process crashed or did not finish in time
    QByteArray out;
    QByteArray err;
};

// Waits for a started process and collects what it left; for tests that start it their own way
// (a shell, a memory limit).
inline CliRun finishRun(QProcess& process, int timeoutMs)
{
    CliRun run;
    if (!process.waitForFinished(timeoutMs) || process.exitStatus() != QProcess::NormalExit)
        return run;
    run.exitCode = process.exitCode();
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
}

// The limit only guards against a hang; sanitizer builds of the slower commands need minutes.
inline CliRun runCli(const QStringList& arguments, int timeoutMs = 300000)
{
    QProcess process;
    process.start(QStringLiteral(LQ_CLI_PATH), arguments);
    return finishRun(process, timeoutMs);
}

} // namespace lqtest
