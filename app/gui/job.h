#pragma once

#include "core/io/progress.h"

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <atomic>
#include <functional>

namespace lq::gui {

// A piece of whole-adapter work run off the UI thread (QtConcurrent), cancellable between work
// items through lq::ProgressFn, reporting progress by queued, coalesced signals.
//
// Threads: the work function runs on a thread of the jobs' own pool (Qt's global pool is left to
// its painting) and the OpenMP threads it starts; it must not touch `this` or any QObject: it
// captures values and shared_ptrs only and hands its output back through state it shares with
// the job's owner. Everything else runs on the thread that owns the job. The job may be destroyed
// at any time: the destructor requests cancellation and waits for the work to return, so nothing
// outlives it.
//
// A Job runs once: start() it once and make a new Job to run the work again. The cancel flag is
// never reset, so a job cancelled and started again would stop at its first progress report.
class Job : public QObject
{
    Q_OBJECT

public:
    enum class Outcome
    {
        Succeeded,
        Cancelled,
        Failed
    };
    // The work: returns true when it completed, false when it stopped because the progress
    // function returned false; throws (lq::Error, std::exception) on failure.
    using Work = std::function<bool(const lq::ProgressFn& progress)>;

    Job(QString title, Work work, QObject* parent = nullptr);
    ~Job() override;

    void start();
    void cancel();

    const QString& title() const { return m_title; }
    bool isRunning() const { return m_running; }
    bool isCancelRequested() const { return m_cancel.load(); }
    Outcome outcome() const { return m_outcome; }
    // The reason of a failure, as thrown (lq::Error names the file and the problem).
    const QString& errorMessage() const { return m_error; }
    int done() const { return m_done.load(); }
    int total() const { return m_total.load(); }

signals:
    void progressed(int done, int total);
    // Emitted once, on the owner's thread, after the work has returned.
    void finished(lq::gui::Job::Outcome outcome);

private:
    bool reportProgress(int done, int total);

    QString m_title;
    Work m_work;
    QFutureWatcher<void> m_watcher;
    std::atomic<bool> m_cancel{false};
    std::atomic<int> m_done{0};
    std::atomic<int> m_total{0};
    // A progress event is queued and not yet delivered: later reports only update the counts,
    // so a fast worker posts at most one event per pass of the UI event loop.
    std::atomic<bool> m_progressQueued{false};
    bool m_running = false;
    Outcome m_outcome = Outcome::Succeeded;
    QString m_error; // written by the worker before it returns; read after finished()
    bool m_completed = false;
};

} // namespace lq::gui
