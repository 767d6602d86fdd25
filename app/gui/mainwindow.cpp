#include "mainwindow.h"

#include "adapterdocument.h"
#include "adaptertreemodel.h"
#include "applybudgetcommand.h"
#include "appsettings.h"
#include "budgetcurves.h"
#include "changesettingscommand.h"
#include "core/engine/splitrule.h"
#include "errorreporter.h"
#include "errorview.h"
#include "exportjob.h"
#include "filechooser.h"
#include "helpbrowser.h"
#include "paretosweep.h"
#include "planjob.h"
#include "setmodulesplitcommand.h"
#include "spectrumview.h"
#include "statuspanel.h"
#include "viewdata.h"
#include "widgets/errorbarplot.h"
#include "widgets/heatmapview.h"
#include "widgets/settingspanel.h"
#include "widgets/spectrumplot.h"
#include "workspace.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QFontMetrics>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPointer>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolBar>
#include <QTreeView>
#include <QUndoGroup>
#include <QUndoStack>
#include <algorithm>

namespace lq::gui {

namespace {

Eigen::VectorXf toVector(const std::vector<double>& values)
{
    Eigen::VectorXf vector(Eigen::Index(values.size()));
    for (std::size_t i = 0; i < values.size(); ++i)
        vector[Eigen::Index(i)] = float(values[i]);
    return vector;
}

// The module at the top of the document's list in the tree; -1 when there is none.
int firstShownModule(const AdapterDocument* document)
{
    return document && document->moduleCount() > 0 ? document->displayOrder().front() : -1;
}

} // namespace

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

    createActions();
    createViews();
    createMenus();

    connect(m_workspace, &Workspace::loadStarted, m_status, &StatusPanel::track);
    connect(m_workspace, &Workspace::documentOpened, this, [this](AdapterDocument* document) {
        connectDocument(document);
        m_settings->addRecentFile(document->path());
        m_tree->expand(m_treeModel->indexOf(document));
        const std::vector<std::string>& warnings = document->adapter().warnings();
        if (warnings.size() == 1)
            statusBar()->showMessage(QString::fromStdString(warnings.front()), 8000);
        else if (!warnings.empty())
            statusBar()->showMessage(
                tr("%1 warnings, listed in the adapter's tooltip in the tree; the first: %2")
                    .arg(warnings.size())
                    .arg(QString::fromStdString(warnings.front())),
                8000);
    });
    connect(m_workspace, &Workspace::openFailed, this,
            [this](const QString& path, const QString& message) {
                if (!QFileInfo::exists(path))
                    m_settings->removeRecentFile(path);
                reportError(tr("Cannot open adapter"), message);
            });
    connect(m_workspace, &Workspace::currentChanged, this, &MainWindow::onCurrentDocumentChanged);

    resize(1280, 800);
    m_layoutRestored =
        restoreGeometry(m_settings->geometry()) && restoreState(m_settings->windowState());
    onCurrentDocumentChanged(nullptr);
}

MainWindow::~MainWindow() = default;

void MainWindow::setFileChooser(std::unique_ptr<FileChooser> chooser)
{
    m_chooser = std::move(chooser);
}

void MainWindow::setErrorReporter(std::unique_ptr<ErrorReporter> reporter)
{
    m_reporter = std::move(reporter);
}

void MainWindow::reportError(const QString& title, const QString& message)
{
    m_reporter->error(this, title, message);
}

AdapterDocument* MainWindow::currentDocument() const
{
    return m_workspace->current();
}

widgets::SpectrumPlot* MainWindow::spectrumPlot() const
{
    return m_spectrumView->plot();
}

QLabel* MainWindow::moduleSummaryLabel() const
{
    return m_spectrumView->summaryLabel();
}

widgets::ErrorBarPlot* MainWindow::errorPlot() const
{
    return m_errorView->errorPlot();
}

widgets::ParetoPlot* MainWindow::paretoPlot() const
{
    return m_errorView->paretoPlot();
}

QPushButton* MainWindow::sweepButton() const
{
    return m_errorView->sweepButton();
}

ExportJob* MainWindow::activeExport() const
{
    return m_export;
}

// ---------------------------------------------------------------------------------------------
// Construction

