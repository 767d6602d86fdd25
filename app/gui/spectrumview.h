#pragma once

#include <QPointer>
#include <QWidget>

class QLabel;

namespace lq::widgets {
class SpectrumPlot;
} // namespace lq::widgets

namespace lq::gui {

class AdapterDocument;

// The window's Spectrum tab: one module's summary line (shape, split, bits, error) above its
// singular spectrum with the draggable split. It shows what a document holds; the split dragged
// on plot() reaches the document through the window's undo commands.
class SpectrumView : public QWidget
{
    Q_OBJECT

public:
    explicit SpectrumView(QWidget* parent = nullptr);

    // Module `module` of `document` with the split and bits it has now; without a document or
    // a module (-1), a line saying what to do instead. While the split is being dragged the plot
    // is left alone: the marker is the user's until they let go.
    void showModule(const AdapterDocument* document, int module);
    // While the split is dragged: the summary of where it is, not applied yet.
    void showPreview(const QString& summary);

    widgets::SpectrumPlot* plot() const { return m_plot; }
    QLabel* summaryLabel() const { return m_summary; }

private:
    QLabel* m_summary = nullptr;
    widgets::SpectrumPlot* m_plot = nullptr;
    // Whose spectrum the plot holds, so that a new split does not rebuild its bars. A guarded
    // pointer: the next document opened may get a closed one's address.
    QPointer<const AdapterDocument> m_shown;
    int m_shownModule = -1;
};

} // namespace lq::gui
