#include "spectrumplot.h"

#include "plotstyle.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

namespace lq::widgets {

struct SpectrumPlot::Items
{
    QCPTextElement* title = nullptr;
    QCPBars* high = nullptr;
    QCPBars* low = nullptr;
    QCPGraph* energy = nullptr;
    QCPGraph* rhoLegend = nullptr; // legend entry only; the line itself is an item
    QCPItemStraightLine* rhoLine = nullptr;
    QCPItemText* rhoLabel = nullptr;
    QCPItemLine* marker = nullptr;
    QCPItemText* markerLabel = nullptr;
};

SpectrumPlot::SpectrumPlot(QWidget* parent) : PlotWidget(parent), m_items(std::make_unique<Items>())
{
    QCustomPlot* p = plot();
    Items& it = *m_items;

    p->plotLayout()->insertRow(0);
    it.title = new QCPTextElement(p, QString(), QFont(font().family(), 11, QFont::Bold));
    p->plotLayout()->addElement(0, 0, it.title);

    p->xAxis->setLabel(tr("component i (ordered by singular value)"));
    p->yAxis->setLabel(tr("singular value s_i (log scale)"));
    p->yAxis->setScaleType(QCPAxis::stLogarithmic);
    p->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    p->yAxis->setNumberFormat(QStringLiteral("gb"));
    p->yAxis->setNumberPrecision(0);
    p->yAxis2->setVisible(true);
    p->yAxis2->setLabel(tr("cumulative energy share (%)"));
    p->yAxis2->setRange(0, 105);
    p->yAxis2->setLabelColor(style::energy());
    p->yAxis2->setTickLabelColor(style::energy());

    it.high = new QCPBars(p->xAxis, p->yAxis);
    it.high->setName(tr("high precision"));
    it.high->setBrush(style::highPrecision());
    it.high->setPen(Qt::NoPen);
    it.high->setWidth(0.7);
    it.low = new QCPBars(p->xAxis, p->yAxis);
    it.low->setName(tr("low precision (1-bit binary)"));
    it.low->setBrush(style::lowPrecision());
    it.low->setPen(Qt::NoPen);
    it.low->setWidth(0.7);

    it.energy = new QCPGraph(p->xAxis, p->yAxis2);
    it.energy->setName(tr("cumulative energy share (right axis)"));
    it.energy->setPen(QPen(style::energy(), 2));
    it.energy->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));

    const QPen rhoPen(style::energy(), 1.5, Qt::DashLine);
    it.rhoLegend = new QCPGraph(p->xAxis, p->yAxis2);
    it.rhoLegend->setPen(rhoPen);
    it.rhoLine = new QCPItemStraightLine(p);
    it.rhoLine->setPen(rhoPen);
    it.rhoLine->point1->setAxes(p->xAxis, p->yAxis2);
    it.rhoLine->point2->setAxes(p->xAxis, p->yAxis2);
    it.rhoLabel = new QCPItemText(p);
    it.rhoLabel->position->setAxes(p->xAxis, p->yAxis2);
    it.rhoLabel->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
    it.rhoLabel->setColor(style::energy());

    it.marker = new QCPItemLine(p);
    it.marker->setPen(QPen(style::marker(), 2.5));
    it.marker->start->setTypeX(QCPItemPosition::ptPlotCoords);
    it.marker->start->setTypeY(QCPItemPosition::ptAxisRectRatio);
    it.marker->end->setTypeX(QCPItemPosition::ptPlotCoords);
    it.marker->end->setTypeY(QCPItemPosition::ptAxisRectRatio);
    it.markerLabel = new QCPItemText(p);
    it.markerLabel->position->setTypeX(QCPItemPosition::ptPlotCoords);
    it.markerLabel->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    it.markerLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    it.markerLabel->setPadding(QMargins(4, 2, 4, 2));
    it.markerLabel->setBrush(QColor(255, 255, 255, 220));
    it.markerLabel->setPen(QPen(style::marker()));

    // The legend sits below the plot area, where it never hides bars or the curve.
    p->legend->setVisible(true);
    p->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    p->legend->setWrap(2);
    p->legend->setBorderPen(Qt::NoPen);
    auto* legendRow = new QCPLayoutGrid;
    p->plotLayout()->addElement(2, 0, legendRow);
    legendRow->addElement(0, 0, p->legend);
    legendRow->setMargins(QMargins(0, 0, 0, 4));
    p->plotLayout()->setRowStretchFactor(2, 0.001);

    canvas()->installEventFilter(this);
    canvas()->setFocusPolicy(Qt::StrongFocus);
    canvas()->setMouseTracking(true);
    updateToolTip();
    rebuild();
}

SpectrumPlot::~SpectrumPlot() = default;

void SpectrumPlot::setSpectrum(const QString& title, const std::vector<double>& singularValues)
{
    m_title = title;
    m_values = singularValues;
    m_h = std::clamp(m_h, 0, rank());
    m_dragging = false;
    rebuild();
}