void MainWindow::createActions()
{
    const auto make = [this](const QString& text, const QString& name,
                             const QKeySequence& shortcut = {}, const QIcon& icon = {}) {
        auto* action = new QAction(icon, text, this);
        action->setObjectName(name);
        if (!shortcut.isEmpty())
            action->setShortcut(shortcut);
        return action;
    };
    QStyle* s = style();
    m_openAction = make(tr("&Open Adapter…"), QStringLiteral("actionOpen"), QKeySequence::Open,
                        s->standardIcon(QStyle::SP_DialogOpenButton));
    m_openAction->setStatusTip(tr("Open a PEFT adapter (.safetensors or adapter_config.json)"));
    connect(m_openAction, &QAction::triggered, this, &MainWindow::openAdapter);
    m_openFolderAction = make(tr("Open Adapter &Folder…"), QStringLiteral("actionOpenFolder"),
                              QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O),
                              s->standardIcon(QStyle::SP_DirOpenIcon));
    connect(m_openFolderAction, &QAction::triggered, this, &MainWindow::openAdapterFolder);
    m_closeAction = make(tr("&Close Adapter"), QStringLiteral("actionClose"), QKeySequence::Close);
    connect(m_closeAction, &QAction::triggered, this, &MainWindow::closeAdapter);
    m_exportPackedAction =
        make(tr("Export &Quantized (.lqa.h5)…"), QStringLiteral("actionExportPacked"),
             QKeySequence(Qt::CTRL | Qt::Key_E), s->standardIcon(QStyle::SP_DialogSaveButton));
    m_exportPackedAction->setStatusTip(tr("Write the packed low-bit adapter"));
    connect(m_exportPackedAction, &QAction::triggered, this, &MainWindow::exportPacked);
    m_exportPeftAction =
        make(tr("Export &Dequantized PEFT Adapter…"), QStringLiteral("actionExportPeft"),
             QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    m_exportPeftAction->setStatusTip(tr("Write B̂ and Â as a PEFT adapter that PEFT and vLLM "
                                        "load unchanged"));
    connect(m_exportPeftAction, &QAction::triggered, this, &MainWindow::exportPeft);
    m_exportReportAction =
        make(tr("Export &Report (JSON/CSV)…"), QStringLiteral("actionExportReport"),
             QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_E));
    connect(m_exportReportAction, &QAction::triggered, this, &MainWindow::exportReport);
    m_exportPlotAction = make(tr("Export &Plot (PNG/PDF/SVG)…"), QStringLiteral("actionExportPlot"),
                              QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    connect(m_exportPlotAction, &QAction::triggered, this, &MainWindow::exportPlot);
    m_quitAction = make(tr("&Quit"), QStringLiteral("actionQuit"), QKeySequence::Quit);
    m_quitAction->setMenuRole(QAction::QuitRole);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);

    m_undoAction = m_workspace->undoGroup()->createUndoAction(this, tr("&Undo"));
    m_undoAction->setObjectName(QStringLiteral("actionUndo"));
    m_undoAction->setShortcut(QKeySequence::Undo);
    m_undoAction->setIcon(s->standardIcon(QStyle::SP_ArrowBack));
    m_redoAction = m_workspace->undoGroup()->createRedoAction(this, tr("&Redo"));
    m_redoAction->setObjectName(QStringLiteral("actionRedo"));
    m_redoAction->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});
    m_redoAction->setIcon(s->standardIcon(QStyle::SP_ArrowForward));

    m_quantizeAction =
        make(tr("&Quantize && Validate"), QStringLiteral("actionQuantize"),
             QKeySequence(Qt::CTRL | Qt::Key_R), s->standardIcon(QStyle::SP_MediaPlay));
    m_quantizeAction->setStatusTip(tr("Quantize every module again in the background (with "
                                      "refinement if chosen) and validate the CPU kernels"));
    connect(m_quantizeAction, &QAction::triggered, this, &MainWindow::quantize);
    m_cancelAction =
        make(tr("&Cancel Background Job"), QStringLiteral("actionCancel"),
             QKeySequence(Qt::CTRL | Qt::Key_Period), s->standardIcon(QStyle::SP_BrowserStop));
    connect(m_cancelAction, &QAction::triggered, this, [this] {
        if (Job* job = m_status->shownJob())
            job->cancel();
    });

    m_applyPlanAction = make(tr("Apply &Plan from File…"), QStringLiteral("actionApplyPlan"));
    m_applyPlanAction->setStatusTip(
        tr("Set every module's h and bit width, the groups and the refinement as an earlier run "
           "chose them, from its packed adapter or JSON report"));
    connect(m_applyPlanAction, &QAction::triggered, this, &MainWindow::applyPlan);

    const QString viewNames[3] = {tr("&Spectrum"), tr("&Error"), tr("&Learn: what SVD does")};
    for (int i = 0; i < 3; ++i) {
        m_viewActions[i] = make(viewNames[i], QStringLiteral("actionView%1").arg(i),
                                QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
        connect(m_viewActions[i], &QAction::triggered, this, [this, i] { showView(View(i)); });
    }
    m_svdHelpAction = make(tr("How SVD &Concentrates Information"), QStringLiteral("actionSvdHelp"),
                           QKeySequence::HelpContents);
    connect(m_svdHelpAction, &QAction::triggered, this, &MainWindow::showSvdHelp);
    m_aboutAction = make(tr("&About LoRAQuant Workbench"), QStringLiteral("actionAbout"));
    m_aboutAction->setMenuRole(QAction::AboutRole);
    connect(m_aboutAction, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::createMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_openAction);
    file->addAction(m_openFolderAction);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::updateRecentMenu);
    file->addAction(m_closeAction);
    file->addSeparator();
    file->addAction(m_exportPackedAction);
    file->addAction(m_exportPeftAction);
    file->addAction(m_exportReportAction);
    file->addAction(m_exportPlotAction);
    file->addSeparator();
    file->addAction(m_quitAction);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(m_undoAction);
    edit->addAction(m_redoAction);

    m_viewMenu = menuBar()->addMenu(tr("&View"));
    for (QAction* action : m_viewActions)
        m_viewMenu->addAction(action);
    m_viewMenu->addSeparator();
    for (QDockWidget* dock : findChildren<QDockWidget*>())
        m_viewMenu->addAction(dock->toggleViewAction());

    QMenu* adapter = menuBar()->addMenu(tr("&Adapter"));
    adapter->addAction(m_quantizeAction);
    adapter->addAction(m_cancelAction);
    adapter->addSeparator();
    adapter->addAction(m_applyPlanAction);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(m_svdHelpAction);
    help->addSeparator();
    help->addAction(m_aboutAction);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);

    QToolBar* tools = addToolBar(tr("Main"));
    tools->setObjectName(QStringLiteral("mainToolBar"));
    tools->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    tools->addAction(m_openAction);
    tools->addSeparator();
    // The undo group's actions read "Undo Set layer 3 · down_proj to h = 2": beside their icons
    // that text moved every button after them at each edit. The tool bar gets stand-ins with a
    // fixed text that say the rest in their tool tips; the menu keeps the full text.
    for (QAction* full : {m_undoAction, m_redoAction}) {
        auto* shortAction =
            new QAction(full->icon(), full == m_undoAction ? tr("Undo") : tr("Redo"), tools);
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
    tools->addAction(m_quantizeAction);
    tools->addAction(m_exportPackedAction);
    m_viewMenu->addAction(tools->toggleViewAction());
}

