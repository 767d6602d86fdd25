#include "errorbarplot.h"

#include "plotstyle.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <map>
#include <qcustomplot.h>

namespace lq::widgets {

struct ErrorBarPlot::Items
{
    QCPTextElement* title = nullptr;
    QCPBars* bars = nullptr;
    QCPBars* selectedBar = nullptr;
    QCPTextElement* readout = nullptr;
    std::map<QString, QCPGraph*> references;
    std::vector<QCPItemText*> labels; // one per bar while there are few enough to fit
};

namespace {

// Beyond this many bars no label fits a screen's width (64 x the ~30 pixels of "0.000").
constexpr int kMaxLabelledBars = 64;
constexpr int kLabelGap = 3; // pixels between neighbouring labels

// The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `least`.
std::size_t countableStep(std::size_t least)
{
    for (std::size_t decade = 1;; decade *= 10)
        for (std::size_t step : {decade, 2 * decade, 5 * decade})
            if (step >= least)
                return step;
}

// A reference's name for the one-line read-out: "RTN 2-bit" of "whole adapter, RTN 2-bit, no
// SVD (total 0.712)"; a name without commas up to its parenthesis.
QString shortName(const QString& name)
{
    const QString head = name.section(QStringLiteral(" ("), 0, 0);
    const QString second = head.section(QStringLiteral(", "), 1, 1);
    return second.isEmpty() ? head : second;
}

} // namespace

ErrorBarPlot::ErrorBarPlot(QWidget* parent) : PlotWidget(parent), m_items(std::make_unique<Items>())
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    p->plotLayout()->insertRow(0);
    it.title = new QCPTextElement(p, QString(), QFont(font().family(), 11, QFont::Bold));
    p->plotLayout()->addElement(0, 0, it.title);
    p->plotLayout()->insertRow(1);
    it.readout = new QCPTextElement(p, QString(), QFont(font().family(), 9));
    it.readout->setObjectName(QStringLiteral("readout"));
    p->plotLayout()->addElement(1, 0, it.readout);
    p->plotLayout()->setRowStretchFactor(1, 0.001);

    p->xAxis->setLabel(tr("module (ticks mark layers)"));
    p->yAxis->setLabel(tr("relative error ‖ΔW − ΔŴ‖_F / ‖ΔW‖_F"));

    it.bars = new QCPBars(p->xAxis, p->yAxis);
    it.bars->setName(tr("LoRAQuant (current settings)"));
    it.bars->setBrush(style::bars());
    it.bars->setPen(Qt::NoPen);
    it.bars->setWidth(0.8);
    it.selectedBar = new QCPBars(p->xAxis, p->yAxis);
    it.selectedBar->setName(tr("selected module"));
    it.selectedBar->setBrush(style::selected());
    it.selectedBar->setPen(QPen(style::marker(), 1));
    it.selectedBar->setWidth(0.8);

    p->legend->setVisible(true);
    p->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    p->legend->setWrap(2);
    p->legend->setBorderPen(Qt::NoPen);
    auto* legendRow = new QCPLayoutGrid;
    p->plotLayout()->addElement(3, 0, legendRow);
    legendRow->addElement(0, 0, p->legend);
    legendRow->setMargins(QMargins(0, 0, 0, 4));
    p->plotLayout()->setRowStretchFactor(3, 0.001);
    connect(p, &QCustomPlot::beforeReplot, this, &ErrorBarPlot::updateLabelVisibility);

    canvas()->installEventFilter(this);
    canvas()->setMouseTracking(true);
    setModules(QString(), {}, {});
}

ErrorBarPlot::~ErrorBarPlot() = default;

