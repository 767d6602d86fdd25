#include "exportcontroller.h"

#include "adapterdocument.h"
#include "appsettings.h"
#include "changesettingscommand.h"
#include "errorreporter.h"
#include "filechooser.h"
#include "planjob.h"
#include "statuspanel.h"
#include "widgets/plotwidget.h"
#include "workspace.h"

#include <QDir>
#include <QFileInfo>
#include <QPointer>
#include <QStandardPaths>
#include <QStatusBar>
#include <QUndoStack>

namespace lq::gui {

ExportController::ExportController(Workspace* workspace, AppSettings* settings, StatusPanel* status,
                                   QStatusBar* statusBar, QWidget* dialogParent)
    : QObject(dialogParent), m_workspace(workspace), m_settings(settings), m_status(status),
      m_statusBar(statusBar), m_dialogParent(dialogParent)
{}

void ExportController::reportError(const QString& title, const QString& message)
{
    m_reporter->error(m_dialogParent, title, message);
}

void ExportController::rememberExportFolder(const QString& path)
{
    const QString folder = QFileInfo(path).absolutePath();
    m_settings->setLastFolder(folder);
    m_settings->setLastExportFolder(folder);
}

void ExportController::cancel()
{
    if (m_export)
        m_export->cancel();
}

QString ExportController::askFile(const QString& title, const QString& tail,
                                  const QString& filter) const
{
    const AdapterDocument* document = m_workspace->current();
    return document ? m_chooser->fileToSave(m_dialogParent, title,
                                            suggestedExportPath(*document, tail), filter)
                    : QString();
}

QString ExportController::askFolder(const QString& title, const QString& tail) const
{
    const AdapterDocument* document = m_workspace->current();
    return document ? m_chooser->folderToSave(m_dialogParent, title,
                                              suggestedExportPath(*document, tail))
                    : QString();
}

void ExportController::exportPacked()
{
    QString path = askFile(tr("Export Quantized Adapter"), QStringLiteral(".lqa.h5"),
                           tr("Packed LoRAQuant adapter (*.lqa.h5)"));
    if (path.isEmpty())
        return;
    if (!path.endsWith(QLatin1String(".lqa.h5")))
        path += QStringLiteral(".lqa.h5");
    startExport(ExportJob::Kind::Packed, path);
}

void ExportController::exportPeft()
{
    const QString folder =
        askFolder(tr("Export Dequantized PEFT Adapter"), QStringLiteral("-loraquant"));
    if (!folder.isEmpty())
        startExport(ExportJob::Kind::PeftAdapter, folder);
}

void ExportController::exportReport()
{
    QString path = askFile(tr("Export Report"), QStringLiteral("-report.json"),
                           tr("JSON report (*.json);;CSV table (*.csv)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".json");
    startExport(ExportJob::Kind::Report, path);
}

QString ExportController::suggestedExportPath(const AdapterDocument& document,
                                              const QString& tail) const
{
    // The last export's folder first: a person exporting several adapters keeps them together.
    // Before that, beside the adapter, where its siblings are (the bundled example's folder is
    // not writable once installed: then the documents folder).
    QString folder = m_settings->lastExportFolder();
    if (folder.isEmpty()) {
        folder = document.placeFolder();
        if (!QFileInfo(folder).isWritable())
            folder = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
        if (folder.isEmpty())
            folder = QDir::homePath();
    }
    const QString base = folder + QLatin1Char('/') + document.baseName();
    const QString path = base + tail;
    // A packed file's packed export would otherwise suggest writing over it.
    if (QFileInfo(path).absoluteFilePath() == QFileInfo(document.path()).absoluteFilePath())
        return base + QStringLiteral("-requantized") + tail;
    return path;
}

void ExportController::startExport(ExportJob::Kind kind, const QString& path)
{
    AdapterDocument* document = m_workspace->current();
    if (!document)
        return;
    if (m_export) {
        reportError(tr("Export"), tr("Another export is still running; wait for it or cancel "
                                     "it first."));
        return;
    }
    ExportJob::Input input;
    input.kind = kind;
    input.path = path;
    input.adapter = document->sharedAdapter();
    input.settings = document->settings();
    if (document->resultState() == AdapterDocument::ResultState::Current)
        input.result = document->sharedResult();
    auto* job = new ExportJob(std::move(input), this);
    m_export = job;
    rememberExportFolder(path);
    connect(job, &Job::finished, this, [this, job](Job::Outcome outcome) {
        m_export = nullptr;
        job->deleteLater();
        switch (outcome) {
        case Job::Outcome::Succeeded:
            m_statusBar->showMessage(
                tr("Exported %1 to %2").arg(ExportJob::kindName(job->kind()), job->path()), 8000);
            break;
        case Job::Outcome::Cancelled:
            m_statusBar->showMessage(tr("Export cancelled; nothing was written"), 8000);
            break;
        case Job::Outcome::Failed:
            reportError(tr("Export failed"), job->errorMessage());
            break;
        }
        emit exportFinished(outcome == Job::Outcome::Succeeded, job->errorMessage());
    });
    job->start();
    m_status->track(job);
}

void ExportController::exportPlot(widgets::PlotWidget* plot)
{
    if (!plot)
        return;
    QString path =
        askFile(tr("Export Plot"), QLatin1Char('-') + plot->exportName() + QStringLiteral(".png"),
                tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"));
    if (path.isEmpty())
        return;
    auto format = widgets::PlotWidget::formatForPath(path);
    if (!format) {
        path += QStringLiteral(".png");
        format = widgets::PlotFormat::Png;
    }
    rememberExportFolder(path);
    const QString error = plot->exportTo(path, *format);
    if (!error.isEmpty()) {
        reportError(tr("Export failed"), error);
        emit exportFinished(false, error);
        return;
    }
    m_statusBar->showMessage(tr("Exported the plot to %1").arg(path), 8000);
    emit exportFinished(true, QString());
}

void ExportController::applyPlan()
{
    AdapterDocument* document = m_workspace->current();
    if (!document)
        return;
    const QString path = m_chooser->planToOpen(m_dialogParent, m_settings->lastFolder());
    if (path.isEmpty())
        return;
    auto* job = new PlanJob(path, document->sharedAdapter(), this);
    connect(job, &Job::finished, this,
            [this, job, target = QPointer<AdapterDocument>(document)](Job::Outcome outcome) {
                job->deleteLater();
                if (outcome == Job::Outcome::Failed)
                    reportError(tr("Cannot apply the plan"), job->errorMessage());
                if (outcome != Job::Outcome::Succeeded || !target)
                    return;
                target->undoStack()->push(new ChangeSettingsCommand(
                    target, job->settings(),
                    tr("Apply plan %1").arg(QFileInfo(job->path()).fileName())));
                m_statusBar->showMessage(tr("Applied the plan %1 to %2 modules")
                                             .arg(QFileInfo(job->path()).fileName())
                                             .arg(job->settings().hOverride.size()),
                                         8000);
            });
    job->start();
    m_status->track(job);
}

} // namespace lq::gui
