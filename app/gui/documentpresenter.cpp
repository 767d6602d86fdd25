#include "documentpresenter.h"

#include "adapterdocument.h"
#include "adaptertree.h"
#include "adaptertreemodel.h"
#include "applybudgetcommand.h"
#include "appsettings.h"
#include "baselineadvice.h"
#include "budgetcurves.h"
#include "changesettingscommand.h"
#include "errorreporter.h"
#include "errorview.h"
#include "learndata.h"
#include "paretosweep.h"
#include "resultsnapshot.h"
#include "setmodulechoicescommand.h"
#include "setmodulesplitcommand.h"
#include "spectrumview.h"
#include "statuspanel.h"
#include "tradeoffcontroller.h"
#include "viewdata.h"
#include "widgets/heatmapview.h"
#include "widgets/settingspanel.h"
#include "widgets/spectrumplot.h"
#include "workspace.h"

#include <QStatusBar>
#include <QStringList>
#include <QTabWidget>
#include <QTreeView>
#include <QUndoStack>
#include <algorithm>

namespace lq::gui {

namespace {

// The module at the top of the document's list in the tree; -1 when there is none.
int firstShownModule(const AdapterDocument* document)
{
    return document && document->moduleCount() > 0 ? document->displayOrder().front() : -1;
}

} // namespace

DocumentPresenter::DocumentPresenter(Workspace* workspace, AppSettings* settings,
                                     const Views& views, QWidget* dialogParent)
    : QObject(dialogParent), m_workspace(workspace), m_settings(settings), m_views(views),
      m_dialogParent(dialogParent)
{
    // The trade-off plot and the width control beside the spectrum; a width applies to the
    // selection.
    m_tradeOff = new TradeOffController(
        workspace, m_views.spectrum, [this](QString* label) { return selectedModules(label); },
        this);
    connect(m_views.error, &ErrorView::sweepRequested, this, [this] {
        if (AdapterDocument* document = currentDocument())
            document->paretoSweep()->start();
    });
    connect(m_views.error, &ErrorView::moduleClicked, this, [this](int module) {
        if (AdapterDocument* document = currentDocument())
            selectModule(document, module);
    });
    connect(m_views.tabs, &QTabWidget::currentChanged, this, [this] {
        if (learnShown())
            updateLearnView();
    });
    connect(m_views.tree->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &DocumentPresenter::onTreeSelection);
    // Ctrl/shift clicks change what Apply to selected covers, not only the current row.
    connect(m_views.tree->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        QString selection;
        selectedModules(&selection);
        m_views.panel->setSelectedModule(selection);
    });
    m_snapshots = new Snapshots(workspace, this);
    m_views.adapterTree->setSnapshots(m_snapshots);
    m_views.error->setSnapshots(m_snapshots);
    connect(m_snapshots, &Snapshots::changed, this, [this](AdapterDocument* document) {
        if (document != currentDocument())
            return;
        updateErrorView();
        updateTotals();
    });
    m_views.adapterTree->setRuleSource([this](const AdapterDocument& document) {
        return m_views.panel->settings(document.settings());
    });
    connect(m_views.panel, &widgets::SettingsPanel::applyToSelectedRequested, this,
            &DocumentPresenter::applyToSelected);
    connect(m_views.panel, &widgets::SettingsPanel::applyToAllRequested, this,
            &DocumentPresenter::applyToAll);
    connect(m_views.panel, &widgets::SettingsPanel::adapterWideChanged, this,
            &DocumentPresenter::applyAdapterWide);
    connect(m_views.panel, &widgets::SettingsPanel::budgetChosen, this,
            &DocumentPresenter::applyBudget);
    connect(m_views.panel, &widgets::SettingsPanel::budgetPreviewed, this,
            &DocumentPresenter::previewBudget);
    connect(m_views.spectrum->plot(), &widgets::SpectrumPlot::splitDragged, this,
            &DocumentPresenter::onSplitDragged);
    connect(m_views.spectrum->plot(), &widgets::SpectrumPlot::splitChosen, this,
            &DocumentPresenter::onSplitChosen);
}

