#pragma once

#include "plotwidget.h"

#include <QPoint>
#include <QString>
#include <memory>
#include <vector>

namespace lq::widgets {

// One point per adapter of a fleet: average bits per weight on x, the adapter's total
// (energy-weighted) relative error on y. Display only: a click near a point reports its row,
// hovering names it, and the row chosen elsewhere is drawn highlighted. Adapters without
// figures (failed ones) are not drawn; the title counts them.
//
// Scales to tens of thousands of points: one scatter graph with no line, and a click or a hover
// looks through the points once.
class FleetScatterPlot : public PlotWidget
{
    Q_OBJECT

public:
    struct Point
    {
        double bits = 0;
        double error = 0;
        int row = -1; // what pointClicked() reports
        QString label;
    };

    explicit FleetScatterPlot(QWidget* parent = nullptr);
    ~FleetScatterPlot() override;

    // Replaces every point. `notShown` adapters have no point (failed); `xLabel` names the bit
    // count used.
    void setPoints(std::vector<Point> points, int notShown, const QString& xLabel);
    // The row drawn highlighted; -1 for none.
    void setHighlighted(int row);
    int highlighted() const { return m_highlighted; }

    int pointCount() const { return int(m_points.size()); }
    int notShown() const { return m_notShown; }
    QString title() const;
    // Canvas position of the point of `row` as drawn, or (-1, -1) when it has none (tests).
    QPoint positionOf(int row) const;
    // The label of the point nearest `position` within a few pixels, else empty (tests).
    QString labelAt(const QPoint& position) const;

    QString exportName() const override { return QStringLiteral("fleet"); }

signals:
    void pointClicked(int row);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    // The index into m_points nearest `position` within the hover distance, or -1.
    int nearest(const QPoint& position) const;
    void updateRange();

    struct Items;
    std::unique_ptr<Items> m_items;
    std::vector<Point> m_points;
    int m_notShown = 0;
    int m_highlighted = -1;
};

} // namespace lq::widgets
