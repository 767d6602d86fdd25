#pragma once

#include "fleetdocument.h"

#include <QList>
#include <QObject>

class QTabWidget;

namespace lq::gui {

class FleetView;
class Job;

// The window's fleets: each batch output folder or folder of adapters opened gets a FleetDocument
// and a closable Fleet tab beside the adapter views. It reports what the window acts on: an
// adapter to open (a double-click on a row), a load to track, a fleet that could not be read.
//
// Threads: UI thread only.
class FleetPresenter : public QObject
{
    Q_OBJECT

public:
    // `tabs` (the window's views) must outlive the presenter.
    explicit FleetPresenter(QTabWidget* tabs, QObject* parent = nullptr);

    // Opens `path` as a fleet when FleetDocument::kindOf says it is one; false otherwise (the
    // window then opens it as one adapter, as before).
    bool openIfFleet(const QString& path);
    // File > Open Batch Results…: a folder with batch-summary*.jsonl (any other folder fails
    // with the reader's message).
    void openBatchResults(const QString& path);

    const QList<FleetView*>& views() const { return m_views; }
    // The fleet tab shown, or null when an adapter view is.
    FleetView* currentView() const;

signals:
    void openAdapterRequested(const QString& path);
    void loadStarted(lq::gui::Job* job);
    void openFailed(const QString& path, const QString& message);

private:
    void open(FleetDocument::Kind kind, const QString& path);
    void close(FleetView* view);

    QTabWidget* m_tabs;
    QList<FleetView*> m_views;
};

} // namespace lq::gui