AdapterDocument* DocumentPresenter::currentDocument() const
{
    return m_workspace->current();
}

bool DocumentPresenter::learnShown() const
{
    return m_views.tabs->currentWidget() == m_views.learn;
}

void DocumentPresenter::reportError(const QString& title, const QString& message)
{
    m_reporter->error(m_dialogParent, title, message);
}

void DocumentPresenter::documentOpened(AdapterDocument* document)
{
    connectDocument(document);
    m_views.tree->expand(m_views.adapterTree->toView(m_views.treeModel->indexOf(document)));
    const std::vector<std::string>& warnings = document->adapter().warnings();
    if (warnings.size() == 1)
        m_views.statusBar->showMessage(QString::fromStdString(warnings.front()), 8000);
    else if (!warnings.empty())
        m_views.statusBar->showMessage(
            tr("%1 warnings, listed in the adapter's tooltip in the tree; the first: %2")
                .arg(warnings.size())
                .arg(QString::fromStdString(warnings.front())),
            8000);
}

void DocumentPresenter::showDocument(AdapterDocument* document)
{
    m_views.panel->setDocumentOpen(document);
    if (!document) {
        m_module = -1;
    } else if (m_views.treeModel->documentOf(m_views.adapterTree->currentSource()) != document) {
        // Opened or switched to from elsewhere: show its first module.
        m_module = firstShownModule(document);
        selectModule(document, m_module);
    }
    updatePanel();
    updateModuleViews();
    updateErrorView();
    updateTotals();
}

void DocumentPresenter::connectDocument(AdapterDocument* document)
{
    connect(document, &AdapterDocument::jobStarted, m_views.status, &StatusPanel::track);
    ParetoSweep* sweep = document->paretoSweep();
    connect(sweep, &ParetoSweep::started, m_views.status, &StatusPanel::track);
    connect(sweep, &ParetoSweep::started, this, [this, document] {
        if (document == currentDocument())
            m_views.error->showTradeOff(document);
    });
    connect(sweep, &ParetoSweep::finished, this,
            [this, document](bool succeeded, const QString& message) {
                if (!message.isEmpty())
                    reportError(tr("Sweep failed"),
                                tr("%1:\n%2").arg(document->displayName(), message));
                else if (!succeeded)
                    m_views.statusBar->showMessage(tr("Sweep cancelled; nothing was kept"), 6000);
                if (document == currentDocument())
                    m_views.error->showTradeOff(document);
            });
    connect(document, &AdapterDocument::moduleChanged, this, [this, document](int module) {
        if (document != currentDocument())
            return;
        if (module == m_module) {
            m_shownLearn = nullptr; // h changed: redraw the learn view when it is shown
            updateModuleViews();
        }
        updateErrorView();
        updateTotals();
    });
    connect(document, &AdapterDocument::resultChanged, this, [this, document] {
        if (document != currentDocument())
            return;
        m_shownLearn = nullptr; // the learn view shows the result's codes
        updateModuleViews();
        updateErrorView();
        updateTotals();
        updatePanel();
    });
    connect(document, &AdapterDocument::settingsChanged, this, [this, document] {
        if (document != currentDocument())
            return;
        m_settings->setLastParameters(document->settings());
        updatePanel();
        updateModuleViews();
    });
    connect(document->budgetCurves(), &BudgetCurves::ready, this, [this, document] {
        if (document != currentDocument())
            return;
        m_shownLearn = nullptr; // the learn view's reconstruction plot shows the curves
        if (learnShown())
            updateLearnView();
    });
    connect(document, &AdapterDocument::baselinesChanged, this, [this, document] {
        if (document == currentDocument()) {
            updateErrorView();
            updateTotals(); // the baselines may beat the result: the totals then say so
        }
    });
    connect(document, &AdapterDocument::baselinesFailed, this,
            [this, document](const QString& message) {
                reportError(tr("Measuring the baselines failed"),
                            tr("%1:\n%2").arg(document->displayName(), message));
            });
    connect(document, &AdapterDocument::jobFinished, this,
            [this, document](Job::Outcome outcome, const QString& message) {
                onJobFinished(*document, outcome, message);
            });
}

