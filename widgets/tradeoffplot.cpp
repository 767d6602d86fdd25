#include "tradeoffplot.h"

#include "plotstyle.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <qcustomplot.h>

namespace lq::widgets {

namespace {

// A click or a tool tip takes the nearest point within this many pixels: a point is 7 pixels
// across, and a person aims at its middle only roughly.
constexpr double kPickPixels = 12;

QColor widthColor(int bitsHigh)
{
    switch (bitsHigh) {
    case 2:
        return style::bars();
    case 3:
        return style::energy();
    case 4:
        return style::reference1();
    default:
        return QColor(0x75, 0x70, 0xb3);
    }
}

QColor referenceColor(int index)
{
    return index == 0 ? style::reference2() : QColor(0xa6, 0x76, 0x1d);
}

} // namespace

struct TradeOffPlot::Items
{
    QCPTextElement* title = nullptr;
    std::vector<QCPGraph*> curves;          // per width, unrefined then refined
    std::vector<QCPAbstractItem*> labels;   // the widths' names at their curves' ends
    std::vector<QCPGraph*> referencePoints; // one point each, in the legend
    std::vector<QCPItemStraightLine*> referenceLines;
    QCPGraph* plainLegend = nullptr;   // legend entry only: what a hollow point means
    QCPGraph* refinedLegend = nullptr; // and a filled one
    QCPGraph* current = nullptr;
};

TradeOffPlot::TradeOffPlot(QWidget* parent) : PlotWidget(parent), m_items(std::make_unique<Items>())
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    p->plotLayout()->insertRow(0);
    it.title = new QCPTextElement(p, QString(), QFont(font().family(), 11, QFont::Bold));
    p->plotLayout()->addElement(0, 0, it.title);
    p->yAxis->setLabel(tr("relative error of this module"));
    p->xAxis->setNumberFormat(QStringLiteral("f"));
    p->xAxis->setNumberPrecision(1);
    p->yAxis->setNumberFormat(QStringLiteral("f"));
    p->yAxis->setNumberPrecision(2);

    const QColor neutral = style::marker();
    it.plainLegend = new QCPGraph(p->xAxis, p->yAxis);
    it.plainLegend->setLineStyle(QCPGraph::lsNone);
    it.plainLegend->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(neutral, 1.5), Qt::NoBrush, 7));
    it.plainLegend->setName(tr("without refinement"));
    it.refinedLegend = new QCPGraph(p->xAxis, p->yAxis);
    it.refinedLegend->setLineStyle(QCPGraph::lsNone);
    it.refinedLegend->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(neutral, 1.5), QBrush(neutral), 7));

    it.current = new QCPGraph(p->xAxis, p->yAxis);
    it.current->setLineStyle(QCPGraph::lsNone);
    it.current->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssStar, QPen(style::selected(), 2.5), Qt::NoBrush, 17));
    it.current->setLayer(QStringLiteral("overlay"));

    // Below the plot area, as the spectrum's: the points fill the whole area, no corner is free.
    p->legend->setVisible(true);
    p->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    p->legend->setWrap(3);
    p->legend->setBorderPen(Qt::NoPen);
    auto* legendRow = new QCPLayoutGrid;
    p->plotLayout()->addElement(2, 0, legendRow);
    legendRow->addElement(0, 0, p->legend);
    legendRow->setMargins(QMargins(0, 0, 0, 4));
    p->plotLayout()->setRowStretchFactor(2, 0.001);

    canvas()->installEventFilter(this);
    canvas()->setMouseTracking(true);
    canvas()->setToolTip(tr("Each point is one choice for this module: h high components at a "
                            "bit width. Click a point to give the module that choice."));
    clear();
}

TradeOffPlot::~TradeOffPlot() = default;

void TradeOffPlot::clear()
{
    m_references.clear();
    m_current.reset();
    m_currentLabel.clear();
    setChoices(QString(), QString(), {}, {}, QString());
}

void TradeOffPlot::setChoices(const QString& title, const QString& xLabel,
                              const std::vector<Choice>& unrefined,
                              const std::vector<Choice>& refined, const QString& refinedName)
{
    m_items->title->setText(title.isEmpty() ? tr("Choices of the selected module") : title);
    plot()->xAxis->setLabel(xLabel.isEmpty() ? tr("bits per weight") : xLabel);
    m_unrefined = unrefined;
    m_refined = refined;
    m_refinedName = refinedName;
    rebuild();
}

void TradeOffPlot::setReferences(const std::vector<Reference>& references)
{
    m_references = references;
    rebuild();
}

