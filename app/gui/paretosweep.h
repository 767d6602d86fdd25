#pragma once

#include "core/engine/sweep.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <memory>

namespace lq::gui {

class AdapterDocument;
class Job;

// The error-against-bits sweep of one document (core/engine/sweep.h), for the error view's
// Pareto plot: every method over its settings, computed in the background on request (it takes
// from seconds on a small adapter to minutes on a 7B one) and cancellable between modules. The
// sweep uses the document's group settings (size, layout, scale format), so that its true bit
// counts and the document's own result are measured alike; when those change the sweep no
// longer applies (result() is null) until it is run again.
//
// Threads: lives on the UI thread as a child of its document, which makes it. The job captures the
// document's shared adapter and a copy of the settings and writes only to a shared_ptr slot that
// this object reads after the job's finished() signal.
class ParetoSweep : public QObject
{
    Q_OBJECT

public:
    // The sweep the window runs: every method, for the document's group settings.
    static lq::SweepSettings settingsFor(const AdapterDocument& document);

    // The finished sweep, while it matches the document's group settings.
    const lq::SweepResult* result() const;
    Job* job() const { return m_job; }
    bool isRunning() const { return m_job != nullptr; }
    // Why the last run failed; empty after a success or a cancel.
    const QString& lastError() const { return m_error; }

    // Starts the sweep (does nothing while one runs); returns the job.
    Job* start();

signals:
    void started(lq::gui::Job* job);
    // After every run: succeeded, cancelled (nothing kept) or failed (`message` says why).
    void finished(bool succeeded, const QString& message);

private:
    // One per document, made by it (AdapterDocument::paretoSweep()).
    friend class AdapterDocument;
    explicit ParetoSweep(AdapterDocument* document);
    void onFinished();

    AdapterDocument* m_document;
    std::shared_ptr<const lq::SweepResult> m_result;
    QPointer<Job> m_job;
    QString m_error;
    std::shared_ptr<std::shared_ptr<const lq::SweepResult>> m_slot; // the running job's output
};

} // namespace lq::gui