void SpectrumPlot::clear()
{
    setSpectrum(QString(), {});
}

void SpectrumPlot::setRho(double rho)
{
    m_rho = rho;
    updateSplitItems();
}

void SpectrumPlot::setSplit(int h)
{
    m_h = std::clamp(h, 0, rank());
    updateSplitItems();
}

void SpectrumPlot::setBitsHigh(int bits)
{
    m_bitsHigh = bits;
    updateSplitItems();
}

void SpectrumPlot::setRuleNote(const QString& note, const QString& explanation)
{
    m_ruleNote = note;
    m_ruleExplanation = explanation;
    updateToolTip();
    updateSplitItems();
}

void SpectrumPlot::updateToolTip()
{
    QString text = tr("Drag the split marker (or use the Left and Right keys): components left of "
                      "it keep high precision, the rest get 1 bit. Up and Down (or the mouse "
                      "wheel over the orange bars) change the high part's bit width.");
    if (!m_ruleExplanation.isEmpty())
        text += QStringLiteral("\n\n") + m_ruleExplanation;
    canvas()->setToolTip(text);
}

void SpectrumPlot::rebuild()
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    const int r = rank();
    it.title->setText(m_title.isEmpty() ? tr("Singular spectrum (no module selected)")
                                        : tr("Singular values of %1").arg(m_title));

    double total = 0, smallest = 0, largest = 0;
    for (double s : m_values) {
        total += s * s;
        largest = std::max(largest, s);
        if (s > 0)
            smallest = smallest > 0 ? std::min(smallest, s) : s;
    }
    QVector<double> keys, cumulative;
    double running = 0;
    for (int i = 0; i < r; ++i) {
        running += m_values[i] * m_values[i];
        keys.push_back(i + 1);
        cumulative.push_back(total > 0 ? 100.0 * running / total : 0.0);
    }
    it.energy->setData(keys, cumulative, true);

    if (largest > 0) {
        // Log axis: bars start at the bottom of the range, and zero singular values (components
        // that carry nothing) are not drawn at all.
        const double lower = std::pow(10.0, std::floor(std::log10(smallest)) - 0.05);
        const double upper = std::pow(10.0, std::ceil(std::log10(largest)) + 0.05);
        p->yAxis->setRange(lower, upper);
        it.high->setBaseValue(lower);
        it.low->setBaseValue(lower);
    } else {
        p->yAxis->setRange(0.1, 10);
    }
    // An untrained adapter has B = 0 (PEFT's initialisation): nothing to draw, so say why.
    setMessage(r > 0 && !(largest > 0)
                   ? tr("Every singular value is 0: this module's update B A is zero")
                   : QString());
    p->xAxis->setRange(0.4, std::max(r, 1) + 0.6);
    if (r <= 40) {
        auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
        ticker->setTickStep(r <= 20 ? 1.0 : 2.0);
        ticker->setScaleStrategy(QCPAxisTickerFixed::ssNone);
        p->xAxis->setTicker(ticker);
    } else {
        p->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }
    p->xAxis->setNumberFormat(QStringLiteral("f"));
    p->xAxis->setNumberPrecision(0);
    updateSplitItems();
}

void SpectrumPlot::updateSplitItems()
{
    Items& it = *m_items;
    const int r = rank();
    QVector<double> highKeys, highValues, lowKeys, lowValues;
    for (int i = 0; i < r; ++i) {
        if (!(m_values[i] > 0))
            continue;
        (i < m_h ? highKeys : lowKeys).push_back(i + 1);
        (i < m_h ? highValues : lowValues).push_back(m_values[i]);
    }
    it.high->setData(highKeys, highValues, true);
    it.low->setData(lowKeys, lowValues, true);
    it.high->setName(tr("high precision (%n-bit RTN)", nullptr, m_bitsHigh));

    const bool haveRho = m_rho > 0 && r > 0;
    it.rhoLine->setVisible(haveRho);
    it.rhoLabel->setVisible(haveRho);
    it.rhoLegend->setVisible(haveRho);
    it.rhoLegend->setName(
        haveRho ? tr("ρ = %1 (energy threshold)").arg(QString::number(m_rho, 'g', 3)) : QString());
    if (haveRho)
        it.rhoLegend->addToLegend();
    else
        it.rhoLegend->removeFromLegend();
    it.rhoLine->point1->setCoords(0, 100 * m_rho);
    it.rhoLine->point2->setCoords(1, 100 * m_rho);
    it.rhoLabel->position->setCoords(r + 0.5, 100 * m_rho);
    it.rhoLabel->setText(
        m_ruleNote.isEmpty()
            ? QStringLiteral("ρ = %1").arg(QString::number(m_rho, 'g', 3))
            : QStringLiteral("ρ = %1 (%2)").arg(QString::number(m_rho, 'g', 3), m_ruleNote));

    const bool haveMarker = r > 0;
    it.marker->setVisible(haveMarker);
    it.markerLabel->setVisible(haveMarker);
    const double x = m_h + 0.5;
    it.marker->start->setCoords(x, 0.0);
    it.marker->end->setCoords(x, 1.0);
    double energyShare = 0, total = 0;
    for (int i = 0; i < r; ++i) {
        total += m_values[i] * m_values[i];
        if (i < m_h)
            energyShare += m_values[i] * m_values[i];
    }
    // At the foot of the plot: the cumulative energy curve runs along the top, and the bars'
    // heights (their tops) are what the label must not hide.
    it.markerLabel->position->setCoords(x, 0.98);
    it.markerLabel->setText(tr("h = %1 of %2\n%3% of the energy high")
                                .arg(m_h)
                                .arg(r)
                                .arg(total > 0 ? 100.0 * energyShare / total : 0.0, 0, 'f', 1));
    // Keep the label inside the plot when the marker is near the right edge.
    it.markerLabel->setPositionAlignment(m_h > r / 2 ? (Qt::AlignRight | Qt::AlignBottom)
                                                     : (Qt::AlignLeft | Qt::AlignBottom));
    scheduleReplot();
}

