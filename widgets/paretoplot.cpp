#include "paretoplot.h"

#include "plotstyle.h"

#include <QHelpEvent>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <qcustomplot.h>

namespace lq::widgets {

namespace {

// Fourteen methods and more share the plot: each gets its own hue (Dark2, then Set1), and every
// second one past eight a dashed line, and its own marker shape, so that two series stay apart
// for a reader who cannot tell some hues apart.
QColor seriesColor(int index)
{
    static const QColor colors[] = {
        QColor(0x1b, 0x9e, 0x77), QColor(0x75, 0x70, 0xb3), QColor(0xe7, 0x29, 0x8a),
        QColor(0x66, 0xa6, 0x1e), QColor(0xe6, 0xab, 0x02), QColor(0xa6, 0x76, 0x1d),
        QColor(0x4c, 0x72, 0xb0), QColor(0x66, 0x66, 0x66), QColor(0xe4, 0x1a, 0x1c),
        QColor(0x37, 0x7e, 0xb8), QColor(0x98, 0x4e, 0xa3), QColor(0xff, 0x7f, 0x00),
        QColor(0xa6, 0x56, 0x28), QColor(0x00, 0x00, 0x00)};
    return colors[index % 14];
}

QCPScatterStyle::ScatterShape seriesShape(int index)
{
    static const QCPScatterStyle::ScatterShape shapes[] = {
        QCPScatterStyle::ssCircle,           QCPScatterStyle::ssSquare,
        QCPScatterStyle::ssDiamond,          QCPScatterStyle::ssTriangle,
        QCPScatterStyle::ssTriangleInverted, QCPScatterStyle::ssCrossSquare,
        QCPScatterStyle::ssPlusCircle};
    return shapes[index % 7];
}

// Ticks for a logarithmic axis that spans a decade or two, as the errors of a sweep do: 1, 2 and
// 5 times the powers of ten, which a log scale spreads evenly. (QCPAxisTickerLog falls back to
// linear steps on so short a range, 0.25, 0.5, ..., 1.25, whose top labels run together.)
class ShortLogTicker : public QCPAxisTicker
{
protected:
    QVector<double> createTickVector(double, const QCPRange& range) override
    {
        QVector<double> ticks;
        if (!(range.lower > 0) || !(range.upper > range.lower))
            return ticks;
        const double decades = std::log10(range.upper / range.lower);
        const std::vector<double> multiples = decades < 1
                                                  ? std::vector{1.0, 1.5, 2.0, 3.0, 5.0, 7.0}
                                              : decades < 2.5 ? std::vector{1.0, 2.0, 5.0}
                                              : decades < 5   ? std::vector{1.0, 3.0}
                                                              : std::vector{1.0};
        const int first = int(std::floor(std::log10(range.lower)));
        const int last = int(std::ceil(std::log10(range.upper)));
        for (int exponent = first; exponent <= last; ++exponent)
            for (double multiple : multiples) {
                const double tick = multiple * std::pow(10.0, exponent);
                if (range.contains(tick))
                    ticks.push_back(tick);
            }
        return ticks;
    }
    int getSubTickCount(double) override { return 0; }
};

// Tool tips pick the nearest point within this many pixels.
constexpr double kHoverPixels = 8;

} // namespace

struct ParetoPlot::Items
{
    QCPTextElement* title = nullptr;
    std::vector<QCPGraph*> graphs;
    QCPGraph* current = nullptr;
};

ParetoPlot::ParetoPlot(QWidget* parent) : PlotWidget(parent), m_items(std::make_unique<Items>())
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    p->plotLayout()->insertRow(0);
    it.title =
        new QCPTextElement(p, tr("Error against bits"), QFont(font().family(), 11, QFont::Bold));
    p->plotLayout()->addElement(0, 0, it.title);
    p->xAxis->setLabel(tr("average bits per weight"));
    p->yAxis->setLabel(tr("total relative error (energy-weighted, log)"));
    p->yAxis->setScaleType(QCPAxis::stLogarithmic);
    p->yAxis->setTicker(QSharedPointer<ShortLogTicker>::create());
    p->yAxis->setNumberFormat(QStringLiteral("gb"));

    it.current = new QCPGraph(p->xAxis, p->yAxis);
    it.current->setLineStyle(QCPGraph::lsNone);
    it.current->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssStar, QPen(style::selected(), 2.5), Qt::NoBrush, 16));
    it.current->setName(tr("current settings"));

    // The legend sits right of the axes, not over them: the curves span the whole plot (RTN from
    // 1 to 4 bits), so no corner is free.
    p->legend->setVisible(true);
    // Fourteen entries: a smaller font keeps the column within the plot's height.
    QFont legendFont = font();
    legendFont.setPointSizeF(legendFont.pointSizeF() * 0.85);
    p->legend->setFont(legendFont);
    p->legend->setRowSpacing(0);
    p->legend->setBorderPen(Qt::NoPen);
    p->legend->setBrush(Qt::NoBrush);
    auto* legendColumn = new QCPLayoutGrid;
    p->plotLayout()->addElement(1, 1, legendColumn);
    p->axisRect()->insetLayout()->take(p->legend);
    legendColumn->addElement(0, 0, p->legend);
    legendColumn->setMargins(QMargins(0, 0, 4, 0));
    p->plotLayout()->setColumnStretchFactor(1, 0.001);

    canvas()->installEventFilter(this);
    canvas()->setMouseTracking(true);
    clear();
}

