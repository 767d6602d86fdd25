#pragma once

#include "exportjob.h"

#include <QObject>
#include <QString>

class QStatusBar;
class QWidget;

namespace lq::widgets {
class PlotWidget;
}

namespace lq::gui {

class AdapterDocument;
class AppSettings;
class ErrorReporter;
class FileChooser;
class StatusPanel;
class Workspace;

// What leaves the current document for a file, and the plan that comes in from one: the packed,
// PEFT and report exports (each an ExportJob, one at a time), the plot export, and Apply Plan
// (a PlanJob whose settings become one undoable edit). It owns the running export and the rule
// for where a save dialog starts (suggestedExportPath).
//
// Threads: UI thread only; the jobs it starts run their work on the pool (job.h) and report back
// here through their finished() signal.
class ExportController : public QObject
{
    Q_OBJECT

public:
    // Everything given must outlive the controller; `dialogParent` is the window the dialogs
    // belong to.
    ExportController(Workspace* workspace, AppSettings* settings, StatusPanel* status,
                     QStatusBar* statusBar, QWidget* dialogParent);

    // How the controller asks for paths and reports errors; not owned.
    void setFileChooser(FileChooser* chooser) { m_chooser = chooser; }
    void setErrorReporter(ErrorReporter* reporter) { m_reporter = reporter; }

    // The File menu's exports, each asking for its path first.
    void exportPacked();
    void exportPeft();
    void exportReport();
    // Exports `plot` (the view shown) as PNG, PDF or SVG; does nothing for a null plot.
    void exportPlot(widgets::PlotWidget* plot);
    // Adapter > Apply Plan from File….
    void applyPlan();

    // The export running or last started, until it finishes.
    ExportJob* activeExport() const { return m_export; }
    // Asks the running export to stop (the window is closing).
    void cancel();

    // Where an export dialog starts: the adapter's base name followed by `tail` ("-report.json"),
    // in the folder of the last export, or before any beside the adapter.
    QString suggestedExportPath(const AdapterDocument& document, const QString& tail) const;

signals:
    // An export finished (successfully or not); `message` is the reason of a failure.
    void exportFinished(bool succeeded, const QString& message);

private:
    // The path chosen in a save dialog that starts at suggestedExportPath(current, `tail`);
    // empty when no adapter is open or the dialog was cancelled.
    QString askFile(const QString& title, const QString& tail, const QString& filter) const;
    QString askFolder(const QString& title, const QString& tail) const;
    void startExport(ExportJob::Kind kind, const QString& path);
    void rememberExportFolder(const QString& path);
    void reportError(const QString& title, const QString& message);

    Workspace* m_workspace;
    AppSettings* m_settings;
    StatusPanel* m_status;
    QStatusBar* m_statusBar;
    QWidget* m_dialogParent;
    FileChooser* m_chooser = nullptr;
    ErrorReporter* m_reporter = nullptr;
    ExportJob* m_export = nullptr;
};

} // namespace lq::gui
