#include "windowactions.h"

#include "appsettings.h"

#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QMainWindow>
#include <QMenu>
#include <QMenuBar>
#include <QStyle>
#include <QToolBar>
#include <QUndoGroup>

namespace lq::gui {

WindowActions::WindowActions(QMainWindow* window, QUndoGroup* undoGroup, AppSettings* settings)
    : QObject(window), m_window(window), m_settings(settings)
{
    const auto make = [window](const QString& text, const QString& name,
                               const QKeySequence& shortcut = {}, const QIcon& icon = {}) {
        auto* action = new QAction(icon, text, window);
        action->setObjectName(name);
        if (!shortcut.isEmpty())
            action->setShortcut(shortcut);
        return action;
    };
    QStyle* s = window->style();
    m_open = make(tr("&Open Adapter…"), QStringLiteral("actionOpen"), QKeySequence::Open,
                  s->standardIcon(QStyle::SP_DialogOpenButton));
    m_open->setStatusTip(tr("Open a PEFT adapter (.safetensors or adapter_config.json)"));
    m_openFolder = make(tr("Open Adapter &Folder…"), QStringLiteral("actionOpenFolder"),
                        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O),
                        s->standardIcon(QStyle::SP_DirOpenIcon));
    m_openFolder->setStatusTip(tr("Open an adapter folder, or a folder holding many adapters "
                                  "(listed in a Fleet tab)"));
    m_openBatch = make(tr("Open &Batch Results…"), QStringLiteral("actionOpenBatch"));
    m_openBatch->setStatusTip(tr("Show what loraquant batch did: the output folder's "
                                 "batch-summary*.jsonl in a Fleet tab"));
    m_close = make(tr("&Close Adapter"), QStringLiteral("actionClose"), QKeySequence::Close);
    m_openSession = make(tr("Open &Session…"), QStringLiteral("actionOpenSession"));
    m_openSession->setStatusTip(tr("Reopen saved adapters with their choices, settings and view"));
    m_saveSession =
        make(tr("&Save Session"), QStringLiteral("actionSaveSession"), QKeySequence::Save);
    m_saveSession->setStatusTip(tr("Save the open adapters, every module's h and width, the "
                                   "settings and the view, to reopen later"));
    m_saveSessionAs =
        make(tr("Save Session &As…"), QStringLiteral("actionSaveSessionAs"), QKeySequence::SaveAs);
    m_exportPacked =
        make(tr("Export &Quantized (.lqa.h5)…"), QStringLiteral("actionExportPacked"),
             QKeySequence(Qt::CTRL | Qt::Key_E), s->standardIcon(QStyle::SP_DialogSaveButton));
    m_exportPacked->setStatusTip(tr("Write the packed low-bit adapter"));
    m_exportPeft = make(tr("Export &Dequantized PEFT Adapter…"), QStringLiteral("actionExportPeft"),
                        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    m_exportPeft->setStatusTip(tr("Write B̂ and Â as a PEFT adapter that PEFT and vLLM "
                                  "load unchanged"));
    m_exportReport = make(tr("Export &Report (JSON/CSV)…"), QStringLiteral("actionExportReport"),
                          QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_E));
    m_exportPlot = make(tr("Export &Plot (PNG/PDF/SVG)…"), QStringLiteral("actionExportPlot"),
                        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    m_quit = make(tr("&Quit"), QStringLiteral("actionQuit"), QKeySequence::Quit);
    m_quit->setMenuRole(QAction::QuitRole);
    connect(m_quit, &QAction::triggered, window, &QWidget::close);

    m_undo = undoGroup->createUndoAction(window, tr("&Undo"));
    m_undo->setObjectName(QStringLiteral("actionUndo"));
    m_undo->setShortcut(QKeySequence::Undo);
    m_undo->setIcon(s->standardIcon(QStyle::SP_ArrowBack));
    m_redo = undoGroup->createRedoAction(window, tr("&Redo"));
    m_redo->setObjectName(QStringLiteral("actionRedo"));
    m_redo->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});
    m_redo->setIcon(s->standardIcon(QStyle::SP_ArrowForward));

    m_quantize = make(tr("&Quantize && Validate"), QStringLiteral("actionQuantize"),
                      QKeySequence(Qt::CTRL | Qt::Key_R), s->standardIcon(QStyle::SP_MediaPlay));
    m_quantize->setStatusTip(tr("Quantize every module again in the background (with "
                                "refinement if chosen) and validate the CPU kernels"));
    m_cancel =
        make(tr("&Cancel Background Job"), QStringLiteral("actionCancel"),
             QKeySequence(Qt::CTRL | Qt::Key_Period), s->standardIcon(QStyle::SP_BrowserStop));

    m_applyPlan = make(tr("Apply &Plan from File…"), QStringLiteral("actionApplyPlan"));
    m_applyPlan->setStatusTip(
        tr("Set every module's h and bit width, the groups and the refinement as an earlier run "
           "chose them, from its packed adapter or JSON report"));

    m_pinSnapshot = make(tr("Pin &Snapshot"), QStringLiteral("actionPinSnapshot"),
                         QKeySequence(Qt::CTRL | Qt::Key_B));
    m_pinSnapshot->setStatusTip(tr("Keep the current errors to compare later settings with: the "
                                   "tree's Δ pin column, the Error view and the status bar"));
    m_clearSnapshot = make(tr("C&lear Snapshot"), QStringLiteral("actionClearSnapshot"));

    const QString viewNames[3] = {tr("&Spectrum"), tr("&Error"), tr("&Learn: what SVD does")};
    for (int i = 0; i < 3; ++i)
        m_views[i] = make(viewNames[i], QStringLiteral("actionView%1").arg(i),
                          QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
    m_svdHelp = make(tr("How SVD &Concentrates Information"), QStringLiteral("actionSvdHelp"),
                     QKeySequence::HelpContents);
    m_about = make(tr("&About LoRAQuant Workbench"), QStringLiteral("actionAbout"));
    m_about->setMenuRole(QAction::AboutRole);
}

