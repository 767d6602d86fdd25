#include "screenshotter.h"

#include "adapterdocument.h"
#include "adaptertree.h"
#include "adaptertreemodel.h"
#include "documentpresenter.h"
#include "errorview.h"
#include "fleetdocument.h"
#include "fleetexample.h"
#include "fleetpresenter.h"
#include "fleettablemodel.h"
#include "fleetview.h"
#include "mainwindow.h"
#include "paretosweep.h"
#include "spectrumview.h"
#include "tradeoffcontroller.h"
#include "widgets/fleetscatterplot.h"
#include "widgets/plotwidget.h"
#include "widgets/tradeoffplot.h"
#include "workspace.h"

#include <QDir>
#include <QHeaderView>
#include <QPixmap>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTimer>
#include <QTreeView>
#include <algorithm>
#include <cstdio>

namespace lq::gui {

namespace {

// Time for layouts and the plots' batched replots to settle after a view is shown.
constexpr int kSettleMs = 150;
// The trade-off plot's points are measured in the background: look this often, this many times.
constexpr int kTradeOffPollMs = 100;
constexpr int kTradeOffPolls = 600;

const char* const kViewNames[] = {"spectrum", "error", "learn"};
// Adapters in the Fleet view's picture: enough for a cloud of points, few enough that the
// failed ones show in the table's first screen.
constexpr int kFleetAdapters = 200;
constexpr std::uint64_t kFleetSeed = 7;

} // namespace

Screenshotter::Screenshotter(MainWindow* window, QString folder, QObject* parent)
    : QObject(parent), m_window(window), m_folder(std::move(folder))
{
    Workspace* workspace = window->workspace();
    connect(workspace, &Workspace::documentOpened, this, &Screenshotter::onDocument);
    connect(workspace, &Workspace::openFailed, this, [this](const QString&, const QString& why) {
        std::fprintf(stderr, "loraquant-workbench: %s\n", qPrintable(why));
        emit done(1);
    });
}

void Screenshotter::onDocument(AdapterDocument* document)
{
    const auto startWhenCurrent = [this, document] {
        // The error view draws the baselines, measured after the result.
        if (m_started || document->resultState() != AdapterDocument::ResultState::Current ||
            !document->rtn2Baseline())
            return;
        m_started = true;
        // The error view's trade-off plot is part of the picture: sweep first.
        ParetoSweep* sweep = document->paretoSweep();
        // Without it the plot says why; the pictures are still taken.
        connect(sweep, &ParetoSweep::finished, this, [this](bool succeeded, const QString& why) {
            if (!succeeded)
                std::fprintf(stderr, "loraquant-workbench: the trade-off sweep failed: %s\n",
                             qPrintable(why));
            QTimer::singleShot(kSettleMs, this, &Screenshotter::takeNext);
        });
        m_window->showView(MainWindow::View::Error);
        m_window->presenter()->errorView()->sweepButton()->click();
    };
    connect(document, &AdapterDocument::resultChanged, this, startWhenCurrent);
    connect(document, &AdapterDocument::baselinesChanged, this, startWhenCurrent);
    connect(document, &AdapterDocument::baselinesFailed, this, [this](const QString& message) {
        std::fprintf(stderr, "loraquant-workbench: %s\n", qPrintable(message));
        emit done(1);
    });
    connect(document, &AdapterDocument::jobFinished, this,
            [this](Job::Outcome outcome, const QString& message) {
                if (outcome == Job::Outcome::Failed) {
                    std::fprintf(stderr, "loraquant-workbench: %s\n", qPrintable(message));
                    emit done(1);
                }
            });
    startWhenCurrent();
}

bool Screenshotter::save(const QString& name)
{
    const QString file = QDir(m_folder).filePath(QStringLiteral("workbench-%1.png").arg(name));
    if (!m_window->grab().save(file)) {
        std::fprintf(stderr, "loraquant-workbench: cannot write %s\n", qPrintable(file));
        emit done(1);
        return false;
    }
    std::printf("%s\n", qPrintable(file));
    return true;
}

void Screenshotter::arrangeTree()
{
    AdapterTree* tree = m_window->presenter()->adapterTree();
    QTreeView* view = tree->view();
    view->sortByColumn(AdapterTreeModel::ErrorColumn, Qt::DescendingOrder);
    // The worst layer first; its three worst modules selected, as for "Apply to selected".
    const QModelIndex adapter = view->model()->index(0, 0);
    const QModelIndex layer = view->model()->index(0, 0, adapter);
    view->collapseAll();
    view->expand(adapter);
    view->expand(layer);
    view->setCurrentIndex(view->model()->index(0, 0, layer));
    for (int row = 1; row < std::min(3, view->model()->rowCount(layer)); ++row)
        view->selectionModel()->select(view->model()->index(row, 0, layer),
                                       QItemSelectionModel::Select | QItemSelectionModel::Rows);
    view->scrollToTop();
    m_window->presenter()->errorView()->setGrouping(ErrorGrouping::Layers);
    m_window->showView(MainWindow::View::Error);
}

void Screenshotter::takeNext()
{
    if (m_next == 1) {
        // The Spectrum view holds the trade-off plot: its unrefined points come with the
        // document's error curves, the refined ones from a job of their own.
        const DocumentPresenter* presenter = m_window->presenter();
        const bool settled = !presenter->spectrumView()->tradeOffPlot()->unrefined().empty() &&
                             presenter->tradeOff()->refinedComplete();
        if (!settled && ++m_waits < kTradeOffPolls) {
            QTimer::singleShot(kTradeOffPollMs, this, &Screenshotter::takeNext);
            return;
        }
        QTimer::singleShot(kSettleMs, this, [this] {
            widgets::PlotWidget* plot = m_window->presenter()->spectrumView()->tradeOffPlot();
            plot->replotNow();
            const QString file = QDir(m_folder).filePath(QStringLiteral("workbench-tradeoff.png"));
            if (!plot->grab().save(file)) {
                std::fprintf(stderr, "loraquant-workbench: cannot write %s\n", qPrintable(file));
                emit done(1);
                return;
            }
            std::printf("%s\n", qPrintable(file));
            grabShown();
        });
        return;
    }
    grabShown();
}

void Screenshotter::grabShown()
{
    if (m_next > 0) {
        // The view shown kSettleMs ago: grab it now.
        const int view = m_next - 1;
        m_window->plotOf(MainWindow::View(view))->replotNow();
        if (!save(QLatin1String(kViewNames[view])))
            return;
    }
    if (m_next == 3) {
        arrangeTree();
        QTimer::singleShot(kSettleMs, this, [this] {
            m_window->plotOf(MainWindow::View::Error)->replotNow();
            if (save(QStringLiteral("tree")))
                takeFleet();
        });
        return;
    }
    m_window->showView(MainWindow::View(m_next));
    ++m_next;
    QTimer::singleShot(kSettleMs, this, &Screenshotter::takeNext);
}

} // namespace lq::gui

