#include "fleetscatterplot.h"

#include "plotstyle.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPixmap>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <limits>
#include <qcustomplot.h>

namespace lq::widgets {

namespace {

// Clicks and tool tips pick the nearest point within this many pixels.
constexpr double kPickPixels = 8;
constexpr int kDiscPixels = 6;

} // namespace

struct FleetScatterPlot::Items
{
    QCPTextElement* title = nullptr;
    QCPGraph* points = nullptr;
    QCPGraph* highlight = nullptr;
};

FleetScatterPlot::FleetScatterPlot(QWidget* parent)
    : PlotWidget(parent), m_items(std::make_unique<Items>())
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    p->plotLayout()->insertRow(0);
    it.title = new QCPTextElement(p, QString(), QFont(font().family(), 11, QFont::Bold));
    p->plotLayout()->addElement(0, 0, it.title);
    p->xAxis->setLabel(tr("average bits per weight"));
    p->yAxis->setLabel(tr("total relative error (energy-weighted)"));

    it.points = new QCPGraph(p->xAxis, p->yAxis);
    it.points->setLineStyle(QCPGraph::lsNone);
    // Translucent discs, where thousands of adapters overlap the cloud reads darker. Drawn once
    // into a pixmap that each point copies: an antialiased ellipse per point took ~70 ms per
    // replot at 10,000 points, the copies a few.
    QColor fill = style::bars();
    fill.setAlpha(140);
    QPixmap disc(kDiscPixels, kDiscPixels);
    disc.fill(Qt::transparent);
    {
        QPainter painter(&disc);
        painter.setRenderHint(QPainter::Antialiasing);
        painter.setPen(Qt::NoPen);
        painter.setBrush(fill);
        painter.drawEllipse(QRectF(0.5, 0.5, kDiscPixels - 1.0, kDiscPixels - 1.0));
    }
    it.points->setScatterStyle(QCPScatterStyle(disc));
    it.highlight = new QCPGraph(p->xAxis, p->yAxis);
    it.highlight->setLineStyle(QCPGraph::lsNone);
    it.highlight->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(style::selected(), 2.5), Qt::NoBrush, 13));
    it.highlight->setLayer(QStringLiteral("overlay"));

    canvas()->installEventFilter(this);
    canvas()->setMouseTracking(true);
    setPoints({}, 0, QString());
}

FleetScatterPlot::~FleetScatterPlot() = default;

QString FleetScatterPlot::title() const
{
    return m_items->title->text();
}

void FleetScatterPlot::setPoints(std::vector<Point> points, int notShown, const QString& xLabel)
{
    Items& it = *m_items;
    m_points.clear();
    for (Point& point : points)
        if (std::isfinite(point.bits) && std::isfinite(point.error))
            m_points.push_back(std::move(point));
    m_notShown = notShown;
    QVector<double> keys, values;
    keys.reserve(qsizetype(m_points.size()));
    values.reserve(qsizetype(m_points.size()));
    for (const Point& point : m_points) {
        keys.push_back(point.bits);
        values.push_back(point.error);
    }
    it.points->setData(keys, values);
    plot()->xAxis->setLabel(xLabel.isEmpty() ? tr("average bits per weight") : xLabel);
    // Two short lines: the plot is the narrow side of the Fleet tab.
    QString title = tr("Error against bits\n%n adapter(s)", nullptr, int(m_points.size()));
    if (notShown > 0)
        title += tr(", %n failed (not shown)", nullptr, notShown);
    it.title->setText(title);
    setMessage(m_points.empty() ? (notShown > 0 ? tr("Every adapter failed")
                                                : tr("No quantized adapters to plot"))
                                : QString());
    setHighlighted(m_highlighted);
    updateRange();
}

void FleetScatterPlot::setHighlighted(int row)
{
    m_highlighted = row;
    m_items->highlight->data()->clear();
    for (const Point& point : m_points)
        if (point.row == row) {
            m_items->highlight->addData(point.bits, point.error);
            break;
        }
    scheduleReplot();
}

void FleetScatterPlot::updateRange()
{
    QCustomPlot* p = plot();
    double minX = std::numeric_limits<double>::infinity(), maxX = -minX;
    double minY = minX, maxY = -minX;
    for (const Point& point : m_points) {
        minX = std::min(minX, point.bits);
        maxX = std::max(maxX, point.bits);
        minY = std::min(minY, point.error);
        maxY = std::max(maxY, point.error);
    }
    if (minX > maxX) {
        p->xAxis->setRange(1, 4);
        p->yAxis->setRange(0, 1);
    } else {
        const double padX = std::max(0.05, 0.05 * (maxX - minX));
        const double padY = std::max(0.002, 0.06 * (maxY - minY));
        p->xAxis->setRange(minX - padX, maxX + padX);
        p->yAxis->setRange(std::max(0.0, minY - padY), maxY + padY);
    }
    scheduleReplot();
}

QPoint FleetScatterPlot::positionOf(int row) const
{
    for (const Point& point : m_points)
        if (point.row == row)
            return QPoint(int(std::lround(plot()->xAxis->coordToPixel(point.bits))),
                          int(std::lround(plot()->yAxis->coordToPixel(point.error))));
    return QPoint(-1, -1);
}

int FleetScatterPlot::nearest(const QPoint& position) const
{
    const QCustomPlot* p = plot();
    double best = kPickPixels;
    int found = -1;
    for (std::size_t i = 0; i < m_points.size(); ++i) {
        const double dx = p->xAxis->coordToPixel(m_points[i].bits) - position.x();
        const double dy = p->yAxis->coordToPixel(m_points[i].error) - position.y();
        const double distance = std::hypot(dx, dy);
        if (distance < best) {
            best = distance;
            found = int(i);
        }
    }
    return found;
}

QString FleetScatterPlot::labelAt(const QPoint& position) const
{
    const int i = nearest(position);
    return i < 0 ? QString() : m_points[std::size_t(i)].label;
}

bool FleetScatterPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == canvas() && event->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(event);
        const int i = nearest(help->pos());
        if (i < 0) {
            QToolTip::hideText();
        } else {
            const Point& point = m_points[std::size_t(i)];
            QToolTip::showText(help->globalPos(),
                               tr("%1\n%2 bits/weight, total error %3")
                                   .arg(point.label)
                                   .arg(point.bits, 0, 'f', 3)
                                   .arg(point.error, 0, 'f', 4),
                               canvas());
        }
        return true;
    }
    if (watched == canvas() && event->type() == QEvent::MouseButtonPress) {
        const auto* mouse = static_cast<QMouseEvent*>(event);
        if (mouse->button() == Qt::LeftButton) {
            const int i = nearest(mouse->position().toPoint());
            if (i >= 0)
                emit pointClicked(m_points[std::size_t(i)].row);
        }
    }
    return PlotWidget::eventFilter(watched, event);
}

} // namespace lq::widgets
