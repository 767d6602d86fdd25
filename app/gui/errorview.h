#pragma once

#include "errorgroups.h"

#include <QPointer>
#include <QSplitter>

class QButtonGroup;
class QPushButton;

namespace lq::widgets {
class ErrorBarPlot;
class ParetoPlot;
} // namespace lq::widgets

namespace lq::gui {

class AdapterDocument;
class Snapshots;

// The window's Error tab: above, the current result's error per module (or per layer, or per
// projection kind: energy-weighted as the adapter's total, errorgroups.h) beside the
// whole-adapter baselines measured for the same groups; below, the adapter's total error against
// bits for every method, filled in by the trade-off sweep the button starts. It shows what a
// document holds and starts nothing itself: the window decides which document is current.
class ErrorView : public QSplitter
{
    Q_OBJECT

public:
    explicit ErrorView(QWidget* parent = nullptr);

    // Shows the document's result and baselines (none when `document` is null or has no result
    // yet) with `module` highlighted, and its trade-off.
    void showResult(AdapterDocument* document, int module);
    // Only the trade-off: the sweep started, finished or failed.
    void showTradeOff(AdapterDocument* document);
    // Highlights the document's `module` (-1: none) without redrawing the rest.
    void setSelectedModule(const AdapterDocument* document, int module);

    // Draws the current document's pinned snapshot (if any) over the bars.
    void setSnapshots(Snapshots* snapshots) { m_snapshots = snapshots; }

    // One bar per module, layer or kind; the view keeps the document and module it shows.
    void setGrouping(ErrorGrouping grouping);
    ErrorGrouping grouping() const { return m_grouping; }
    // The groups the bars stand for, in bar order (one module each for ErrorGrouping::Modules).
    const std::vector<ErrorGroup>& groups() const { return m_groups; }

    widgets::ErrorBarPlot* errorPlot() const { return m_errors; }
    widgets::ParetoPlot* paretoPlot() const { return m_pareto; }
    QPushButton* sweepButton() const { return m_sweepButton; }

signals:
    // A bar was clicked: the module at that position of the document's display order.
    void moduleClicked(int module);
    void sweepRequested();

private:
    int barOf(int module) const;

    widgets::ErrorBarPlot* m_errors = nullptr;
    QButtonGroup* m_groupButtons = nullptr;
    ErrorGrouping m_grouping = ErrorGrouping::Modules;
    std::vector<ErrorGroup> m_groups;
    int m_module = -1;
    Snapshots* m_snapshots = nullptr;
    widgets::ParetoPlot* m_pareto = nullptr;
    QPushButton* m_sweepButton = nullptr;
    QPointer<AdapterDocument> m_document; // the one whose bars are shown, for clicks
};

} // namespace lq::gui
