#include "reconstructionpanel.h"

#include "plotstyle.h"

#include <QObject>
#include <algorithm>
#include <qcustomplot.h>

namespace lq::widgets {

namespace {

QVector<QPointF> pointsOf(const QCPGraph* graph)
{
    QVector<QPointF> points;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
        points.push_back(QPointF(it->key, it->value));
    return points;
}

} // namespace

ReconstructionPanel::ReconstructionPanel(QCustomPlot* plot) : m_rect(new QCPAxisRect(plot))
{
    QCPAxis* x = m_rect->axis(QCPAxis::atBottom);
    QCPAxis* y = m_rect->axis(QCPAxis::atLeft);
    QCPAxis* top = m_rect->axis(QCPAxis::atTop);
    x->setLabel(QObject::tr("bits per LoRA parameter (codes only)"));
    y->setLabel(QObject::tr("‖BA − B̂Â‖ / ‖BA‖"));
    top->setVisible(true);
    top->setLabel(QObject::tr("truncation rank k"));
    y->setRange(0, 1.05);

    m_truncation = plot->addGraph(x, y);
    m_truncation->setName(QObject::tr("truncation to rank k"));
    m_truncation->setPen(QPen(style::reference2(), 1.5));
    m_truncation->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
    m_loraQuant = plot->addGraph(x, y);
    m_loraQuant->setName(QObject::tr("LoRAQuant: every h, b_h"));
    m_loraQuant->setLineStyle(QCPGraph::lsNone);
    m_loraQuant->setPen(QPen(style::energy()));
    m_loraQuant->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
    m_current = plot->addGraph(x, y);
    m_current->setName(QObject::tr("LoRAQuant: this result"));
    m_current->setLineStyle(QCPGraph::lsNone);
    m_current->setPen(QPen(style::selected(), 2));
    m_current->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, 10));
}

void ReconstructionPanel::setModule(const LearnModule& module)
{
    QVector<double> keys, values;
    for (const ReconstructionPoint& point : module.truncation) {
        keys.push_back(point.bits);
        values.push_back(point.error);
    }
    m_truncation->setData(keys, values, true);
    keys.clear();
    values.clear();
    for (const ReconstructionPoint& point : module.loraQuant) {
        keys.push_back(point.bits);
        values.push_back(point.error);
    }
    m_loraQuant->setData(keys, values);
    // Every choice is known once the bit budget's curves are; until then the legend says so.
    m_loraQuant->setName(keys.isEmpty() ? QObject::tr("every h, b_h: see Bit budget")
                                        : QObject::tr("LoRAQuant: every h, b_h"));
    if (module.current.bitsHigh > 0)
        m_current->setData(QVector<double>{module.current.bits},
                           QVector<double>{module.current.error});
    else
        m_current->data()->clear();
    m_current->setVisible(module.current.bitsHigh > 0);

    // The top axis reads k where the bottom one reads 16 k / r.
    const int rank = std::max(1, int(module.truncation.size()) - 1);
    QCPAxis* x = m_rect->axis(QCPAxis::atBottom);
    x->setRange(0, 16.5);
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(8);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssNone);
    x->setTicker(ticker);
    QCPAxis* top = m_rect->axis(QCPAxis::atTop);
    top->setRange(0, 16.5 * rank / 16.0);
    auto kTicker = QSharedPointer<QCPAxisTickerFixed>::create();
    kTicker->setTickStep(std::max(1.0, double(rank / 4)));
    kTicker->setScaleStrategy(QCPAxisTickerFixed::ssNone);
    top->setTicker(kTicker);
}

QVector<QPointF> ReconstructionPanel::truncationPoints() const
{
    return pointsOf(m_truncation);
}

QVector<QPointF> ReconstructionPanel::loraQuantPoints() const
{
    return pointsOf(m_loraQuant);
}

} // namespace lq::widgets
