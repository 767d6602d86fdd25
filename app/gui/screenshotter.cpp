#include "screenshotter.h"

#include "adapterdocument.h"
#include "documentpresenter.h"
#include "errorview.h"
#include "mainwindow.h"
#include "paretosweep.h"
#include "spectrumview.h"
#include "tradeoffcontroller.h"
#include "widgets/plotwidget.h"
#include "widgets/tradeoffplot.h"
#include "workspace.h"

#include <QDir>
#include <QPixmap>
#include <QPushButton>
#include <QTimer>
#include <cstdio>

namespace lq::gui {

namespace {

// Time for layouts and the plots' batched replots to settle after a view is shown.
constexpr int kSettleMs = 150;
// The trade-off plot's points are measured in the background: look this often, this many times.
constexpr int kTradeOffPollMs = 100;
constexpr int kTradeOffPolls = 600;

const char* const kViewNames[] = {"spectrum", "error", "learn"};

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
        const QString file =
            QDir(m_folder).filePath(QStringLiteral("workbench-%1.png").arg(kViewNames[view]));
        if (!m_window->grab().save(file)) {
            std::fprintf(stderr, "loraquant-workbench: cannot write %s\n", qPrintable(file));
            emit done(1);
            return;
        }
        std::printf("%s\n", qPrintable(file));
    }
    if (m_next == 3) {
        std::fflush(stdout);
        emit done(0);
        return;
    }
    m_window->showView(MainWindow::View(m_next));
    ++m_next;
    QTimer::singleShot(kSettleMs, this, &Screenshotter::takeNext);
}

} // namespace lq::gui
