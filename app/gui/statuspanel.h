#pragma once

#include <QList>
#include <QPointer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;
class QStatusBar;

namespace lq::gui {

class Job;

// The status bar's right-hand side: the running background job (its title, a progress bar with
// module counts, a Cancel button), and on the left the current adapter's totals. With several
// jobs at once it shows the most recent one still running.
//
// The totals are a normal status bar widget, hidden while a temporary message ("Exported ...",
// "CPU kernels validated ...") shows and back after it; the job's part is permanent. One
// stretching permanent widget would leave the messages no room at all.
class StatusPanel : public QWidget
{
    Q_OBJECT

public:
    explicit StatusPanel(QWidget* parent = nullptr);

    // Puts the totals and the job's part into `bar`.
    void install(QStatusBar* bar);

    void setTotals(const QString& text);
    void track(Job* job);
    Job* shownJob() const;

    QLabel* totalsLabel() const { return m_totals; }
    QProgressBar* progressBar() const { return m_progress; }
    QPushButton* cancelButton() const { return m_cancel; }

private:
    void refresh();

    QLabel* m_totals = nullptr;
    QLabel* m_jobLabel = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_cancel = nullptr;
    QList<QPointer<Job>> m_jobs;
};

} // namespace lq::gui