void MainWindow::createViews()
{
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("views"));
    m_tabs->setDocumentMode(true);

    m_spectrumView = new SpectrumView(m_tabs);
    m_tabs->addTab(m_spectrumView, tr("Spectrum"));
    m_errorView = new ErrorView(m_tabs);
    connect(m_errorView, &ErrorView::sweepRequested, this, [this] {
        if (AdapterDocument* document = currentDocument())
            document->paretoSweep()->start();
    });
    connect(m_errorView, &ErrorView::moduleClicked, this, [this](int module) {
        if (AdapterDocument* document = currentDocument())
            selectModule(document, module);
    });
    m_tabs->addTab(m_errorView, tr("Error"));
    m_learn = new widgets::HeatMapView(m_tabs);
    m_learn->setObjectName(QStringLiteral("learnView"));
    m_tabs->addTab(m_learn, tr("Learn: what SVD does"));
    setCentralWidget(m_tabs);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] {
        if (currentView() == View::Learn)
            updateLearnView();
    });

    m_treeModel = new AdapterTreeModel(m_workspace, this);
    m_tree = new QTreeView(this);
    m_tree->setObjectName(QStringLiteral("adapterTree"));
    m_tree->setModel(m_treeModel);
    m_tree->setUniformRowHeights(true);
    m_tree->setAlternatingRowColors(false);
    m_tree->setIndentation(14);
    m_tree->setSelectionMode(QAbstractItemView::SingleSelection);
    m_tree->header()->setStretchLastSection(false);
    // Fixed widths from the widest text each column can hold. ResizeToContents would measure
    // every row of every column on each change, and a whole-adapter result changes all of them
    // (about 100 ms per update for 224 modules on a busy machine, in bench_gui).
    m_tree->header()->setSectionResizeMode(QHeaderView::Interactive);
    m_tree->header()->setSectionResizeMode(AdapterTreeModel::NameColumn, QHeaderView::Stretch);
    {
        const QFontMetrics metrics(m_tree->font());
        QFont bold = m_tree->font();
        bold.setBold(true);
        const QFontMetrics boldMetrics(bold); // the adapter rows are bold
        const QString widest[AdapterTreeModel::ColumnCount] = {QString(),
                                                               tr("%n module(s)", nullptr, 288),
                                                               QStringLiteral("888"),
                                                               QStringLiteral("888"),
                                                               QStringLiteral("b_h"),
                                                               QStringLiteral("8.88 / 8.88"),
                                                               QStringLiteral("0.0000")};
        constexpr int kPadding = 10; // the cell's margins
        for (int column = 1; column < AdapterTreeModel::ColumnCount; ++column) {
            const QString header =
                m_treeModel->headerData(column, Qt::Horizontal, Qt::DisplayRole).toString();
            const int width = std::max(
                {boldMetrics.horizontalAdvance(widest[column]), metrics.horizontalAdvance(header),
                 column == AdapterTreeModel::ShapeColumn
                     ? metrics.horizontalAdvance(QStringLiteral("11008×4096"))
                     : 0});
            m_tree->header()->resizeSection(column, width + kPadding);
        }
    }
    connect(m_tree->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &MainWindow::onTreeSelection);
    auto* treeDock = new QDockWidget(tr("Adapters"), this);
    treeDock->setObjectName(QStringLiteral("adaptersDock"));
    treeDock->setWidget(m_tree);
    addDockWidget(Qt::LeftDockWidgetArea, treeDock);

    m_panel = new widgets::SettingsPanel(this);
    m_panel->setObjectName(QStringLiteral("settingsPanel"));
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(m_panel);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    auto* panelDock = new QDockWidget(tr("Quantization"), this);
    panelDock->setObjectName(QStringLiteral("settingsDock"));
    panelDock->setWidget(scroll);
    // Both docks share the left column, so that at 1280 pixels the views keep ~800 of them.
    splitDockWidget(treeDock, panelDock, Qt::Vertical);
    connect(m_panel, &widgets::SettingsPanel::applyToSelectedRequested, this,
            &MainWindow::applyToSelected);
    connect(m_panel, &widgets::SettingsPanel::applyToAllRequested, this, &MainWindow::applyToAll);
    connect(m_panel, &widgets::SettingsPanel::adapterWideChanged, this,
            &MainWindow::applyAdapterWide);
    connect(m_panel, &widgets::SettingsPanel::budgetChosen, this, &MainWindow::applyBudget);
    connect(m_panel, &widgets::SettingsPanel::budgetPreviewed, this, &MainWindow::previewBudget);

    connect(m_spectrumView->plot(), &widgets::SpectrumPlot::splitDragged, this,
            &MainWindow::onSplitDragged);
    connect(m_spectrumView->plot(), &widgets::SpectrumPlot::splitChosen, this,
            &MainWindow::onSplitChosen);

    m_status = new StatusPanel(this);
    m_status->install(statusBar());
}

