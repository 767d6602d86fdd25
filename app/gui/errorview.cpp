#include "errorview.h"

#include "adapterdocument.h"
#include "paretosweep.h"
#include "resultsnapshot.h"
#include "viewdata.h"
#include "widgets/errorbarplot.h"
#include "widgets/paretoplot.h"
#include "widgets/plotstyle.h"

#include <QButtonGroup>
#include <QHBoxLayout>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>

namespace lq::gui {

ErrorView::ErrorView(QWidget* parent) : QSplitter(Qt::Vertical, parent)
{
    setObjectName(QStringLiteral("errorView"));
    setChildrenCollapsible(false);
    auto* errorsPage = new QWidget(this);
    auto* errorsLayout = new QVBoxLayout(errorsPage);
    errorsLayout->setContentsMargins(6, 4, 6, 0);
    errorsLayout->setSpacing(2);
    auto* groupRow = new QHBoxLayout;
    m_groupButtons = new QButtonGroup(this);
    const std::pair<ErrorGrouping, QString> choices[] = {{ErrorGrouping::Modules, tr("Modules")},
                                                         {ErrorGrouping::Layers, tr("By layer")},
                                                         {ErrorGrouping::Kinds, tr("By kind")}};
    const char* const names[] = {"groupModules", "groupLayers", "groupKinds"};
    for (const auto& [grouping, text] : choices) {
        auto* button = new QToolButton(errorsPage);
        button->setText(text);
        button->setCheckable(true);
        button->setAutoRaise(false);
        button->setObjectName(QLatin1String(names[int(grouping)]));
        button->setChecked(grouping == m_grouping);
        m_groupButtons->addButton(button, int(grouping));
        groupRow->addWidget(button);
    }
    m_groupButtons->button(int(ErrorGrouping::Layers))
        ->setToolTip(tr("One bar per layer: its modules' errors weighted by their energy "
                        "‖ΔW‖², as the adapter's total weighs them"));
    m_groupButtons->button(int(ErrorGrouping::Kinds))
        ->setToolTip(tr("One bar per projection kind (all q_proj, all v_proj, …): energy-"
                        "weighted as the adapter's total"));
    connect(m_groupButtons, &QButtonGroup::idClicked, this,
            [this](int id) { setGrouping(ErrorGrouping(id)); });
    groupRow->addStretch(1);
    errorsLayout->addLayout(groupRow);
    m_errors = new widgets::ErrorBarPlot(errorsPage);
    m_errors->setObjectName(QStringLiteral("errorPlot"));
    errorsLayout->addWidget(m_errors, 1);
    addWidget(errorsPage);

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

    connect(m_errors, &widgets::ErrorBarPlot::moduleClicked, this, [this](int bar) {
        if (!m_document || bar < 0 || bar >= int(m_groups.size()))
            return;
        // A layer's or kind's bar selects its worst module: what to look at first.
        const std::vector<int>& modules = m_groups[std::size_t(bar)].modules;
        int worst = modules.front();
        for (int module : modules)
            if (m_document->hasResult() &&
                m_document->shownError(module) > m_document->shownError(worst))
                worst = module;
        emit moduleClicked(worst);
    });
}

void ErrorView::setGrouping(ErrorGrouping grouping)
{
    if (QAbstractButton* button = m_groupButtons->button(int(grouping)))
        button->setChecked(true);
    if (grouping == m_grouping)
        return;
    m_grouping = grouping;
    showResult(m_document, m_module);
}

int ErrorView::barOf(int module) const
{
    for (std::size_t bar = 0; bar < m_groups.size(); ++bar)
        for (int member : m_groups[bar].modules)
            if (member == module)
                return int(bar);
    return -1;
}

void ErrorView::showResult(AdapterDocument* document, int module)
{
    m_document = document;
    m_module = module;
    m_groups.clear();
    if (!document || !document->hasResult()) {
        m_errors->setModules(QString(), {}, {});
        m_errors->clearReferences();
        showTradeOff(document);
        return;
    }
    const lq::QuantResult& result = document->result();
    m_groups = groupModules(*document, m_grouping);
    std::vector<double> shown(std::size_t(document->moduleCount()));
    for (int i = 0; i < document->moduleCount(); ++i)
        shown[std::size_t(i)] = document->shownError(i);
    // Per bar: a module's own value, or its group's energy-weighted one.
    const auto perBar = [&](const std::vector<double>& perModule) {
        std::vector<double> bars;
        if (perModule.size() != shown.size())
            return bars; // not one value per module: the plot drops it
        for (const ErrorGroup& group : m_groups)
            bars.push_back(group.modules.size() == 1
                               ? perModule[std::size_t(group.modules[0])]
                               : combinedError(*document, group.modules, perModule));
        return bars;
    };
    QStringList names, labels;
    for (const ErrorGroup& group : m_groups) {
        if (m_grouping == ErrorGrouping::Modules) {
            names.append(group.label);
            const lq::LoraModule& m = document->module(group.modules.front());
            labels.append(QString::fromStdString(m.kind.empty() ? m.name : m.kind));
        } else {
            const int count = int(group.modules.size());
            names.append(tr("%1 (%2)").arg(
                m_grouping == ErrorGrouping::Layers && group.label != QLatin1String("other")
                    ? tr("layer %1").arg(group.label.mid(1))
                    : group.label,
                count == 1 ? tr("1 module") : tr("%1 modules").arg(count)));
            labels.append(group.label);
        }
    }
    // One line of the plot's width: the groups' titles say no more than the modules' do.
    const QString title =
        m_grouping == ErrorGrouping::Layers
            ? tr("Error per layer, energy-weighted: %1 bits/weight (paper), %2 (true); total %3")
        : m_grouping == ErrorGrouping::Kinds
            ? tr("Error per kind, energy-weighted: %1 bits/weight (paper), %2 (true); total %3")
        : !document->packedOrigin()
            ? tr("Relative error per module: %1 bits/weight (paper), %2 (true); total error %3")
        : document->recordedTotal()
            ? tr("Error against the original, as recorded: %1 bits/weight (paper), %2 (true); "
                 "total %3")
            : tr("Error (as recorded; changed modules against the decoded): %1 bits/weight "
                 "(paper), %2 (true); total %3");
    std::vector<std::pair<int, QString>> ticks;
    if (m_grouping == ErrorGrouping::Modules)
        ticks = layerGroups(*document);
    else
        for (std::size_t bar = 0; bar < m_groups.size(); ++bar)
            ticks.emplace_back(int(bar), m_groups[bar].label);
    m_errors->setModules(title.arg(result.avgBitsPaper, 0, 'f', 2)
                             .arg(result.avgBitsTrue, 0, 'f', 2)
                             .arg(document->shownTotal(), 0, 'f', 4),
                         names, perBar(shown), ticks);
    m_errors->setBarLabels(labels);
    m_errors->setAxisLabel(m_grouping == ErrorGrouping::Modules  ? tr("module (ticks mark layers)")
                           : m_grouping == ErrorGrouping::Layers ? tr("layer")
                                                                 : tr("projection kind"));
    m_errors->clearReferences();
    if (const auto& rtn = document->rtn2Baseline())
        m_errors->setReference(
            tr("whole adapter, RTN 2-bit, no SVD (total %1)").arg(rtn->total, 0, 'f', 3),
            perBar(rtn->perModule), widgets::style::reference1());
    if (const auto& binary = document->binaryBaseline())
        m_errors->setReference(
            tr("whole adapter, binary 1-bit, no SVD (total %1)").arg(binary->total, 0, 'f', 3),
            perBar(binary->perModule), widgets::style::reference2());
    if (const ResultSnapshot* snapshot = m_snapshots ? m_snapshots->of(document) : nullptr)
        m_errors->setReference(tr("pinned snapshot, %1 bits (total %2)")
                                   .arg(snapshot->bitsPaper, 0, 'f', 2)
                                   .arg(snapshot->total, 0, 'f', 4),
                               perBar(snapshot->errors), widgets::style::marker());
    setSelectedModule(document, module);
    showTradeOff(document);
}

void ErrorView::setSelectedModule(const AdapterDocument* document, int module)
{
    if (document == m_document)
        m_module = module;
    m_errors->setSelected(document && document == m_document && module >= 0 ? barOf(module) : -1);
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
