#include "job.h"

#include "core/engine/allocatorsettings.h"

#include <QThread>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <exception>
#include <new>

namespace lq::gui {

namespace {

// The jobs' own threads. Qt's raster painting splits large fills across the global thread pool
// and waits for them: with two jobs holding both of its threads on a 2-core machine, every
// replot waited for a job to end (a 38 s stall in bench_gui while a quantization and the
// trade-off plot's refined points ran together).
QThreadPool* jobPool()
{
    static QThreadPool* const pool = [] {
        auto* threads = new QThreadPool; // lives as long as the process: jobs end before it
        threads->setMaxThreadCount(std::max(2, QThread::idealThreadCount()));
        return threads;
    }();
    return pool;
}

} // namespace

Job::Job(QString title, Work work, QObject* parent)
    : QObject(parent), m_title(std::move(title)), m_work(std::move(work))
{
    connect(&m_watcher, &QFutureWatcher<void>::finished, this, [this] {
        m_running = false;
        if (!m_error.isEmpty())
            m_outcome = Outcome::Failed;
        else if (!m_completed || m_cancel.load())
            m_outcome = Outcome::Cancelled;
        else
            m_outcome = Outcome::Succeeded;
        emit finished(m_outcome);
    });
}

Job::~Job()
{
    m_cancel.store(true);
    m_watcher.disconnect(this);
    m_watcher.waitForFinished();
}

void Job::start()
{
    if (m_running)
        return;
    m_running = true;
    m_error.clear();
    m_completed = false;
    // The lambda uses only the job's atomics and its own result fields, which outlive the work
    // (the destructor waits for it).
    m_watcher.setFuture(QtConcurrent::run(jobPool(), [this] {
        try {
            m_completed =
                m_work([this](int done, int total) { return reportProgress(done, total); });
        } catch (const std::bad_alloc&) {
            // "std::bad_alloc" says nothing to a user; the title says what was being done
            // ("Opening /path/adapter" -> "out of memory while opening /path/adapter").
            QString doing = m_title;
            if (!doing.isEmpty())
                doing[0] = doing[0].toLower();
            m_error = tr("out of memory while %1").arg(doing);
        } catch (const std::exception& error) {
            m_error = QString::fromStdString(error.what());
        } catch (...) {
            m_error = tr("unknown error");
        }
        // Blocks the work freed were kept for its next allocations; once it is done the window
        // would hold them idle (150 MB after opening a 7B rank-64 adapter).
        lq::returnFreedBlocks();
    }));
}

void Job::cancel()
{
    m_cancel.store(true);
}

bool Job::reportProgress(int done, int total)
{
    m_done.store(done);
    m_total.store(total);
    if (!m_progressQueued.exchange(true))
        QMetaObject::invokeMethod(
            this,
            [this] {
                m_progressQueued.store(false);
                emit progressed(m_done.load(), m_total.load());
            },
            Qt::QueuedConnection);
    return !m_cancel.load();
}

} // namespace lq::gui