bool SpectrumPlot::insidePlotArea(const QPointF& position) const
{
    return plot()->axisRect()->rect().contains(position.toPoint());
}

bool SpectrumPlot::overHighBars(const QPointF& position) const
{
    if (!insidePlotArea(position) || m_h <= 0)
        return false;
    // Bars of components 1..h stand at x = 1..h, 0.7 wide: the columns from 0.5 to h + 0.5.
    const double coordinate = plot()->xAxis->pixelToCoord(position.x());
    return coordinate >= 0.5 && coordinate <= m_h + 0.5;
}

int SpectrumPlot::splitAtPixel(double x) const
{
    // The marker for h sits at h + 0.5; the nearest one to coordinate c is h = round(c - 0.5).
    const double coordinate = plot()->xAxis->pixelToCoord(x);
    return std::clamp(int(std::lround(coordinate - 0.5)), 0, rank());
}

QPoint SpectrumPlot::positionForSplit(int h) const
{
    const QRect area = plot()->axisRect()->rect();
    return QPoint(int(std::lround(plot()->xAxis->coordToPixel(h + 0.5))), area.center().y());
}

bool SpectrumPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched != canvas() || rank() == 0)
        return PlotWidget::eventFilter(watched, event);

    switch (event->type()) {
    case QEvent::MouseButtonPress: {
        auto* mouse = static_cast<QMouseEvent*>(event);
        if (mouse->button() != Qt::LeftButton || !insidePlotArea(mouse->position()))
            break;
        m_dragging = true;
        const int h = splitAtPixel(mouse->position().x());
        if (h != m_h) {
            setSplit(h);
            emit splitDragged(h);
        }
        return true;
    }
    case QEvent::MouseMove: {
        auto* mouse = static_cast<QMouseEvent*>(event);
        canvas()->setCursor(insidePlotArea(mouse->position()) || m_dragging ? Qt::SplitHCursor
                                                                            : Qt::ArrowCursor);
        if (!m_dragging)
            break;
        const int h = splitAtPixel(mouse->position().x());
        if (h != m_h) {
            setSplit(h);
            emit splitDragged(h);
        }
        return true;
    }
    case QEvent::MouseButtonRelease: {
        auto* mouse = static_cast<QMouseEvent*>(event);
        if (!m_dragging || mouse->button() != Qt::LeftButton)
            break;
        m_dragging = false;
        setSplit(splitAtPixel(mouse->position().x()));
        emit splitChosen(m_h);
        return true;
    }
    case QEvent::Wheel: {
        auto* wheel = static_cast<QWheelEvent*>(event);
        const int delta = wheel->angleDelta().y();
        if (m_dragging || delta == 0 || !overHighBars(wheel->position()))
            break;
        emit bitsHighStepped(delta > 0 ? 1 : -1);
        return true;
    }
    case QEvent::KeyPress: {
        auto* key = static_cast<QKeyEvent*>(event);
        if ((key->key() == Qt::Key_Up || key->key() == Qt::Key_Down) && !m_dragging) {
            emit bitsHighStepped(key->key() == Qt::Key_Up ? 1 : -1);
            return true;
        }
        const int step = key->key() == Qt::Key_Left ? -1 : key->key() == Qt::Key_Right ? 1 : 0;
        if (step == 0 || m_dragging)
            break;
        const int h = std::clamp(m_h + step, 0, rank());
        if (h != m_h) {
            setSplit(h);
            emit splitChosen(h);
        }
        return true;
    }
    default:
        break;
    }
    return PlotWidget::eventFilter(watched, event);
}

} // namespace lq::widgets