void DocumentPresenter::onJobFinished(const AdapterDocument& document, Job::Outcome outcome,
                                      const QString& message)
{
    if (outcome == Job::Outcome::Failed)
        reportError(tr("Quantization failed"), tr("%1:\n%2").arg(document.displayName(), message));
    else if (outcome == Job::Outcome::Cancelled)
        m_views.statusBar->showMessage(
            tr("Cancelled: the previous result stays, marked out of date"), 6000);
    if (outcome != Job::Outcome::Succeeded || !document.validation())
        return;
    const lq::KernelValidationResult& validation = *document.validation();
    if (validation.passed) {
        m_views.statusBar->showMessage(
            tr("CPU kernels validated: %1 modules within %2 of the reference "
               "(largest relative error %3)")
                .arg(validation.modules.size())
                .arg(validation.tolerance)
                .arg(validation.maxRelError, 0, 'g', 2),
            10000);
        return;
    }
    QStringList failed;
    for (const lq::ModuleValidation& module : validation.modules)
        if (!module.passed)
            failed << tr("%1: relative error %2")
                          .arg(QString::fromStdString(module.name))
                          .arg(module.relError, 0, 'g', 3);
    reportError(tr("Kernel validation failed"),
                tr("%1: %n module(s) differ from the scalar reference by more than %2:\n%3",
                   nullptr, int(failed.size()))
                    .arg(document.displayName())
                    .arg(validation.tolerance)
                    .arg(failed.join(QLatin1Char('\n'))));
}

void DocumentPresenter::selectModule(AdapterDocument* document, int module)
{
    const QModelIndex source = m_views.treeModel->indexOf(document, module);
    if (!source.isValid())
        return;
    QModelIndex index = m_views.adapterTree->toView(source);
    if (!index.isValid()) { // filtered out: show it rather than keep the old row current
        m_views.adapterTree->clearFilter();
        index = m_views.adapterTree->toView(source);
    }
    m_views.tree->expand(index.parent());
    m_views.tree->setCurrentIndex(index);
    m_views.tree->scrollTo(index);
}

void DocumentPresenter::onTreeSelection()
{
    const QModelIndex index = m_views.adapterTree->currentSource();
    AdapterDocument* document = m_views.treeModel->documentOf(index);
    const int module = m_views.treeModel->moduleOf(index);
    const bool documentChanged = document != currentDocument();
    const bool layerRow = module < 0 && index.data(AdapterTreeModel::KindRole).toInt() ==
                                            int(AdapterTreeModel::Kind::Layer);
    if (module >= 0)
        m_module = module;
    else if (layerRow) // the views show the layer's first module; Apply changes all of them
        m_module =
            m_views.treeModel->moduleOf(m_views.treeModel->index(0, 0, index.siblingAtColumn(0)));
    else if (documentChanged)
        m_module = firstShownModule(document);
    if (documentChanged)
        m_workspace->setCurrent(document); // updates everything through currentChanged
    else
        updateModuleViews();
}

void DocumentPresenter::updateModuleViews()
{
    AdapterDocument* document = currentDocument();
    const bool valid = document && m_module >= 0 && m_module < document->moduleCount();
    const int module = valid ? m_module : -1;
    QString selection;
    if (valid)
        selectedModules(&selection);
    m_views.panel->setSelectedModule(selection);
    m_views.error->setSelectedModule(document, module);
    m_views.spectrum->showModule(document, module);
    if (!valid) {
        m_views.learn->clear();
        m_shownLearn = nullptr;
    } else if (learnShown()) {
        updateLearnView();
    }
}

std::vector<int> DocumentPresenter::selectedModules(QString* label) const
{
    AdapterDocument* document = currentDocument();
    if (label)
        label->clear();
    if (!document || m_module < 0 || m_module >= document->moduleCount())
        return {};
    if (label)
        *label = m_views.adapterTree->selectionLabel(document);
    return m_views.adapterTree->selectedModules(document);
}

