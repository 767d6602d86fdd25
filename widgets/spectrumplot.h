#pragma once

#include "plotwidget.h"

#include <QPoint>
#include <vector>

namespace lq::widgets {

// The singular spectrum of one module: s_i as bars on a log scale (component i = 1..r), the
// cumulative energy share (s_1^2 + ... + s_k^2) / sum s_j^2 on a second axis with the rho line,
// and a vertical split marker between bar h and bar h + 1. Bars left of the marker are drawn as
// high precision.
//
// The person drags the marker with the mouse (a press anywhere in the plot area grabs it) or
// moves it with the Left/Right keys; it snaps to whole components, h in [0, r].
// splitDragged(h) is emitted whenever h changes during a drag; splitChosen(h) once on release
// (and for each key press), also when h ends where it started, so the receiver can drop its
// preview. setSplit() never emits.
//
// The high part's bit width is set here too: the Up/Down keys, or the mouse wheel over the high
// (orange) bars, report bitsHighStepped(+1 / -1); the receiver decides the new width and shows it
// with setBitsHigh().
class SpectrumPlot : public PlotWidget
{
    Q_OBJECT

public:
    explicit SpectrumPlot(QWidget* parent = nullptr);
    ~SpectrumPlot() override;

    // `title` names the module; `singularValues` descending, >= 0. Clears a drag in progress.
    void setSpectrum(const QString& title, const std::vector<double>& singularValues);
    void clear();
    // Energy threshold of the split rule, in (0, 1]; a negative value hides the line.
    void setRho(double rho);
    void setSplit(int h);
    // Bits of the high part, for the legend.
    void setBitsHigh(int bits);
    // How the split rule relates h to the rho line, in plain words: a short note beside the rho
    // label and a sentence for the tool tip (the reference's rule keeps one component fewer
    // than reach rho). Empty texts show none.
    void setRuleNote(const QString& note, const QString& explanation);

    int split() const { return m_h; }
    int rank() const { return int(m_values.size()); }
    bool isDragging() const { return m_dragging; }

    // Canvas position (see canvas()) of the marker for split h, at mid height of the plot area.
    QPoint positionForSplit(int h) const;

    QString exportName() const override { return QStringLiteral("spectrum"); }

signals:
    void splitDragged(int h);
    void splitChosen(int h);
    void bitsHighStepped(int step);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void rebuild();
    void updateSplitItems();
    int splitAtPixel(double x) const;
    bool insidePlotArea(const QPointF& position) const;
    // Whether `position` (canvas pixels) lies over one of the high bars' columns.
    bool overHighBars(const QPointF& position) const;
    void updateToolTip();

    struct Items;
    std::unique_ptr<Items> m_items;
    std::vector<double> m_values;
    QString m_title;
    double m_rho = -1;
    int m_h = 0;
    int m_bitsHigh = 2;
    QString m_ruleNote;
    QString m_ruleExplanation;
    bool m_dragging = false;
};

} // namespace lq::widgets