void ErrorBarPlot::setModules(const QString& title, const QStringList& names,
                              const std::vector<double>& errors,
                              const std::vector<std::pair<int, QString>>& groups)
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    m_names = names;
    m_errors = errors;
    m_title = title.isEmpty() ? tr("Relative error per module") : title;
    it.title->setText(m_title);

    QVector<double> keys, values;
    for (std::size_t i = 0; i < errors.size(); ++i) {
        keys.push_back(double(i));
        values.push_back(errors[i]);
    }
    it.bars->setData(keys, values, true);

    for (QCPItemText* label : it.labels)
        p->removeItem(label);
    it.labels.clear();
    m_barLabels.clear();
    if (int(errors.size()) <= kMaxLabelledBars) {
        for (std::size_t i = 0; i < errors.size(); ++i) {
            auto* label = new QCPItemText(p);
            label->setClipToAxisRect(true);
            label->position->setType(QCPItemPosition::ptPlotCoords);
            label->position->setCoords(double(i), errors[i]);
            label->setPositionAlignment(Qt::AlignBottom | Qt::AlignHCenter);
            label->setPadding(QMargins(0, 0, 0, 2));
            label->setFont(QFont(font().family(), 8));
            label->setColor(QColor(40, 40, 40));
            label->setVisible(false);
            it.labels.push_back(label);
        }
    }

    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    // About 24 labels such as "L35" fit apart across the plot of a 1280-pixel window; beyond
    // that label every 2nd, 5th, 10th, ... group, a step a reader can count in.
    constexpr std::size_t kMaxLabels = 24;
    const std::size_t every = countableStep((groups.size() + kMaxLabels - 1) / kMaxLabels);
    for (std::size_t g = 0; g < groups.size(); g += every) {
        // The label sits in the middle of its group's bars.
        const int end = g + 1 < groups.size() ? groups[g + 1].first : int(errors.size());
        ticker->addTick(0.5 * (groups[g].first + end - 1), groups[g].second);
    }
    p->xAxis->setTicker(ticker);
    p->xAxis->setRange(-0.7, std::max<double>(double(errors.size()) - 0.3, 1.0));

    for (auto entry = it.references.begin(); entry != it.references.end();) {
        if (entry->second->dataCount() != int(errors.size())) {
            p->removePlottable(entry->second);
            entry = it.references.erase(entry);
        } else {
            ++entry;
        }
    }
    if (m_selected >= int(errors.size()))
        m_selected = -1;
    updateSelection();
    updateRange();
}

void ErrorBarPlot::setBarLabels(const QStringList& labels)
{
    m_barLabels = labels;
    scheduleReplot();
}

void ErrorBarPlot::setAxisLabel(const QString& label)
{
    plot()->xAxis->setLabel(label);
    scheduleReplot();
}

QString ErrorBarPlot::readout() const
{
    return m_items->readout->text();
}

int ErrorBarPlot::visibleLabelCount() const
{
    return int(std::count_if(m_items->labels.begin(), m_items->labels.end(),
                             [](const QCPItemText* label) { return label->visible(); }));
}

void ErrorBarPlot::updateLabelVisibility()
{
    Items& it = *m_items;
    if (it.labels.empty())
        return;
    const double pitch =
        std::abs(plot()->xAxis->coordToPixel(1.0) - plot()->xAxis->coordToPixel(0.0));
    const QFontMetrics metrics(it.labels.front()->font());
    for (std::size_t i = 0; i < it.labels.size(); ++i) {
        const QString value = QString::number(m_errors[i], 'f', 3);
        const QString name = int(i) < m_barLabels.size() ? m_barLabels[int(i)] : QString();
        QString text;
        if (!name.isEmpty() &&
            std::max(metrics.horizontalAdvance(name), metrics.horizontalAdvance(value)) +
                    kLabelGap <=
                pitch)
            text = name + QLatin1Char('\n') + value;
        else if (metrics.horizontalAdvance(value) + kLabelGap <= pitch)
            text = value;
        it.labels[i]->setText(text);
        it.labels[i]->setVisible(!text.isEmpty());
    }
}

void ErrorBarPlot::setSelected(int index)
{
    m_selected = index >= 0 && index < int(m_errors.size()) ? index : -1;
    updateSelection();
}

void ErrorBarPlot::updateSelection()
{
    Items& it = *m_items;
    QVector<double> keys, values;
    if (m_selected >= 0) {
        keys.push_back(m_selected);
        values.push_back(m_errors[m_selected]);
    }
    it.selectedBar->setData(keys, values, true);
    const bool named = m_selected >= 0 && m_selected < m_names.size();
    it.selectedBar->setName(named ? tr("selected: %1").arg(m_names[m_selected])
                                  : tr("selected module"));
    QString readout;
    if (named) {
        readout = tr("Selected: %1 — error %2")
                      .arg(m_names[m_selected])
                      .arg(m_errors[std::size_t(m_selected)], 0, 'f', 4);
        for (const auto& [name, graph] : it.references) {
            auto point = graph->data()->findBegin(m_selected, false);
            if (point != graph->data()->constEnd())
                readout += tr("; %1 %2").arg(shortName(name)).arg(point->value, 0, 'f', 4);
        }
    } else if (!m_errors.empty()) {
        readout = tr("Click a bar (or a row of the tree) to read its figures here");
    }
    it.readout->setText(readout);
    scheduleReplot();
}