void DocumentPresenter::updateLearnView()
{
    AdapterDocument* document = currentDocument();
    const int module = m_module;
    if (!document || module < 0) {
        m_views.learn->clear();
        return;
    }
    if (m_shownLearn == document && m_shownLearnModule == module)
        return;
    try {
        m_views.learn->setModule(learnModule(*document, module));
        m_shownLearn = document;
        m_shownLearnModule = module;
    } catch (const std::exception& error) {
        reportError(tr("Cannot show the module"), QString::fromStdString(error.what()));
    }
}

void DocumentPresenter::updateErrorView()
{
    m_views.error->showResult(currentDocument(), m_module);
}

void DocumentPresenter::updateTotals()
{
    AdapterDocument* document = currentDocument();
    QString totals = document ? adapterTotals(*document) : tr("No adapter open");
    if (const auto delta = document ? m_snapshots->totalDelta(*document) : std::nullopt)
        totals += tr(" · %1 than pinned (%2)")
                      .arg(*delta <= 0 ? tr("better") : tr("worse"))
                      .arg(QString::number(*delta, 'f', 4)
                               .prepend(*delta > 0 ? QStringLiteral("+") : QString()));
    if (document) {
        const BaselineAdvice advice = baselineAdvice(*document);
        if (!advice.brief.isEmpty())
            totals += QStringLiteral(" · ") + advice.brief;
    }
    m_views.status->setTotals(totals);
}

void DocumentPresenter::pinSnapshot()
{
    AdapterDocument* document = currentDocument();
    if (m_snapshots->pin(document))
        m_views.statusBar->showMessage(
            tr("Pinned: total error %1 at %2 bits; the tree's Δ pin column and the Error view "
               "compare with it")
                .arg(document->shownTotal(), 0, 'f', 4)
                .arg(document->result().avgBitsPaper, 0, 'f', 2),
            8000);
}

void DocumentPresenter::clearSnapshot()
{
    m_snapshots->unpin(currentDocument());
}

void DocumentPresenter::updatePanel()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    const lq::QuantSettings& settings = document->settings();
    lq::QuantSettings shown = settings;
    const bool sameRule = m_panelDocument == document && settings.split == m_panelShown.split &&
                          settings.rho == m_panelShown.rho &&
                          settings.fixedH == m_panelShown.fixedH &&
                          settings.bitsHigh == m_panelShown.bitsHigh;
    if (sameRule) {
        // Only overrides changed (Apply to selected, a drag, a budget): the split and bits the
        // person set stay, ready for the next selection.
        const lq::QuantSettings typed = m_views.panel->settings();
        shown.split = typed.split;
        shown.rho = typed.rho;
        shown.fixedH = typed.fixedH;
        shown.bitsHigh = typed.bitsHigh;
    }
    m_views.panel->setSettings(shown);
    m_panelDocument = document;
    m_panelShown = settings;
    m_views.panel->setBudgetRange(BudgetCurves::kMinimumBits, BudgetCurves::kMaximumBits);
    // The slider shows the budget last applied, or else what the adapter spends now.
    const QUndoStack* stack = document->undoStack();
    const auto* budget =
        stack->index() > 0
            ? dynamic_cast<const ApplyBudgetCommand*>(stack->command(stack->index() - 1))
            : nullptr;
    if (budget)
        m_views.panel->setBudget(budget->budget());
    else if (document->hasResult())
        m_views.panel->setBudget(document->result().avgBitsPaper);
}

void DocumentPresenter::onSplitDragged(int h)
{
    AdapterDocument* document = currentDocument();
    if (!document || m_module < 0)
        return;
    try {
        const lq::ModuleResult preview = document->preview(m_module, h);
        m_views.spectrum->showPreview(moduleSummary(*document, m_module, preview, true));
    } catch (const std::exception& error) {
        reportError(tr("Cannot quantize the module"), QString::fromStdString(error.what()));
    }
}

