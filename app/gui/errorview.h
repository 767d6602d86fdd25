#pragma once

#include <QPointer>
#include <QSplitter>

class QPushButton;

namespace lq::widgets {
class ErrorBarPlot;
class ParetoPlot;
} // namespace lq::widgets

namespace lq::gui {

class AdapterDocument;

// The window's Error tab: above, the current result's error per module beside the whole-adapter
// baselines measured for the same groups; below, the adapter's total error against bits for
// every method, filled in by the trade-off sweep the button starts. It shows what a document
// holds and starts nothing itself: the window decides which document is current.
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

    widgets::ErrorBarPlot* errorPlot() const { return m_errors; }
    widgets::ParetoPlot* paretoPlot() const { return m_pareto; }
    QPushButton* sweepButton() const { return m_sweepButton; }

signals:
    // A bar was clicked: the module at that position of the document's display order.
    void moduleClicked(int module);
    void sweepRequested();

private:
    widgets::ErrorBarPlot* m_errors = nullptr;
    widgets::ParetoPlot* m_pareto = nullptr;
    QPushButton* m_sweepButton = nullptr;
    QPointer<AdapterDocument> m_document; // the one whose bars are shown, for clicks
};

} // namespace lq::gui
