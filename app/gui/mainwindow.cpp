#include "mainwindow.h"

#include "adapterdocument.h"
#include "adaptertree.h"
#include "appsettings.h"
#include "documentnames.h"
#include "documentpresenter.h"
#include "errorreporter.h"
#include "errorview.h"
#include "exportcontroller.h"
#include "filechooser.h"
#include "fleetpresenter.h"
#include "helpbrowser.h"
#include "job.h"
#include "sessioncontroller.h"
#include "spectrumview.h"
#include "statuspanel.h"
#include "widgets/errorbarplot.h"
#include "widgets/heatmapview.h"
#include "widgets/settingspanel.h"
#include "widgets/spectrumplot.h"
#include "windowactions.h"
#include "workspace.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileInfo>
#include <QMimeData>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <algorithm>

namespace lq::gui {

MainWindow::MainWindow(QSettings* settings, QWidget* parent)
    : QMainWindow(parent), m_settings(std::make_unique<AppSettings>(settings)),
      m_chooser(std::make_unique<DialogFileChooser>()),
      m_reporter(std::make_unique<MessageBoxReporter>()), m_workspace(new Workspace(this))
{
    setObjectName(QStringLiteral("MainWindow"));
    setWindowTitle(tr("LoRAQuant Workbench"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/loraquant-workbench.svg")));
    setAcceptDrops(true);
    setDockNestingEnabled(true);

    m_actions = new WindowActions(this, m_workspace->undoGroup(), m_settings.get());
    createViews();
    m_actions->installMenus();
    m_presenter->setErrorReporter(m_reporter.get());
    m_exports->setFileChooser(m_chooser.get());
    m_exports->setErrorReporter(m_reporter.get());
    m_sessions = new SessionController(this, m_settings.get());
    m_sessions->setFileChooser(m_chooser.get());
    m_sessions->setErrorReporter(m_reporter.get());
    wireActions();

    connect(m_workspace, &Workspace::loadStarted, m_presenter->statusPanel(), &StatusPanel::track);
    connect(m_workspace, &Workspace::documentOpened, this, [this](AdapterDocument* document) {
        m_presenter->documentOpened(document);
        m_settings->addRecentFile(document->path());
    });
    connect(m_workspace, &Workspace::openFailed, this,
            [this](const QString& path, const QString& message) {
                if (!QFileInfo::exists(path))
                    m_settings->removeRecentFile(path);
                reportError(tr("Cannot open adapter"), message);
            });
    connect(m_workspace, &Workspace::currentChanged, this, &MainWindow::onCurrentDocumentChanged);
    connect(m_fleets, &FleetPresenter::loadStarted, m_presenter->statusPanel(),
            &StatusPanel::track);
    connect(m_fleets, &FleetPresenter::openFailed, this,
            [this](const QString&, const QString& message) {
                reportError(tr("Cannot open the fleet"), message);
            });
    connect(m_fleets, &FleetPresenter::openAdapterRequested, this, [this](const QString& path) {
        openPath(path);
        showView(View::Spectrum);
    });

    resize(1280, 800);
    m_layoutRestored =
        restoreGeometry(m_settings->geometry()) && restoreState(m_settings->windowState());
    onCurrentDocumentChanged(nullptr);
}

MainWindow::~MainWindow() = default;

void MainWindow::setFileChooser(std::unique_ptr<FileChooser> chooser)
{
    m_chooser = std::move(chooser);
    m_exports->setFileChooser(m_chooser.get());
    m_sessions->setFileChooser(m_chooser.get());
}

void MainWindow::setErrorReporter(std::unique_ptr<ErrorReporter> reporter)
{
    m_reporter = std::move(reporter);
    m_presenter->setErrorReporter(m_reporter.get());
    m_exports->setErrorReporter(m_reporter.get());
    m_sessions->setErrorReporter(m_reporter.get());
}

void MainWindow::reportError(const QString& title, const QString& message)
{
    m_reporter->error(this, title, message);
}

// ---------------------------------------------------------------------------------------------
// Construction

void MainWindow::createViews()
{
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("views"));
    m_tabs->setDocumentMode(true);

    auto* spectrumView = new SpectrumView(m_tabs);
    m_tabs->addTab(spectrumView, tr("Spectrum"));
    auto* errorView = new ErrorView(m_tabs);
    m_tabs->addTab(errorView, tr("Error"));
    auto* learn = new widgets::HeatMapView(m_tabs);
    learn->setObjectName(QStringLiteral("learnView"));
    m_tabs->addTab(learn, tr("Learn: what SVD does"));
    setCentralWidget(m_tabs);

    auto* adapterTree = new AdapterTree(m_workspace, this);
    auto* treeDock = new QDockWidget(tr("Adapters"), this);
    treeDock->setObjectName(QStringLiteral("adaptersDock"));
    treeDock->setWidget(adapterTree);
    addDockWidget(Qt::LeftDockWidgetArea, treeDock);

    auto* panel = new widgets::SettingsPanel(this);
    panel->setObjectName(QStringLiteral("settingsPanel"));
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(panel);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    auto* panelDock = new QDockWidget(tr("Quantization"), this);
    panelDock->setObjectName(QStringLiteral("settingsDock"));
    panelDock->setWidget(scroll);
    // Both docks share the left column, so that at 1280 pixels the views keep ~800 of them.
    splitDockWidget(treeDock, panelDock, Qt::Vertical);

    auto* status = new StatusPanel(this);
    status->install(statusBar());

    DocumentPresenter::Views shown;
    shown.adapterTree = adapterTree;
    shown.tree = adapterTree->view();
    shown.treeModel = adapterTree->model();
    shown.tabs = m_tabs;
    shown.spectrum = spectrumView;
    shown.error = errorView;
    shown.learn = learn;
    shown.panel = panel;
    shown.status = status;
    shown.statusBar = statusBar();
    m_presenter = new DocumentPresenter(m_workspace, m_settings.get(), shown, this);
    m_exports = new ExportController(m_workspace, m_settings.get(), status, statusBar(), this);
    m_fleets = new FleetPresenter(m_tabs, this);
}

void MainWindow::wireActions()
{
    WindowActions* a = m_actions;
    connect(a->open(), &QAction::triggered, this,
            [this] { openPath(m_chooser->adapterToOpen(this, m_settings->lastFolder())); });
    connect(a->openFolder(), &QAction::triggered, this,
            [this] { openPath(m_chooser->adapterFolderToOpen(this, m_settings->lastFolder())); });
    connect(a->openBatch(), &QAction::triggered, this, [this] {
        const QString folder = m_chooser->batchResultsToOpen(this, m_settings->lastFolder());
        if (folder.isEmpty())
            return;
        m_settings->setLastFolder(folder);
        m_fleets->openBatchResults(folder);
    });
    connect(a, &WindowActions::recentFileChosen, this, &MainWindow::openPath);
    connect(a->close(), &QAction::triggered, this, [this] {
        if (AdapterDocument* document = m_workspace->current())
            m_workspace->close(document);
    });
    connect(a->openSession(), &QAction::triggered, m_sessions, &SessionController::open);
    connect(a->saveSession(), &QAction::triggered, m_sessions, &SessionController::save);
    connect(a->saveSessionAs(), &QAction::triggered, m_sessions, &SessionController::saveAs);
    connect(a->exportPacked(), &QAction::triggered, m_exports, &ExportController::exportPacked);
    connect(a->exportPeft(), &QAction::triggered, m_exports, &ExportController::exportPeft);
    connect(a->exportReport(), &QAction::triggered, m_exports, &ExportController::exportReport);
    connect(a->exportPlot(), &QAction::triggered, this,
            [this] { m_exports->exportPlot(plotOf(currentView())); });
    connect(a->applyPlan(), &QAction::triggered, m_exports, &ExportController::applyPlan);
    connect(a->quantize(), &QAction::triggered, m_presenter, &DocumentPresenter::quantize);
    connect(a->pinSnapshot(), &QAction::triggered, m_presenter, &DocumentPresenter::pinSnapshot);
    connect(a->clearSnapshot(), &QAction::triggered, m_presenter,
            &DocumentPresenter::clearSnapshot);
    connect(a->cancel(), &QAction::triggered, this, [this] {
        if (Job* job = m_presenter->statusPanel()->shownJob())
            job->cancel();
    });
    for (int i = 0; i < 3; ++i)
        connect(a->view(i), &QAction::triggered, this, [this, i] { showView(View(i)); });
    connect(a->svdHelp(), &QAction::triggered, this, &MainWindow::showSvdHelp);
    connect(a->about(), &QAction::triggered, this, &MainWindow::showAbout);
}

// ---------------------------------------------------------------------------------------------
// Views

void MainWindow::onCurrentDocumentChanged(AdapterDocument* document)
{
    setWindowTitle(
        document
            ? tr("%1 — LoRAQuant Workbench").arg(distinctName(document, m_workspace->documents()))
            : tr("LoRAQuant Workbench"));
    m_presenter->showDocument(document);
    m_actions->setDocumentOpen(document);
}

void MainWindow::showView(View view)
{
    m_tabs->setCurrentIndex(int(view));
}

MainWindow::View MainWindow::currentView() const
{
    return View(m_tabs->currentIndex());
}

widgets::PlotWidget* MainWindow::plotOf(View view) const
{
    switch (view) {
    case View::Spectrum:
        return m_presenter->spectrumView()->plot();
    case View::Error:
        return m_presenter->errorView()->errorPlot();
    case View::Learn:
        return m_presenter->learnView();
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Files

void MainWindow::openPath(const QString& path)
{
    if (path.isEmpty())
        return;
    m_settings->setLastFolder(QFileInfo(path).absolutePath());
    if (m_fleets->openIfFleet(path))
        return;
    m_workspace->open(path, m_settings->lastParameters());
}

// ---------------------------------------------------------------------------------------------
// Help, window events

void MainWindow::showSvdHelp()
{
    auto* browser = findChild<HelpBrowser*>();
    if (!browser)
        browser = new HelpBrowser(this);
    browser->show();
    browser->raise();
}

void MainWindow::showAbout()
{
    m_reporter->information(
        this, tr("About LoRAQuant Workbench"),
        tr("LoRAQuant Workbench %1\n\nCompresses LoRA adapters to ultra-low bit widths with "
           "LoRAQuant (arXiv 2510.26690): an SVD reparameterization puts the important "
           "information into the first components, which keep 2-3 bits, while the rest get "
           "1 bit.\n\nQt %2, QCustomPlot, Eigen, HDF5.")
            .arg(QCoreApplication::applicationVersion(), QString::fromLatin1(qVersion())));
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (!m_sessions->confirmClose()) {
        event->ignore();
        return;
    }
    m_settings->setWindowLayout(saveGeometry(), saveState());
    // Running jobs are cancelled and joined when the documents go; nothing is half-written.
    m_workspace->cancelLoading();
    for (AdapterDocument* document : m_workspace->documents())
        document->cancelJob();
    m_exports->cancel();
    event->accept();
}

void MainWindow::showEvent(QShowEvent* event)
{
    QMainWindow::showEvent(event);
    if (!m_layoutRestored) {
        // First run: share the width between the tree, the views and the controls. Dock sizes
        // only take once the window has its own.
        m_layoutRestored = true;
        auto* tree = findChild<QDockWidget*>(QStringLiteral("adaptersDock"));
        auto* panel = findChild<QDockWidget*>(QStringLiteral("settingsDock"));
        resizeDocks({tree}, {470}, Qt::Horizontal);
        // The controls get their full height (no scrolling at 800 pixels), the tree the rest.
        const int controls =
            m_presenter->settingsPanel()->sizeHint().height() + 30; // + the dock's title bar
        const int column = tree->height() + panel->height();        // what the two docks share
        resizeDocks({tree, panel}, {std::max(200, column - controls), controls}, Qt::Vertical);
    }
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls())
        for (const QUrl& url : event->mimeData()->urls())
            if (url.isLocalFile()) {
                event->acceptProposedAction();
                return;
            }
}

void MainWindow::dropEvent(QDropEvent* event)
{
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile())
            openPath(url.toLocalFile());
    event->acceptProposedAction();
}

} // namespace lq::gui