void MainWindow::connectDocument(AdapterDocument* document)
{
    connect(document, &AdapterDocument::jobStarted, m_status, &StatusPanel::track);
    ParetoSweep* sweep = document->paretoSweep();
    connect(sweep, &ParetoSweep::started, m_status, &StatusPanel::track);
    connect(sweep, &ParetoSweep::started, this, [this, document] {
        if (document == currentDocument())
            m_errorView->showTradeOff(document);
    });
    connect(sweep, &ParetoSweep::finished, this,
            [this, document](bool succeeded, const QString& message) {
                if (!message.isEmpty())
                    reportError(tr("Sweep failed"),
                                tr("%1:\n%2").arg(document->displayName(), message));
                else if (!succeeded)
                    statusBar()->showMessage(tr("Sweep cancelled; nothing was kept"), 6000);
                if (document == currentDocument())
                    m_errorView->showTradeOff(document);
            });
    connect(document, &AdapterDocument::moduleChanged, this, [this, document](int module) {
        if (document != currentDocument())
            return;
        if (module == m_module) {
            m_shownLearn = nullptr; // h changed: redraw the learn view when it is shown
            updateModuleViews();
        }
        updateErrorView();
        updateTotals();
    });
    connect(document, &AdapterDocument::resultChanged, this, [this, document] {
        if (document != currentDocument())
            return;
        updateModuleViews();
        updateErrorView();
        updateTotals();
        updatePanel();
    });
    connect(document, &AdapterDocument::settingsChanged, this, [this, document] {
        if (document != currentDocument())
            return;
        m_settings->setLastParameters(document->settings());
        updatePanel();
        updateModuleViews();
    });
    connect(document, &AdapterDocument::baselinesChanged, this, [this, document] {
        if (document == currentDocument())
            updateErrorView();
    });
    connect(document, &AdapterDocument::baselinesFailed, this,
            [this, document](const QString& message) {
                reportError(tr("Measuring the baselines failed"),
                            tr("%1:\n%2").arg(document->displayName(), message));
            });
    connect(document, &AdapterDocument::jobFinished, this,
            [this, document](Job::Outcome outcome, const QString& message) {
                if (outcome == Job::Outcome::Failed)
                    reportError(tr("Quantization failed"),
                                tr("%1:\n%2").arg(document->displayName(), message));
                else if (outcome == Job::Outcome::Cancelled)
                    statusBar()->showMessage(
                        tr("Cancelled: the previous result stays, marked out of date"), 6000);
                if (outcome != Job::Outcome::Succeeded || !document->validation())
                    return;
                const lq::KernelValidationResult& validation = *document->validation();
                if (validation.passed) {
                    statusBar()->showMessage(
                        tr("CPU kernels validated: %1 modules within %2 of the reference "
                           "(largest relative error %3)")
                            .arg(validation.modules.size())
                            .arg(validation.tolerance)
                            .arg(validation.maxRelError, 0, 'g', 2),
                        10000);
                    return;
                }
                QStringList failed;
                for (const lq::ModuleValidation& module : validation.modules)
                    if (!module.passed)
                        failed << tr("%1: relative error %2")
                                      .arg(QString::fromStdString(module.name))
                                      .arg(module.relError, 0, 'g', 3);
                reportError(tr("Kernel validation failed"),
                            tr("%1: %n module(s) differ from the scalar reference by more than "
                               "%2:\n%3",
                               nullptr, int(failed.size()))
                                .arg(document->displayName())
                                .arg(validation.tolerance)
                                .arg(failed.join(QLatin1Char('\n'))));
            });
}

