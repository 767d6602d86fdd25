#include "errorview.h"

#include "adapterdocument.h"
#include "paretosweep.h"
#include "viewdata.h"
#include "widgets/errorbarplot.h"
#include "widgets/paretoplot.h"
#include "widgets/plotstyle.h"

#include <QHBoxLayout>
#include <QPushButton>
#include <QVBoxLayout>

namespace lq::gui {

ErrorView::ErrorView(QWidget* parent) : QSplitter(Qt::Vertical, parent)
{
    setObjectName(QStringLiteral("errorView"));
    setChildrenCollapsible(false);
    m_errors = new widgets::ErrorBarPlot(this);
    m_errors->setObjectName(QStringLiteral("errorPlot"));
    addWidget(m_errors);

    auto* paretoPage = new QWidget(this);
    auto* paretoLayout = new QVBoxLayout(paretoPage);
    paretoLayout->setContentsMargins(6, 0, 6, 0);
    auto* sweepRow = new QHBoxLayout;
    m_sweepButton = new QPushButton(tr("Compute &Trade-off"), paretoPage);
    m_sweepButton->setObjectName(QStringLiteral("sweepButton"));
    m_sweepButton->setToolTip(tr("Quantize the adapter with every method over a range of bit "
                                 "widths in the background (loraquant sweep) and plot total "
                                 "error against average bits"));
    connect(m_sweepButton, &QPushButton::clicked, this, &ErrorView::sweepRequested);
    sweepRow->addWidget(m_sweepButton);
    sweepRow->addStretch(1);
    paretoLayout->addLayout(sweepRow);
    m_pareto = new widgets::ParetoPlot(paretoPage);
    m_pareto->setObjectName(QStringLiteral("paretoPlot"));
    paretoLayout->addWidget(m_pareto, 1);
    addWidget(paretoPage);
    setStretchFactor(0, 1);
    setStretchFactor(1, 1);

    connect(m_errors, &widgets::ErrorBarPlot::moduleClicked, this, [this](int position) {
        if (m_document)
            emit moduleClicked(m_document->displayOrder().at(std::size_t(position)));
    });
}

void ErrorView::showResult(AdapterDocument* document, int module)
{
    m_document = document;
    if (!document || !document->hasResult()) {
        m_errors->setModules(QString(), {}, {});
        m_errors->clearReferences();
        showTradeOff(document);
        return;
    }
    const lq::QuantResult& result = document->result();
    // Every per-module series goes to the plot in display order, as the tree lists them.
    const std::vector<int>& order = document->displayOrder();
    const auto inDisplayOrder = [&order](const std::vector<double>& perModule) {
        if (perModule.size() != order.size())
            return perModule; // not one value per module: the plot drops it
        std::vector<double> sorted;
        for (int i : order)
            sorted.push_back(perModule[std::size_t(i)]);
        return sorted;
    };
    QStringList names;
    std::vector<double> errors;
    for (int i : order) {
        names.append(document->moduleLabel(i));
        errors.push_back(document->shownError(i));
    }
    const QString title =
        !document->packedOrigin()
            ? tr("Relative error per module: %1 bits/weight (paper), %2 (true); total error %3")
        : document->recordedTotal()
            // Short: the title has one line of the plot's width.
            ? tr("Error against the original, as recorded: %1 bits/weight (paper), %2 (true); "
                 "total %3")
            : tr("Error (as recorded; changed modules against the decoded): %1 bits/weight "
                 "(paper), %2 (true); total %3");
    m_errors->setModules(title.arg(result.avgBitsPaper, 0, 'f', 2)
                             .arg(result.avgBitsTrue, 0, 'f', 2)
                             .arg(document->shownTotal(), 0, 'f', 4),
                         names, errors, layerGroups(*document));
    m_errors->clearReferences();
    if (const auto& rtn = document->rtn2Baseline())
        m_errors->setReference(
            tr("whole adapter, RTN 2-bit, no SVD (total %1)").arg(rtn->total, 0, 'f', 3),
            inDisplayOrder(rtn->perModule), widgets::style::reference1());
    if (const auto& binary = document->binaryBaseline())
        m_errors->setReference(
            tr("whole adapter, binary 1-bit, no SVD (total %1)").arg(binary->total, 0, 'f', 3),
            inDisplayOrder(binary->perModule), widgets::style::reference2());
    setSelectedModule(document, module);
    showTradeOff(document);
}

void ErrorView::setSelectedModule(const AdapterDocument* document, int module)
{
    m_errors->setSelected(document && module >= 0 ? document->displayPosition(module) : -1);
}

void ErrorView::showTradeOff(AdapterDocument* document)
{
    if (!document) {
        m_sweepButton->setEnabled(false);
        m_pareto->clear();
        m_pareto->setMessage(tr("Open an adapter"));
        return;
    }
    const ParetoSweep* sweep = document->paretoSweep();
    m_sweepButton->setEnabled(!sweep->isRunning());
    const lq::QuantSettings& settings = document->settings();
    const QString groups =
        tr("groups of %1, %2, %3 scales")
            .arg(settings.groupSize)
            .arg(settings.layout == lq::GroupLayout::Flattened ? tr("flattened")
                                                               : tr("per component"))
            .arg(settings.scaleFormat == lq::ScaleFormat::F16 ? tr("fp16") : tr("fp32"));
    const QString xLabel = tr("average bits per weight, true count (%1)").arg(groups);
    if (const lq::SweepResult* result = sweep->result()) {
        m_pareto->setSeries(tr("Total error against bits, every method"), xLabel,
                            paretoSeries(*result));
    } else {
        m_pareto->setSeries(tr("Total error against bits"), xLabel, {});
        m_pareto->setMessage(sweep->isRunning()
                                 ? tr("Sweeping every method… (progress in the status bar)")
                             : !sweep->lastError().isEmpty()
                                 ? tr("The sweep failed: %1").arg(sweep->lastError())
                                 : tr("Compute Trade-off quantizes with every method over a "
                                      "range of bit widths"));
    }
    if (document->hasResult())
        m_pareto->setCurrent(document->result().avgBitsTrue, document->shownTotal(),
                             tr("current: %1 bits, %2")
                                 .arg(document->result().avgBitsTrue, 0, 'f', 2)
                                 .arg(document->shownTotal(), 0, 'f', 3));
    else
        m_pareto->setCurrent(0, 0, QString());
}

} // namespace lq::gui
