#include "sessioncontroller.h"

#include "adapterdocument.h"
#include "appsettings.h"
#include "documentpresenter.h"
#include "errorreporter.h"
#include "errorview.h"
#include "filechooser.h"
#include "mainwindow.h"
#include "workspace.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QUndoStack>
#include <algorithm>
#include <utility>

namespace lq::gui {

namespace {

const char* const kViews[] = {"spectrum", "error", "learn"};
const char* const kGroupings[] = {"modules", "layers", "kinds"};

QString sameAdapter(const QString& path)
{
    return QFileInfo(Workspace::adapterPath(path)).absoluteFilePath();
}

} // namespace

SessionController::SessionController(MainWindow* window, AppSettings* settings)
    : QObject(window), m_window(window), m_settings(settings)
{
    m_askOpen = [this] {
        return QFileDialog::getOpenFileName(m_window, tr("Open Session"), m_settings->lastFolder(),
                                            tr("Workbench session (*.lqsession.json *.json)"));
    };
    m_askUnsaved = [this](const QString& message) {
        return QMessageBox::question(m_window, tr("Unsaved choices"), message,
                                     QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel,
                                     QMessageBox::Save);
    };
    connect(window->workspace(), &Workspace::documentOpened, this,
            &SessionController::applyPending);
    connect(window->workspace(), &Workspace::openFailed, this, [this](const QString& path) {
        // An adapter of the session that cannot be opened: go on with the others.
        for (std::size_t i = 0; i < m_opening.adapters.size(); ++i)
            if (!m_applied[i] && sameAdapter(m_opening.adapters[i].path) == sameAdapter(path))
                m_applied[i] = true;
        finishOpening();
    });
}

void SessionController::reportError(const QString& title, const QString& message)
{
    if (m_reporter)
        m_reporter->error(m_window, title, message);
}

Session SessionController::current() const
{
    Session session;
    Workspace* workspace = m_window->workspace();
    for (AdapterDocument* document : workspace->documents()) {
        if (document == workspace->current())
            session.current = int(session.adapters.size());
        session.adapters.push_back(SessionAdapter::of(*document));
    }
    session.view = QLatin1String(kViews[int(m_window->currentView())]);
    session.errorGrouping =
        QLatin1String(kGroupings[int(m_window->presenter()->errorView()->grouping())]);
    const int module = m_window->presenter()->currentModule();
    if (AdapterDocument* document = workspace->current();
        document && module >= 0 && module < document->moduleCount())
        session.module = QString::fromStdString(document->module(module).name);
    return session;
}

bool SessionController::saveTo(const QString& path)
{
    try {
        current().write(path);
    } catch (const std::exception& error) {
        reportError(tr("Cannot save the session"), QString::fromUtf8(error.what()));
        return false;
    }
    m_path = path;
    m_settings->setLastFolder(QFileInfo(path).absolutePath());
    for (AdapterDocument* document : m_window->workspace()->documents())
        document->undoStack()->setClean();
    return true;
}

bool SessionController::save()
{
    return m_path.isEmpty() ? saveAs() : saveTo(m_path);
}

bool SessionController::saveAs()
{
    if (!m_chooser)
        return false;
    const QString suggested =
        m_path.isEmpty()
            ? QFileInfo(m_settings->lastFolder(), QStringLiteral("workbench.lqsession.json"))
                  .absoluteFilePath()
            : m_path;
    const QString path = m_chooser->fileToSave(m_window, tr("Save Session"), suggested,
                                               tr("Workbench session (*.lqsession.json)"));
    return !path.isEmpty() && saveTo(path);
}

void SessionController::open()
{
    const QString path = m_askOpen ? m_askOpen() : QString();
    if (!path.isEmpty())
        openPath(path);
}

void SessionController::openPath(const QString& path)
{
    Session session;
    try {
        session = Session::read(path);
    } catch (const std::exception& error) {
        reportError(tr("Cannot open the session"), QString::fromUtf8(error.what()));
        return;
    }
    m_opening = std::move(session);
    m_applied.assign(m_opening.adapters.size(), false);
    m_openingPath = path;
    m_settings->setLastFolder(QFileInfo(path).absolutePath());
    Workspace* workspace = m_window->workspace();
    for (std::size_t i = 0; i < m_opening.adapters.size(); ++i) {
        const SessionAdapter& entry = m_opening.adapters[i];
        if (AdapterDocument* open = workspace->find(Workspace::adapterPath(entry.path)))
            applyPending(open);
        else
            workspace->open(entry.path, entry.plan.settings);
    }
    finishOpening();
}

void SessionController::applyPending(AdapterDocument* document)
{
    for (std::size_t i = 0; i < m_opening.adapters.size(); ++i) {
        if (m_applied[i] ||
            sameAdapter(m_opening.adapters[i].path) != sameAdapter(document->path()))
            continue;
        m_applied[i] = true;
        try {
            // Not an undo step: the session is where the document starts from.
            document->setSettings(m_opening.adapters[i].settingsFor(document->adapter()));
            document->undoStack()->clear();
        } catch (const std::exception& error) {
            reportError(tr("Cannot restore the adapter's choices"),
                        QString::fromUtf8(error.what()));
        }
        finishOpening();
        return;
    }
}

void SessionController::finishOpening()
{
    if (m_openingPath.isEmpty() ||
        std::find(m_applied.begin(), m_applied.end(), false) != m_applied.end())
        return;
    Workspace* workspace = m_window->workspace();
    if (m_opening.current >= 0) {
        const SessionAdapter& entry = m_opening.adapters[std::size_t(m_opening.current)];
        if (AdapterDocument* document = workspace->find(Workspace::adapterPath(entry.path))) {
            workspace->setCurrent(document);
            for (int i = 0; i < document->moduleCount(); ++i)
                if (QString::fromStdString(document->module(i).name) == m_opening.module)
                    m_window->presenter()->selectModule(document, i);
        }
    }
    for (int view = 0; view < 3; ++view)
        if (m_opening.view == QLatin1String(kViews[view]))
            m_window->showView(MainWindow::View(view));
    for (int grouping = 0; grouping < 3; ++grouping)
        if (m_opening.errorGrouping == QLatin1String(kGroupings[grouping]))
            m_window->presenter()->errorView()->setGrouping(ErrorGrouping(grouping));
    m_path = m_openingPath;
    const QString opened = std::exchange(m_openingPath, QString());
    m_opening = {};
    m_applied.clear();
    emit sessionOpened(opened);
}

bool SessionController::hasUnsavedChoices() const
{
    for (AdapterDocument* document : m_window->workspace()->documents())
        if (!document->undoStack()->isClean())
            return true;
    return false;
}

bool SessionController::confirmClose()
{
    if (!hasUnsavedChoices())
        return true;
    const QMessageBox::StandardButton answer = m_askUnsaved(
        tr("Choices made since the session was last saved (splits, widths, budgets, settings) "
           "are lost when the workbench quits. Save them as a session?"));
    if (answer == QMessageBox::Cancel)
        return false;
    if (answer == QMessageBox::Discard)
        return true;
    return save();
}

} // namespace lq::gui