void WindowActions::installMenus()
{
    QMenuBar* bar = m_window->menuBar();
    QMenu* file = bar->addMenu(tr("&File"));
    file->addAction(m_open);
    file->addAction(m_openFolder);
    file->addAction(m_openBatch);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &WindowActions::updateRecentMenu);
    file->addAction(m_close);
    file->addSeparator();
    file->addAction(m_openSession);
    file->addAction(m_saveSession);
    file->addAction(m_saveSessionAs);
    file->addSeparator();
    file->addAction(m_exportPacked);
    file->addAction(m_exportPeft);
    file->addAction(m_exportReport);
    file->addAction(m_exportPlot);
    file->addSeparator();
    file->addAction(m_quit);

    QMenu* edit = bar->addMenu(tr("&Edit"));
    edit->addAction(m_undo);
    edit->addAction(m_redo);

    QMenu* viewMenu = bar->addMenu(tr("&View"));
    for (QAction* action : m_views)
        viewMenu->addAction(action);
    viewMenu->addSeparator();
    for (QDockWidget* dock : m_window->findChildren<QDockWidget*>())
        viewMenu->addAction(dock->toggleViewAction());

    QMenu* adapter = bar->addMenu(tr("&Adapter"));
    adapter->addAction(m_quantize);
    adapter->addAction(m_cancel);
    adapter->addSeparator();
    adapter->addAction(m_applyPlan);
    adapter->addSeparator();
    adapter->addAction(m_pinSnapshot);
    adapter->addAction(m_clearSnapshot);

    QMenu* help = bar->addMenu(tr("&Help"));
    help->addAction(m_svdHelp);
    help->addSeparator();
    help->addAction(m_about);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);

    QToolBar* tools = m_window->addToolBar(tr("Main"));
    tools->setObjectName(QStringLiteral("mainToolBar"));
    tools->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    tools->addAction(m_open);
    tools->addSeparator();
    // The undo group's actions read "Undo Set layer 3 · down_proj to h = 2": beside their icons
    // that text moved every button after them at each edit. The tool bar gets stand-ins with a
    // fixed text that say the rest in their tool tips; the menu keeps the full text.
    for (QAction* full : {m_undo, m_redo}) {
        auto* shortAction =
            new QAction(full->icon(), full == m_undo ? tr("Undo") : tr("Redo"), tools);
        shortAction->setObjectName(full->objectName() + QStringLiteral("Tool"));
        const auto follow = [full, shortAction] {
            shortAction->setEnabled(full->isEnabled());
            shortAction->setToolTip(QString(full->text()).remove(QLatin1Char('&')));
        };
        follow();
        connect(full, &QAction::changed, shortAction, follow);
        connect(shortAction, &QAction::triggered, full, &QAction::trigger);
        tools->addAction(shortAction);
    }
    tools->addSeparator();
    tools->addAction(m_quantize);
    tools->addAction(m_exportPacked);
    viewMenu->addAction(tools->toggleViewAction());
}

void WindowActions::setDocumentOpen(bool open)
{
    for (QAction* action : {m_close, m_exportPacked, m_exportPeft, m_exportReport, m_exportPlot,
                            m_quantize, m_applyPlan, m_pinSnapshot, m_clearSnapshot})
        action->setEnabled(open);
}

void WindowActions::fillRecentMenu()
{
    updateRecentMenu();
}

void WindowActions::updateRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = m_settings->recentFiles();
    for (const QString& file : files) {
        QAction* action = m_recentMenu->addAction(file);
        connect(action, &QAction::triggered, this, [this, file] { emit recentFileChosen(file); });
    }
    if (files.isEmpty()) {
        m_recentMenu->addAction(tr("(none)"))->setEnabled(false);
        return;
    }
    m_recentMenu->addSeparator();
    QAction* clear = m_recentMenu->addAction(tr("&Clear Menu"));
    clear->setObjectName(QStringLiteral("actionClearRecent"));
    connect(clear, &QAction::triggered, this, [this] {
        for (const QString& file : m_settings->recentFiles())
            m_settings->removeRecentFile(file);
    });
}

} // namespace lq::gui
