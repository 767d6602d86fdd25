#pragma once

#include <QPointer>
#include <QWidget>

class QComboBox;
class QLabel;
class QSpinBox;
class QSplitter;

namespace lq::widgets {
class SpectrumPlot;
class TradeOffPlot;
} // namespace lq::widgets

namespace lq::gui {

class AdapterDocument;

// The window's Spectrum tab: one module's summary line (shape, split, bits, error), a row of
// controls (the high part's bit width, the bit count the trade-off plot uses) with a note on what
// the plot shows, and a splitter holding the module's singular spectrum with the draggable split
// and its trade-off plot (every choice of h and width as error against bits; filled by
// TradeOffController). The splitter lays the two side by side when the view is wide and one above
// the other when it is not. It shows what a document holds; what the person does in it reaches
// the document through undo commands made by the presenter and the trade-off controller.
class SpectrumView : public QWidget
{
    Q_OBJECT

public:
    explicit SpectrumView(QWidget* parent = nullptr);

    // Module `module` of `document` with the split and bits it has now; without a document or
    // a module (-1), a line saying what to do instead. While the split is being dragged the plot
    // is left alone: the marker is the user's until they let go. Emits moduleShown.
    void showModule(const AdapterDocument* document, int module);
    // While the split is dragged: the summary of where it is, not applied yet.
    void showPreview(const QString& summary);
    // The note beside the controls (rich text): which figures the trade-off plot shows, and
    // whether the result loses to a baseline.
    void setNote(const QString& text);

    widgets::SpectrumPlot* plot() const { return m_plot; }
    widgets::TradeOffPlot* tradeOffPlot() const { return m_tradeOff; }
    QLabel* summaryLabel() const { return m_summary; }
    QSpinBox* bitsHighControl() const { return m_bitsHigh; }
    QComboBox* bitCountControl() const { return m_count; }
    QLabel* noteLabel() const { return m_note; }
    QSplitter* splitter() const { return m_splitter; }
    // Whether the trade-off plot's x-axis is the true bit count (else the paper count).
    bool trueBits() const;

signals:
    void moduleShown(const lq::gui::AdapterDocument* document, int module);
    // The person set the width control (not setSettings-like updates from showModule).
    void bitsHighRequested(int bits);
    void bitCountChanged();

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    QLabel* m_summary = nullptr;
    QSpinBox* m_bitsHigh = nullptr;
    QComboBox* m_count = nullptr;
    QLabel* m_note = nullptr;
    QSplitter* m_splitter = nullptr;
    widgets::SpectrumPlot* m_plot = nullptr;
    widgets::TradeOffPlot* m_tradeOff = nullptr;
    // Whose spectrum the plot holds, so that a new split does not rebuild its bars. A guarded
    // pointer: the next document opened may get a closed one's address.
    QPointer<const AdapterDocument> m_shown;
    int m_shownModule = -1;
};

} // namespace lq::gui
