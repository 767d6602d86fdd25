#pragma once

#include "plotwidget.h"

#include <QColor>
#include <QPointF>
#include <QString>
#include <QStringList>
#include <vector>

namespace lq::widgets {

// The trade-off between size and error: one curve per method, average bits per weight on x and
// the adapter's total (energy-weighted) relative error on y (log scale), points joined in
// order of bits, and the document's current setting as a highlighted marker.
class ParetoPlot : public PlotWidget
{
    Q_OBJECT

public:
    struct Series
    {
        QString name;
        std::vector<double> bits;   // x, one per point
        std::vector<double> errors; // y, > 0 to show on the log axis
        QStringList labels;         // per point, for tool tips (may be empty)
    };

    explicit ParetoPlot(QWidget* parent = nullptr);
    ~ParetoPlot() override;

    // `xLabel` names the bit count used (paper or true). Replaces every curve.
    void setSeries(const QString& title, const QString& xLabel, const std::vector<Series>& series);
    // The highlighted point; hidden when `label` is empty.
    void setCurrent(double bits, double error, const QString& label);
    void clear();

    int seriesCount() const { return int(m_series.size()); }
    const std::vector<Series>& series() const { return m_series; }
    bool hasCurrent() const { return !m_currentLabel.isEmpty(); }
    QPointF current() const { return m_current; }
    // Canvas position of a point (bits, error) as drawn (for tests).
    QPoint positionOf(double bits, double error) const;

    QString exportName() const override { return QStringLiteral("pareto"); }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void updateRange();

    struct Items;
    std::unique_ptr<Items> m_items;
    std::vector<Series> m_series;
    QPointF m_current;
    QString m_currentLabel;
};

} // namespace lq::widgets