// ---------------------------------------------------------------------------------------------
// Selection and views

void MainWindow::onCurrentDocumentChanged(AdapterDocument* document)
{
    setWindowTitle(document ? tr("%1 — LoRAQuant Workbench").arg(document->displayName())
                            : tr("LoRAQuant Workbench"));
    m_panel->setDocumentOpen(document);
    if (!document) {
        m_module = -1;
    } else if (m_treeModel->documentOf(m_tree->currentIndex()) != document) {
        // Opened or switched to from elsewhere: show its first module.
        m_module = firstShownModule(document);
        selectModule(document, m_module);
    }
    updatePanel();
    updateModuleViews();
    updateErrorView();
    updateTotals();
    updateActions();
}

void MainWindow::selectModule(AdapterDocument* document, int module)
{
    const QModelIndex index = m_treeModel->indexOf(document, module);
    if (!index.isValid())
        return;
    m_tree->expand(index.parent());
    m_tree->setCurrentIndex(index);
    m_tree->scrollTo(index);
}

void MainWindow::onTreeSelection()
{
    const QModelIndex index = m_tree->currentIndex();
    AdapterDocument* document = m_treeModel->documentOf(index);
    const int module = m_treeModel->moduleOf(index);
    const bool documentChanged = document != currentDocument();
    const bool layerRow = module < 0 && index.data(AdapterTreeModel::KindRole).toInt() ==
                                            int(AdapterTreeModel::Kind::Layer);
    if (module >= 0)
        m_module = module;
    else if (layerRow) // the views show the layer's first module; Apply changes all of them
        m_module = m_treeModel->moduleOf(m_treeModel->index(0, 0, index.siblingAtColumn(0)));
    else if (documentChanged)
        m_module = firstShownModule(document);
    if (documentChanged)
        m_workspace->setCurrent(document); // updates everything through currentChanged
    else
        updateModuleViews();
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
        return m_spectrumView->plot();
    case View::Error:
        return m_errorView->errorPlot();
    case View::Learn:
        return m_learn;
    }
    return nullptr;
}

void MainWindow::updateModuleViews()
{
    AdapterDocument* document = currentDocument();
    const bool valid = document && m_module >= 0 && m_module < document->moduleCount();
    const int module = valid ? m_module : -1;
    QString selection;
    if (valid)
        selectedModules(&selection);
    m_panel->setSelectedModule(selection);
    m_errorView->setSelectedModule(document, module);
    m_spectrumView->showModule(document, module);
    if (!valid) {
        m_learn->clear();
        m_shownLearn = nullptr;
    } else if (currentView() == View::Learn) {
        updateLearnView();
    }
}

std::vector<int> MainWindow::selectedModules(QString* label) const
{
    AdapterDocument* document = currentDocument();
    if (label)
        label->clear();
    if (!document || m_module < 0 || m_module >= document->moduleCount())
        return {};
    const QModelIndex index = m_tree->currentIndex();
    if (m_treeModel->documentOf(index) == document) {
        const auto kind = AdapterTreeModel::Kind(index.data(AdapterTreeModel::KindRole).toInt());
        if (kind == AdapterTreeModel::Kind::Adapter)
            return {};
        if (kind == AdapterTreeModel::Kind::Layer) {
            const QModelIndex layer = index.siblingAtColumn(0);
            std::vector<int> modules;
            for (int row = 0; row < m_treeModel->rowCount(layer); ++row)
                modules.push_back(m_treeModel->moduleOf(m_treeModel->index(row, 0, layer)));
            if (label)
                *label = tr("%1 (%n module(s))", nullptr, int(modules.size()))
                             .arg(layer.data().toString());
            return modules;
        }
    }
    if (label)
        *label = document->moduleLabel(m_module);
    return {m_module};
}