void TradeOffPlot::setCurrent(const std::optional<Choice>& current, const QString& label)
{
    m_current = current;
    m_currentLabel = label;
    Items& it = *m_items;
    it.current->data()->clear();
    it.current->removeFromLegend();
    if (m_current) {
        it.current->addData(m_current->bits, m_current->error);
        it.current->setName(label.isEmpty() ? tr("current choice") : label);
        it.current->addToLegend();
    }
    updateRange();
}

void TradeOffPlot::rebuild()
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    for (QCPGraph* graph : it.curves)
        p->removePlottable(graph);
    it.curves.clear();
    for (QCPAbstractItem* item : it.labels)
        p->removeItem(item);
    it.labels.clear();
    for (QCPGraph* graph : it.referencePoints)
        p->removePlottable(graph);
    it.referencePoints.clear();
    for (QCPItemStraightLine* line : it.referenceLines)
        p->removeItem(line);
    it.referenceLines.clear();

    // Per width, its points in order of h; h = 0 (no high part) begins every width's curve.
    const auto byWidth = [](const std::vector<Choice>& choices) {
        std::map<int, std::vector<Choice>> widths;
        for (const Choice& choice : choices)
            if (choice.h > 0)
                widths[choice.bitsHigh].push_back(choice);
        for (const Choice& choice : choices)
            if (choice.h == 0)
                for (auto& [width, points] : widths)
                    points.push_back(choice);
        for (auto& [width, points] : widths)
            std::sort(points.begin(), points.end(),
                      [](const Choice& a, const Choice& b) { return a.h < b.h; });
        return widths;
    };
    const auto addCurves = [&](const std::vector<Choice>& choices, bool filled) {
        for (const auto& [width, points] : byWidth(choices)) {
            QVector<double> keys, values;
            for (const Choice& choice : points) {
                keys.push_back(choice.bits);
                values.push_back(choice.error);
            }
            auto* graph = new QCPGraph(p->xAxis, p->yAxis);
            const QColor color = widthColor(width);
            // The unrefined curve thin and pale rather than dotted: antialiased dash patterns
            // cost the raster engine several times a solid line.
            QColor pale = color;
            pale.setAlpha(filled ? 255 : 110);
            graph->setPen(QPen(pale, filled ? 1.6 : 1.0));
            graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(color, 1.5),
                                                   filled ? QBrush(color) : QBrush(Qt::white), 7));
            // Sorted by h, not by bits: a curve goes out from h = 0 in the order a person
            // moves the split (bits grow with h, so the two orders agree).
            graph->setData(keys, values, true);
            graph->removeFromLegend();
            it.curves.push_back(graph);
            if (!filled && !points.empty()) {
                auto* label = new QCPItemText(p);
                label->position->setCoords(points.back().bits, points.back().error);
                label->setPositionAlignment(Qt::AlignLeft | Qt::AlignVCenter);
                label->setPadding(QMargins(6, 0, 0, 0));
                label->setColor(color);
                label->setText(tr("%1-bit high").arg(width));
                it.labels.push_back(label);
            }
        }
    };
    addCurves(m_unrefined, false);
    addCurves(m_refined, true);

    it.plainLegend->removeFromLegend();
    it.refinedLegend->removeFromLegend();
    if (!m_unrefined.empty())
        it.plainLegend->addToLegend();
    if (!m_refined.empty()) {
        it.refinedLegend->setName(tr("with refinement %1").arg(m_refinedName));
        it.refinedLegend->addToLegend();
    }

    for (std::size_t i = 0; i < m_references.size(); ++i) {
        const Reference& reference = m_references[i];
        const QColor color = referenceColor(int(i));
        auto* point = new QCPGraph(p->xAxis, p->yAxis);
        point->setLineStyle(QCPGraph::lsNone);
        point->setScatterStyle(
            QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(color, 1.5), QBrush(color), 9));
        point->addData(reference.bits, reference.error);
        point->setName(reference.name);
        it.referencePoints.push_back(point);
        auto* line = new QCPItemStraightLine(p);
        line->setPen(QPen(color, 1.2, Qt::DashLine));
        line->point1->setCoords(0, reference.error);
        line->point2->setCoords(1, reference.error);
        it.referenceLines.push_back(line);
    }
    // The current choice stays last in the legend.
    it.current->removeFromLegend();
    if (m_current)
        it.current->addToLegend();
    updateRange();
}