namespace lq::gui {

QString Screenshotter::fleetFolder() const
{
    return m_fleetFolder.filePath(QStringLiteral("batch-output"));
}

void Screenshotter::takeFleet()
{
    try {
        // The tab is named after the folder.
        QDir().mkpath(fleetFolder());
        writeBatchSummary(fleetFolder().toStdString(),
                          exampleBatchRecords(kFleetAdapters, kFleetSeed));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "loraquant-workbench: %s\n", error.what());
        emit done(1);
        return;
    }
    FleetPresenter* fleets = m_window->fleets();
    fleets->openBatchResults(fleetFolder());
    FleetView* view = fleets->currentView();
    if (!view) {
        std::fprintf(stderr, "loraquant-workbench: the Fleet view did not open\n");
        emit done(1);
        return;
    }
    connect(view->document(), &FleetDocument::loadFinished, this,
            [this, view](Job::Outcome outcome, const QString& message) {
                if (outcome != Job::Outcome::Succeeded) {
                    std::fprintf(stderr, "loraquant-workbench: %s\n", qPrintable(message));
                    emit done(1);
                    return;
                }
                // Worst first: the failed adapters (no error) on top, then the largest errors;
                // the worst quantized one selected shows how a row and its point go together.
                view->table()->horizontalHeader()->setSortIndicator(FleetTableModel::ErrorColumn,
                                                                    Qt::DescendingOrder);
                const int failed = view->document()->totals().failed;
                view->selectRow(view->proxy()->mapToSource(view->proxy()->index(failed, 0)).row());
                QTimer::singleShot(kSettleMs, this, [this, view] {
                    view->scatter()->replotNow();
                    if (save(QStringLiteral("fleet"))) {
                        std::fflush(stdout);
                        emit done(0);
                    }
                });
            });
}

} // namespace lq::gui