void MainWindow::updateLearnView()
{
    AdapterDocument* document = currentDocument();
    const int module = m_module;
    if (!document || module < 0) {
        m_learn->clear();
        return;
    }
    if (m_shownLearn == document && m_shownLearnModule == module)
        return;
    try {
        const lq::ModuleFactors factors = document->factors(module);
        const lq::ModuleReparam& reparam = document->reparam(module);
        const ComponentEnergies energies =
            componentEnergies(factors, document->singularValues(module));
        // A packed file's factors are its codes decoded, not what training produced.
        const bool packed = bool(document->packedOrigin());
        m_learn->setFactorsOrigin(packed ? tr("decoded") : QString());
        m_learn->setModule(
            packed ? tr("%1, decoded from the packed file").arg(document->moduleLabel(module))
                   : document->moduleLabel(module),
            factors.B, factors.A, reparam.Bp, reparam.Ap, energies.before, energies.after);
        m_shownLearn = document;
        m_shownLearnModule = module;
    } catch (const std::exception& error) {
        reportError(tr("Cannot show the module"), QString::fromStdString(error.what()));
    }
}

void MainWindow::updateErrorView()
{
    m_errorView->showResult(currentDocument(), m_module);
}

void MainWindow::updateTotals()
{
    AdapterDocument* document = currentDocument();
    m_status->setTotals(document ? adapterTotals(*document) : tr("No adapter open"));
}

void MainWindow::updatePanel()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    const lq::QuantSettings& settings = document->settings();
    lq::QuantSettings shown = settings;
    const bool sameRule = m_panelDocument == document && settings.split == m_panelShown.split &&
                          settings.rho == m_panelShown.rho &&
                          settings.fixedH == m_panelShown.fixedH &&
                          settings.bitsHigh == m_panelShown.bitsHigh;
    if (sameRule) {
        // Only overrides changed (Apply to selected, a drag, a budget): the split and bits the
        // person set stay, ready for the next selection.
        const lq::QuantSettings typed = m_panel->settings();
        shown.split = typed.split;
        shown.rho = typed.rho;
        shown.fixedH = typed.fixedH;
        shown.bitsHigh = typed.bitsHigh;
    }
    m_panel->setSettings(shown);
    m_panelDocument = document;
    m_panelShown = settings;
    m_panel->setBudgetRange(BudgetCurves::kMinimumBits, BudgetCurves::kMaximumBits);
    // The slider shows the budget last applied, or else what the adapter spends now.
    const QUndoStack* stack = document->undoStack();
    const auto* budget =
        stack->index() > 0
            ? dynamic_cast<const ApplyBudgetCommand*>(stack->command(stack->index() - 1))
            : nullptr;
    if (budget)
        m_panel->setBudget(budget->budget());
    else if (document->hasResult())
        m_panel->setBudget(document->result().avgBitsPaper);
}

void MainWindow::updateActions()
{
    const bool open = currentDocument();
    for (QAction* action :
         {m_closeAction, m_exportPackedAction, m_exportPeftAction, m_exportReportAction,
          m_exportPlotAction, m_quantizeAction, m_applyPlanAction})
        action->setEnabled(open);
}

void MainWindow::updateRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = m_settings->recentFiles();
    for (const QString& file : files) {
        QAction* action = m_recentMenu->addAction(file);
        connect(action, &QAction::triggered, this, [this, file] { openPath(file); });
    }
    if (files.isEmpty())
        m_recentMenu->addAction(tr("(none)"))->setEnabled(false);
}

// ---------------------------------------------------------------------------------------------
// Edits

void MainWindow::onSplitDragged(int h)
{
    AdapterDocument* document = currentDocument();
    if (!document || m_module < 0)
        return;
    try {
        const lq::ModuleResult preview = document->preview(m_module, h);
        m_spectrumView->showPreview(moduleSummary(*document, m_module, preview, true));
    } catch (const std::exception& error) {
        reportError(tr("Cannot quantize the module"), QString::fromStdString(error.what()));
    }
}

