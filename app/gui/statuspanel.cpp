#include "statuspanel.h"

#include "job.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>

namespace lq::gui {

StatusPanel::StatusPanel(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 0, 4, 0);
    m_totals = new QLabel(this);
    m_totals->setObjectName(QStringLiteral("totals"));
    m_totals->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_jobLabel = new QLabel(this);
    m_jobLabel->setObjectName(QStringLiteral("jobLabel"));
    layout->addWidget(m_jobLabel);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("jobProgress"));
    m_progress->setMaximumWidth(220);
    m_progress->setTextVisible(true);
    layout->addWidget(m_progress);
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("cancelJob"));
    m_cancel->setToolTip(tr("Stop the background job at the next module; nothing is written "
                            "and the previous result stays"));
    layout->addWidget(m_cancel);
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (Job* job = shownJob())
            job->cancel();
        refresh();
    });
    refresh();
}

void StatusPanel::install(QStatusBar* bar)
{
    bar->addWidget(m_totals, 1);
    bar->addPermanentWidget(this);
    // QStatusBar hides its normal widgets for a message, but only implicitly: the next layout of
    // the bar (a job's progress bar appearing or going) shows them again, over the message.
    // Hidden explicitly they stay hidden until the message has gone.
    connect(bar, &QStatusBar::messageChanged, m_totals,
            [this](const QString& message) { m_totals->setVisible(message.isEmpty()); });
}

void StatusPanel::setTotals(const QString& text)
{
    m_totals->setText(text);
}

void StatusPanel::track(Job* job)
{
    if (m_jobs.contains(job))
        return; // a job asked for again while it runs (a second budget) is shown once
    m_jobs.append(job);
    connect(job, &Job::progressed, this, [this] { refresh(); });
    connect(job, &Job::finished, this, [this] { refresh(); });
    connect(job, &QObject::destroyed, this, [this] { refresh(); });
    refresh();
}

Job* StatusPanel::shownJob() const
{
    for (auto it = m_jobs.crbegin(); it != m_jobs.crend(); ++it)
        if (*it && (*it)->isRunning())
            return *it;
    return nullptr;
}

void StatusPanel::refresh()
{
    m_jobs.removeIf([](const QPointer<Job>& job) { return !job || !job->isRunning(); });
    Job* job = shownJob();
    m_jobLabel->setVisible(job);
    m_progress->setVisible(job);
    m_cancel->setVisible(job);
    if (!job)
        return;
    m_jobLabel->setText(job->isCancelRequested() ? tr("%1: cancelling…").arg(job->title())
                                                 : job->title());
    // QProgressBar::setValue repaints at once, and a synchronous repaint paints everything
    // pending in the window (tree, plots): 8-15 ms on each progress step and each job start
    // with the 7B adapter. With updates off it only queues one update for the next paint.
    m_progress->setUpdatesEnabled(false);
    m_progress->setMaximum(std::max(job->total(), 1));
    m_progress->setValue(job->done());
    m_progress->setFormat(job->total() > 0 ? tr("%v / %m modules") : tr("starting…"));
    m_progress->setUpdatesEnabled(true);
    m_cancel->setEnabled(!job->isCancelRequested());
}

} // namespace lq::gui