ParetoPlot::~ParetoPlot() = default;

void ParetoPlot::clear()
{
    setSeries(QString(), QString(), {});
    setCurrent(0, 0, QString());
}

void ParetoPlot::setSeries(const QString& title, const QString& xLabel,
                           const std::vector<Series>& series)
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    for (QCPGraph* graph : it.graphs)
        p->removePlottable(graph);
    it.graphs.clear();
    m_series = series;
    it.title->setText(title.isEmpty() ? tr("Error against bits") : title);
    p->xAxis->setLabel(xLabel.isEmpty() ? tr("average bits per weight") : xLabel);
    for (std::size_t s = 0; s < series.size(); ++s) {
        const Series& one = series[s];
        // Joined in order of bits, so that each curve reads left to right.
        std::vector<std::size_t> order(one.bits.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return one.bits[a] < one.bits[b]; });
        QVector<double> keys, values;
        for (std::size_t i : order) {
            if (!(one.errors[i] > 0) || !std::isfinite(one.bits[i]))
                continue;
            keys.push_back(one.bits[i]);
            values.push_back(one.errors[i]);
        }
        auto* graph = new QCPGraph(p->xAxis, p->yAxis);
        const QColor color = seriesColor(int(s));
        QPen pen(color, 1.8);
        if (s >= 8 && s % 2 == 0)
            pen.setStyle(Qt::DashLine);
        graph->setPen(pen);
        // Methods with a single setting (q8_0) are a lone marker: draw it larger.
        const double size = keys.size() == 1 ? 9 : 6;
        graph->setScatterStyle(QCPScatterStyle(seriesShape(int(s)), QPen(color, 1.5),
                                               QBrush(color.lighter(150)), size));
        graph->setName(one.name);
        graph->setData(keys, values, true);
        it.graphs.push_back(graph);
    }
    // The current setting stays on top of the curves and last in the legend.
    it.current->removeFromLegend();
    if (!m_currentLabel.isEmpty())
        it.current->addToLegend();
    it.current->setLayer(QStringLiteral("overlay"));
    setMessage(series.empty() ? tr("No sweep yet") : QString());
    updateRange();
}

void ParetoPlot::setCurrent(double bits, double error, const QString& label)
{
    Items& it = *m_items;
    m_currentLabel = label;
    m_current = QPointF(bits, error);
    it.current->data()->clear();
    it.current->removeFromLegend();
    if (!label.isEmpty() && error > 0) {
        it.current->addData(bits, error);
        it.current->setName(label);
        it.current->addToLegend();
    }
    updateRange();
}

void ParetoPlot::updateRange()
{
    QCustomPlot* p = plot();
    double minX = std::numeric_limits<double>::infinity(), maxX = -minX;
    double minY = minX, maxY = -minX;
    const auto take = [&](double x, double y) {
        if (!(y > 0) || !std::isfinite(x))
            return;
        minX = std::min(minX, x);
        maxX = std::max(maxX, x);
        minY = std::min(minY, y);
        maxY = std::max(maxY, y);
    };
    for (const Series& one : m_series)
        for (std::size_t i = 0; i < one.bits.size(); ++i)
            take(one.bits[i], one.errors[i]);
    if (!m_currentLabel.isEmpty())
        take(m_current.x(), m_current.y());
    if (minX > maxX) {
        p->xAxis->setRange(1, 4);
        p->yAxis->setRange(0.01, 1);
    } else {
        const double padX = std::max(0.05, 0.05 * (maxX - minX));
        p->xAxis->setRange(minX - padX, maxX + padX);
        // A little room above and below on the log axis.
        p->yAxis->setRange(minY / 1.3, maxY * 1.3);
    }
    scheduleReplot();
}

QPoint ParetoPlot::positionOf(double bits, double error) const
{
    return QPoint(int(std::lround(plot()->xAxis->coordToPixel(bits))),
                  int(std::lround(plot()->yAxis->coordToPixel(error))));
}

bool ParetoPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == canvas() && event->type() == QEvent::ToolTip) {
        const auto* help = static_cast<QHelpEvent*>(event);
        QCustomPlot* p = plot();
        double best = kHoverPixels;
        QString text;
        for (const Series& one : m_series)
            for (std::size_t i = 0; i < one.bits.size(); ++i) {
                if (!(one.errors[i] > 0))
                    continue;
                const double dx = p->xAxis->coordToPixel(one.bits[i]) - help->pos().x();
                const double dy = p->yAxis->coordToPixel(one.errors[i]) - help->pos().y();
                const double distance = std::hypot(dx, dy);
                if (distance < best) {
                    best = distance;
                    const QString label =
                        i < std::size_t(one.labels.size()) ? one.labels[qsizetype(i)] : QString();
                    text = tr("%1%2\n%3 bits/weight, total error %4")
                               .arg(one.name,
                                    label.isEmpty() ? QString() : QStringLiteral(", ") + label)
                               .arg(one.bits[i], 0, 'f', 3)
                               .arg(one.errors[i], 0, 'f', 4);
                }
            }
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, canvas());
        return true;
    }
    return PlotWidget::eventFilter(watched, event);
}

} // namespace lq::widgets