void MainWindow::onSplitChosen(int h)
{
    AdapterDocument* document = currentDocument();
    if (!document || m_module < 0)
        return;
    if (h == document->effectiveH(m_module)) {
        updateModuleViews(); // back where it started: drop the preview
        return;
    }
    document->undoStack()->push(
        new SetModuleSplitCommand(document, m_module, h, document->bitsHighOverride(m_module)));
}

void MainWindow::applyToSelected()
{
    AdapterDocument* document = currentDocument();
    QString label;
    const std::vector<int> modules = selectedModules(&label);
    if (!document || modules.empty())
        return;
    lq::QuantSettings rule = m_panel->settings(document->settings());
    rule.hOverride.clear();
    rule.bitsHighOverride.clear();
    const auto hOf = [&](int module) {
        return lq::chooseH(toVector(document->singularValues(module)), rule,
                           document->module(module).name);
    };
    if (modules.size() == 1) {
        document->undoStack()->push(new SetModuleSplitCommand(document, modules.front(),
                                                              hOf(modules.front()), rule.bitsHigh));
        return;
    }
    const QString ruleText = rule.split == lq::SplitRule::Fixed ? tr("h = %1").arg(rule.fixedH)
                                                                : tr("ρ = %1").arg(rule.rho);
    auto* command =
        new QUndoCommand(tr("Apply %1, %2 bits to %3").arg(ruleText).arg(rule.bitsHigh).arg(label));
    for (int module : modules)
        new SetModuleSplitCommand(document, module, hOf(module), rule.bitsHigh, command);
    document->undoStack()->push(command);
}

void MainWindow::applyToAll()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    lq::QuantSettings settings = m_panel->settings(document->settings());
    settings.hOverride.clear();
    settings.bitsHighOverride.clear();
    const QString rule = settings.split == lq::SplitRule::Fixed ? tr("h = %1").arg(settings.fixedH)
                                                                : tr("ρ = %1").arg(settings.rho);
    document->undoStack()->push(new ChangeSettingsCommand(
        document, settings,
        tr("Apply %1, %2 bits to all modules").arg(rule).arg(settings.bitsHigh)));
}

void MainWindow::applyAdapterWide()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    lq::QuantSettings settings = document->settings();
    const lq::QuantSettings shown = m_panel->settings(settings);
    QString text;
    if (shown.groupSize != settings.groupSize)
        text = tr("Set group size to %1").arg(shown.groupSize);
    else if (shown.refine != settings.refine)
        text = tr("Set refinement to %1").arg(QString::fromStdString(toString(shown.refine)));
    else
        return;
    settings.groupSize = shown.groupSize;
    settings.refine = shown.refine;
    document->undoStack()->push(new ChangeSettingsCommand(document, settings, text));
}

void MainWindow::previewBudget(double bits)
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    const lq::ErrorCurves* curves = document->budgetCurves()->curves();
    if (!curves) {
        m_panel->setBudgetPrediction(tr("Let go to apply; the first budget measures each "
                                        "module's error curves in the background."));
        return;
    }
    // About a millisecond for 224 modules (bench_budget): cheap enough for every slider step.
    try {
        const lq::BudgetAllocation allocation = lq::allocateBudget(
            *curves, std::clamp(bits, BudgetCurves::kMinimumBits, BudgetCurves::kMaximumBits),
            lq::BitCount::Paper);
        m_panel->setBudgetPrediction(
            tr("Buys %1 bits paper, %2 true; error %3 (without refinement)")
                .arg(allocation.avgBitsPaper, 0, 'f', 3)
                .arg(allocation.avgBitsTrue, 0, 'f', 3)
                .arg(allocation.relErrTotal, 0, 'f', 4));
    } catch (const std::exception& error) {
        m_panel->setBudgetPrediction(QString::fromStdString(error.what()));
    }
}

void MainWindow::applyBudget(double bits)
{
    m_panel->setBudgetPrediction(QString());
    if (AdapterDocument* document = currentDocument()) {
        BudgetCurves* curves = document->budgetCurves();
        curves->apply(bits);
        // The first budget waits for the error curves: show that work with its Cancel button.
        if (Job* job = curves->job())
            m_status->track(job);
    }
}

// ---------------------------------------------------------------------------------------------
// Files

void MainWindow::openPath(const QString& path)
{
    if (path.isEmpty())
        return;
    m_settings->setLastFolder(QFileInfo(path).absolutePath());
    m_workspace->open(path, m_settings->lastParameters());
}

void MainWindow::openAdapter()
{
    openPath(m_chooser->adapterToOpen(this, m_settings->lastFolder()));
}

void MainWindow::openAdapterFolder()
{
    openPath(m_chooser->adapterFolderToOpen(this, m_settings->lastFolder()));
}

void MainWindow::closeAdapter()
{
    if (AdapterDocument* document = currentDocument())
        m_workspace->close(document);
}