void DocumentPresenter::onSplitChosen(int h)
{
    AdapterDocument* document = currentDocument();
    if (!document || m_module < 0)
        return;
    if (h == document->effectiveH(m_module)) {
        updateModuleViews(); // back where it started: drop the preview
        return;
    }
    document->undoStack()->push(
        new SetModuleSplitCommand(document, m_module, h, document->bitsHighOverride(m_module)));
}

void DocumentPresenter::applyToSelected()
{
    AdapterDocument* document = currentDocument();
    QString label;
    const std::vector<int> modules = selectedModules(&label);
    if (!document || modules.empty())
        return;
    lq::QuantSettings rule = m_views.panel->settings(document->settings());
    rule.hOverride.clear();
    rule.bitsHighOverride.clear();
    const auto hOf = [&](int module) { return document->hUnder(module, rule); };
    if (modules.size() == 1) {
        document->undoStack()->push(new SetModuleSplitCommand(document, modules.front(),
                                                              hOf(modules.front()), rule.bitsHigh));
        return;
    }
    // One step and one recomputation for the whole selection.
    document->undoStack()->push(SetModuleChoicesCommand::applyRule(document, modules, rule, label));
}

void DocumentPresenter::applyToAll()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    lq::QuantSettings settings = m_views.panel->settings(document->settings());
    settings.hOverride.clear();
    settings.bitsHighOverride.clear();
    settings.refineOverride.clear();
    const QString rule = settings.split == lq::SplitRule::Fixed ? tr("h = %1").arg(settings.fixedH)
                                                                : tr("ρ = %1").arg(settings.rho);
    document->undoStack()->push(new ChangeSettingsCommand(
        document, settings,
        tr("Apply %1, %2 bits to all modules").arg(rule).arg(settings.bitsHigh)));
}

void DocumentPresenter::applyAdapterWide()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    lq::QuantSettings settings = document->settings();
    const lq::QuantSettings shown = m_views.panel->settings(settings);
    QString text;
    if (shown.groupSize != settings.groupSize)
        text = tr("Set group size to %1").arg(shown.groupSize);
    else if (shown.refine != settings.refine)
        text = tr("Set refinement to %1").arg(QString::fromStdString(toString(shown.refine)));
    else
        return;
    settings.groupSize = shown.groupSize;
    settings.refine = shown.refine;
    document->undoStack()->push(new ChangeSettingsCommand(document, settings, text));
}

void DocumentPresenter::previewBudget(double bits)
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    const lq::ErrorCurves* curves = document->budgetCurves()->curves();
    if (!curves) {
        m_views.panel->setBudgetPrediction(tr("Let go to apply; the first budget measures each "
                                              "module's error curves in the background."));
        return;
    }
    // About a millisecond for 224 modules (bench_budget): cheap enough for every slider step.
    try {
        const lq::BudgetAllocation allocation = lq::allocateBudget(
            *curves, std::clamp(bits, BudgetCurves::kMinimumBits, BudgetCurves::kMaximumBits),
            lq::BitCount::Paper);
        m_views.panel->setBudgetPrediction(
            tr("Buys %1 bits paper, %2 true; error %3 (without refinement)")
                .arg(allocation.avgBitsPaper, 0, 'f', 3)
                .arg(allocation.avgBitsTrue, 0, 'f', 3)
                .arg(allocation.relErrTotal, 0, 'f', 4));
    } catch (const std::exception& error) {
        m_views.panel->setBudgetPrediction(QString::fromStdString(error.what()));
    }
}

void DocumentPresenter::applyBudget(double bits)
{
    m_views.panel->setBudgetPrediction(QString());
    if (AdapterDocument* document = currentDocument()) {
        BudgetCurves* curves = document->budgetCurves();
        curves->apply(bits);
        // The first budget waits for the error curves: show that work with its Cancel button.
        if (Job* job = curves->job())
            m_views.status->track(job);
    }
}

void DocumentPresenter::quantize()
{
    AdapterDocument* document = currentDocument();
    if (!document)
        return;
    document->quantize(true);
    m_views.statusBar->showMessage(
        tr("Quantizing and validating the CPU kernels in the background"), 8000);
}

} // namespace lq::gui