void TradeOffPlot::updateRange()
{
    QCustomPlot* p = plot();
    double minX = std::numeric_limits<double>::infinity(), maxX = -minX;
    double minY = minX, maxY = -minX;
    const auto take = [&](double x, double y) {
        if (!std::isfinite(x) || !std::isfinite(y))
            return;
        minX = std::min(minX, x);
        maxX = std::max(maxX, x);
        minY = std::min(minY, y);
        maxY = std::max(maxY, y);
    };
    for (const Choice& choice : m_unrefined)
        take(choice.bits, choice.error);
    for (const Choice& choice : m_refined)
        take(choice.bits, choice.error);
    for (const Reference& reference : m_references)
        take(reference.bits, reference.error);
    if (m_current)
        take(m_current->bits, m_current->error);
    if (minX > maxX) {
        p->xAxis->setRange(1, 4);
        p->yAxis->setRange(0, 1);
    } else {
        // Room on the right for the widths' names at the curves' ends.
        const double spanX = std::max(0.2, maxX - minX);
        p->xAxis->setRange(minX - 0.04 * spanX, maxX + 0.22 * spanX);
        const double spanY = std::max(0.02, maxY - minY);
        p->yAxis->setRange(std::max(0.0, minY - 0.08 * spanY), maxY + 0.08 * spanY);
    }
    // Ticks that fit the width: a narrow plot at 1024 x 640 has room for about one label per
    // 60 pixels.
    const int width = std::max(1, p->axisRect()->width());
    p->xAxis->ticker()->setTickCount(std::clamp(width / 60, 2, 8));
    scheduleReplot();
}

TradeOffPlot::Hit TradeOffPlot::nearest(const QPointF& position) const
{
    const QCustomPlot* p = plot();
    Hit best;
    double bestDistance = kPickPixels;
    const auto consider = [&](const std::vector<Choice>& choices, bool refined) {
        for (const Choice& choice : choices) {
            const double dx = p->xAxis->coordToPixel(choice.bits) - position.x();
            const double dy = p->yAxis->coordToPixel(choice.error) - position.y();
            const double distance = std::hypot(dx, dy);
            if (distance < bestDistance) {
                bestDistance = distance;
                best = {&choice, refined};
            }
        }
    };
    consider(m_unrefined, false);
    consider(m_refined, true);
    return best;
}

std::optional<QPoint> TradeOffPlot::positionOf(int h, int bitsHigh, bool refined) const
{
    for (const Choice& choice : refined ? m_refined : m_unrefined)
        if (choice.h == h && (h == 0 || choice.bitsHigh == bitsHigh))
            return QPoint(int(std::lround(plot()->xAxis->coordToPixel(choice.bits))),
                          int(std::lround(plot()->yAxis->coordToPixel(choice.error))));
    return std::nullopt;
}

bool TradeOffPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched != canvas())
        return PlotWidget::eventFilter(watched, event);
    switch (event->type()) {
    case QEvent::MouseButtonPress: {
        auto* mouse = static_cast<QMouseEvent*>(event);
        if (mouse->button() != Qt::LeftButton)
            break;
        const Hit hit = nearest(mouse->position());
        if (!hit.choice)
            break;
        m_pressed = true;
        emit choiceClicked(hit.choice->h, hit.choice->bitsHigh);
        return true;
    }
    case QEvent::MouseButtonRelease:
    case QEvent::MouseButtonDblClick:
        // The press chose a point: the rest of the click is ours too (QCustomPlot would run
        // its selection hit tests over every plottable for nothing).
        if (m_pressed) {
            m_pressed = event->type() == QEvent::MouseButtonDblClick;
            return true;
        }
        break;
    case QEvent::MouseMove: {
        auto* mouse = static_cast<QMouseEvent*>(event);
        canvas()->setCursor(nearest(mouse->position()).choice ? Qt::PointingHandCursor
                                                              : Qt::ArrowCursor);
        break;
    }
    case QEvent::ToolTip: {
        const auto* help = static_cast<QHelpEvent*>(event);
        const Hit hit = nearest(help->pos());
        if (!hit.choice) {
            // Between the points: the general explanation.
            QToolTip::showText(help->globalPos(), canvas()->toolTip(), canvas());
            return true;
        }
        const Choice& c = *hit.choice;
        const QString what = c.h == 0 ? tr("h = 0: every component in 1 bit")
                                      : tr("h = %1, high part in %2 bits").arg(c.h).arg(c.bitsHigh);
        QToolTip::showText(help->globalPos(),
                           tr("%1\n%2 bits per weight, error %3 %4\nClick to choose it.")
                               .arg(what)
                               .arg(c.bits, 0, 'f', 3)
                               .arg(c.error, 0, 'f', 4)
                               .arg(hit.refined ? tr("with refinement %1").arg(m_refinedName)
                                                : tr("without refinement")),
                           canvas());
        return true;
    }
    default:
        break;
    }
    return PlotWidget::eventFilter(watched, event);
}

} // namespace lq::widgets