void MainWindow::exportPacked()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    const QString suggested = suggestedExportPath(*document, QStringLiteral(".lqa.h5"));
    QString path = m_chooser->fileToSave(this, tr("Export Quantized Adapter"), suggested,
                                         tr("Packed LoRAQuant adapter (*.lqa.h5)"));
    if (path.isEmpty())
        return;
    if (!path.endsWith(QLatin1String(".lqa.h5")))
        path += QStringLiteral(".lqa.h5");
    startExport(int(ExportJob::Kind::Packed), path);
}

void MainWindow::exportPeft()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    const QString suggested = suggestedExportPath(*document, QStringLiteral("-loraquant"));
    const QString folder =
        m_chooser->folderToSave(this, tr("Export Dequantized PEFT Adapter"), suggested);
    if (!folder.isEmpty())
        startExport(int(ExportJob::Kind::PeftAdapter), folder);
}

void MainWindow::exportReport()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    const QString suggested = suggestedExportPath(*document, QStringLiteral("-report.json"));
    QString path = m_chooser->fileToSave(this, tr("Export Report"), suggested,
                                         tr("JSON report (*.json);;CSV table (*.csv)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".json");
    startExport(int(ExportJob::Kind::Report), path);
}

QString MainWindow::suggestedExportPath(const AdapterDocument& document, const QString& tail) const
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

void MainWindow::startExport(int kind, const QString& path)
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    if (m_export) {
        reportError(tr("Export"), tr("Another export is still running; wait for it or cancel "
                                     "it first."));
        return;
    }
    ExportJob::Input input;
    input.kind = ExportJob::Kind(kind);
    input.path = path;
    input.adapter = document->sharedAdapter();
    input.settings = document->settings();
    if (document->resultState() == AdapterDocument::ResultState::Current)
        input.result = document->sharedResult();
    auto* job = new ExportJob(std::move(input), this);
    m_export = job;
    m_settings->setLastFolder(QFileInfo(path).absolutePath());
    m_settings->setLastExportFolder(QFileInfo(path).absolutePath());
    connect(job, &Job::finished, this, [this, job](Job::Outcome outcome) {
        m_export = nullptr;
        job->deleteLater();
        switch (outcome) {
        case Job::Outcome::Succeeded:
            statusBar()->showMessage(
                tr("Exported %1 to %2").arg(ExportJob::kindName(job->kind()), job->path()), 8000);
            break;
        case Job::Outcome::Cancelled:
            statusBar()->showMessage(tr("Export cancelled; nothing was written"), 8000);
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

void MainWindow::exportPlot()
{
    AdapterDocument* document = currentDocument();
    widgets::PlotWidget* plot = plotOf(currentView());
    if (!document || !plot)
        return;
    const QString suggested = suggestedExportPath(*document, QLatin1Char('-') + plot->exportName() +
                                                                 QStringLiteral(".png"));
    QString path =
        m_chooser->fileToSave(this, tr("Export Plot"), suggested,
                              tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"));
    if (path.isEmpty())
        return;
    auto format = widgets::PlotWidget::formatForPath(path);
    if (!format) {
        path += QStringLiteral(".png");
        format = widgets::PlotFormat::Png;
    }
    m_settings->setLastFolder(QFileInfo(path).absolutePath());
    m_settings->setLastExportFolder(QFileInfo(path).absolutePath());
    const QString error = plot->exportTo(path, *format);
    if (!error.isEmpty()) {
        reportError(tr("Export failed"), error);
        emit exportFinished(false, error);
        return;
    }
    statusBar()->showMessage(tr("Exported the plot to %1").arg(path), 8000);
    emit exportFinished(true, QString());
}

void MainWindow::quantize()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    document->quantize(true);
    statusBar()->showMessage(tr("Quantizing and validating the CPU kernels in the background"),
                             8000);
}

void MainWindow::applyPlan()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    const QString path = m_chooser->planToOpen(this, m_settings->lastFolder());
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
                statusBar()->showMessage(tr("Applied the plan %1 to %2 modules")
                                             .arg(QFileInfo(job->path()).fileName())
                                             .arg(job->settings().hOverride.size()),
                                         8000);
            });
    job->start();
    m_status->track(job);
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
    m_settings->setWindowLayout(saveGeometry(), saveState());
    // Running jobs are cancelled and joined when the documents go; nothing is half-written.
    m_workspace->cancelLoading();
    for (AdapterDocument* document : m_workspace->documents())
        document->cancelJob();
    if (m_export)
        m_export->cancel();
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
        const int controls = m_panel->sizeHint().height() + 30; // + the dock's title bar
        const int column = tree->height() + panel->height();    // what the two docks share
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