int ErrorBarPlot::referenceCount() const
{
    return int(m_items->references.size());
}

void ErrorBarPlot::setReference(const QString& name, const std::vector<double>& perModule,
                                QColor color)
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    auto found = it.references.find(name);
    if (perModule.empty()) {
        if (found != it.references.end()) {
            p->removePlottable(found->second);
            it.references.erase(found);
        }
        updateRange();
        return;
    }
    QCPGraph* graph = found != it.references.end() ? found->second : nullptr;
    if (!graph) {
        graph = new QCPGraph(p->xAxis, p->yAxis);
        graph->setName(name);
        graph->setLineStyle(QCPGraph::lsStepCenter);
        it.references[name] = graph;
    }
    graph->setPen(QPen(color, 1.6, it.references.size() % 2 ? Qt::DashLine : Qt::DotLine));
    QVector<double> keys, values;
    for (std::size_t i = 0; i < perModule.size(); ++i) {
        keys.push_back(double(i));
        values.push_back(perModule[i]);
    }
    graph->setData(keys, values, true);
    updateRange();
}

void ErrorBarPlot::clearReferences()
{
    for (auto& entry : m_items->references)
        plot()->removePlottable(entry.second);
    m_items->references.clear();
    updateRange();
}

void ErrorBarPlot::updateRange()
{
    double top = 0;
    for (double e : m_errors)
        top = std::max(top, e);
    for (const auto& entry : m_items->references)
        for (auto point = entry.second->data()->constBegin();
             point != entry.second->data()->constEnd(); ++point)
            top = std::max(top, point->value);
    // Head room for the labels written above the bars.
    const double room = m_items->labels.empty() ? 1.08 : 1.2;
    plot()->yAxis->setRange(0, top > 0 ? top * room : 1.0);
    scheduleReplot();
}

QPoint ErrorBarPlot::barPosition(int index) const
{
    const double value = index >= 0 && index < int(m_errors.size()) ? m_errors[index] : 0.0;
    return QPoint(int(std::lround(plot()->xAxis->coordToPixel(index))),
                  int(std::lround(plot()->yAxis->coordToPixel(value / 2))));
}

bool ErrorBarPlot::eventFilter(QObject* watched, QEvent* event)
{
    if (watched != canvas() || m_errors.empty())
        return PlotWidget::eventFilter(watched, event);
    const auto moduleAt = [this](double x) {
        const int index = int(std::lround(plot()->xAxis->pixelToCoord(x)));
        return index >= 0 && index < int(m_errors.size()) ? index : -1;
    };
    if (event->type() == QEvent::MouseButtonRelease) {
        auto* mouse = static_cast<QMouseEvent*>(event);
        if (mouse->button() == Qt::LeftButton &&
            plot()->axisRect()->rect().contains(mouse->position().toPoint())) {
            const int index = moduleAt(mouse->position().x());
            if (index >= 0)
                emit moduleClicked(index);
            return true;
        }
    } else if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int index = moduleAt(help->pos().x());
        if (index >= 0 && plot()->axisRect()->rect().contains(help->pos())) {
            QString text = tr("%1\nrelative error %2")
                               .arg(index < m_names.size() ? m_names[index] : QString())
                               .arg(m_errors[index], 0, 'f', 4);
            for (const auto& [name, graph] : m_items->references) {
                auto point = graph->data()->findBegin(index, false);
                if (point != graph->data()->constEnd())
                    text += tr("\n%1: %2").arg(name).arg(point->value, 0, 'f', 4);
            }
            QToolTip::showText(help->globalPos(), text, canvas());
        } else {
            QToolTip::hideText();
        }
        return true;
    }
    return PlotWidget::eventFilter(watched, event);
}

} // namespace lq::widgets
