#pragma once

#include "plotwidget.h"

#include <QColor>
#include <QStringList>
#include <utility>
#include <vector>

namespace lq::widgets {

// Per-module relative error ||dW - dW_hat||_F / ||dW||_F as bars across an adapter, modules in
// the order given, the selected one highlighted, and reference curves (for example whole-adapter
// RTN 2-bit and binary, per module) drawn as step lines over the bars. A click on a bar reports
// its position in that order.
class ErrorBarPlot : public PlotWidget
{
    Q_OBJECT

public:
    explicit ErrorBarPlot(QWidget* parent = nullptr);
    ~ErrorBarPlot() override;

    // `names` label the bars (tool tips), `errors` are their heights; `groups` are the x-axis
    // ticks: (first module index, label), e.g. one per layer. Keeps references whose length
    // still matches.
    void setModules(const QString& title, const QStringList& names,
                    const std::vector<double>& errors,
                    const std::vector<std::pair<int, QString>>& groups = {});
    // Short texts written above the bars, one per bar (a projection kind, a layer), each shown
    // with the bar's value where it fits the bar's width, else the value alone where that fits,
    // else nothing. Empty: the values alone. Set after setModules.
    void setBarLabels(const QStringList& labels);
    // The x axis's title ("module (ticks mark layers)").
    void setAxisLabel(const QString& label);
    // -1 for none. The line under the title reads out the selected bar's name, value and the
    // references' values there, so that it is identified without hovering.
    void setSelected(int index);
    // A reference curve, one value per module; replaces one of the same name. An empty vector
    // removes it.
    void setReference(const QString& name, const std::vector<double>& perModule, QColor color);
    void clearReferences();

    int selected() const { return m_selected; }
    int moduleCount() const { return int(m_errors.size()); }
    // The bars' heights and the plot's title, as last set (for tests).
    const std::vector<double>& errors() const { return m_errors; }
    QString title() const { return m_title; }
    int referenceCount() const;
    // The selected bar's read-out line, as shown.
    QString readout() const;
    // How many bars carry a label at the current size (for tests).
    int visibleLabelCount() const;
    // Canvas position of the top centre of bar `index` (for tests).
    QPoint barPosition(int index) const;

    QString exportName() const override { return QStringLiteral("errors"); }

signals:
    void moduleClicked(int index);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void updateRange();
    void updateSelection();
    // Shows each bar's label as far as it fits; before every replot (the width changes them).
    void updateLabelVisibility();

    struct Items;
    std::unique_ptr<Items> m_items;
    QString m_title;
    QStringList m_names;
    QStringList m_barLabels;
    std::vector<double> m_errors;
    int m_selected = -1;
};

} // namespace lq::widgets
