#include "tradeoffcontroller.h"

#include "adapterdocument.h"
#include "baselineadvice.h"
#include "budgetcurves.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/bitbudget.h"
#include "core/engine/reparameterize.h"
#include "job.h"
#include "setmodulesplitcommand.h"
#include "spectrumview.h"
#include "widgets/spectrumplot.h"
#include "widgets/tradeoffplot.h"
#include "workspace.h"

#include <QUndoStack>
#include <algorithm>
#include <cmath>
#include <mutex>

namespace lq::gui {

namespace {

// The widths the error curves hold (BudgetCurves measures 2, 3 and 4); the refined points are
// measured for the same ones, plus the module's own width when it is another.
const std::vector<int> kCurveWidths = {2, 3, 4};

QString refinementName(lq::Refinement refine)
{
    switch (refine) {
    case lq::Refinement::Paper:
        return TradeOffController::tr("Paper");
    case lq::Refinement::Best:
        return TradeOffController::tr("Best");
    case lq::Refinement::None:
        break;
    }
    return TradeOffController::tr("none");
}

} // namespace

struct TradeOffController::Slot
{
    std::mutex mutex;
    std::vector<Point> points; // appended by the job, one per choice measured
};

TradeOffController::TradeOffController(Workspace* workspace, SpectrumView* view,
                                       Selection selection, QObject* parent)
    : QObject(parent), m_workspace(workspace), m_view(view), m_selection(std::move(selection))
{
    connect(view, &SpectrumView::moduleShown, this, &TradeOffController::show);
    connect(view, &SpectrumView::bitsHighRequested, this, &TradeOffController::setWidth);
    connect(view, &SpectrumView::bitCountChanged, this, &TradeOffController::refresh);
    connect(view->tradeOffPlot(), &widgets::TradeOffPlot::choiceClicked, this,
            &TradeOffController::chooseChoice);
    connect(view->plot(), &widgets::SpectrumPlot::bitsHighStepped, this,
            &TradeOffController::stepWidth);
    connect(view->plot(), &widgets::SpectrumPlot::splitDragged, this,
            [this](int h) { updateMark(h); });
}

TradeOffController::~TradeOffController()
{
    // The views may be gone already (the window deletes its tabs first): only stop the work.
    if (m_job)
        m_job->cancel();
}

lq::Refinement TradeOffController::refinementFor(const lq::QuantSettings& settings)
{
    return settings.refine == lq::Refinement::None ? lq::Refinement::Best : settings.refine;
}

TradeOffController::RefinedKey TradeOffController::keyOf(const lq::QuantSettings& settings) const
{
    return {settings.groupSize, settings.layout, settings.scaleFormat, refinementFor(settings)};
}

bool TradeOffController::refinedComplete() const
{
    const auto found = m_refined.find(m_module);
    return found != m_refined.end() && found->second.complete;
}

void TradeOffController::show(const AdapterDocument* document, int module)
{
    AdapterDocument* current = m_workspace->current();
    if (current != document)
        current = nullptr; // a document the workspace no longer shows
    if (current != m_document) {
        cancelRefined();
        m_refined.clear();
        m_refinedFailure.clear();
        follow(current);
    }
    m_module = current ? module : -1;
    refresh();
}

void TradeOffController::follow(AdapterDocument* document)
{
    for (const QMetaObject::Connection& connection : m_connections)
        disconnect(connection);
    m_connections.clear();
    m_document = document;
    if (!document)
        return;
    m_key = keyOf(document->settings());
    m_connections.push_back(connect(document->budgetCurves(), &BudgetCurves::ready, this,
                                    &TradeOffController::refresh));
    m_connections.push_back(connect(
        document->budgetCurves(), &BudgetCurves::failed, this, [this](const QString& message) {
            m_view->tradeOffPlot()->setMessage(tr("Measuring the choices failed: %1").arg(message));
        }));
    m_connections.push_back(
        connect(document, &AdapterDocument::baselinesChanged, this, &TradeOffController::refresh));
}

const TradeOffController::Point* TradeOffController::find(const std::vector<Point>& points, int h,
                                                          int bitsHigh) const
{
    for (const Point& point : points)
        if (point.h == h && (h == 0 || point.bitsHigh == bitsHigh))
            return &point;
    return nullptr;
}

std::vector<TradeOffController::Point> TradeOffController::unrefinedPoints() const
{
    std::vector<Point> points;
    const lq::ErrorCurves* curves = m_document->budgetCurves()->curves();
    if (!curves || std::size_t(m_module) >= curves->modules.size()) {
        const auto found = m_refined.find(m_module);
        return found == m_refined.end() ? points : found->second.plain;
    }
    const lq::ModuleCurve& curve = curves->modules[std::size_t(m_module)];
    const double weights = double(curve.r) * double(curve.m + curve.n);
    if (!(weights > 0))
        return points;
    for (const lq::BudgetOption& option : curve.options) {
        Point point;
        point.h = option.h;
        point.bitsHigh = option.bitsHigh;
        point.bitsPaper = double(option.bitsPaper) / weights;
        point.bitsTrue = double(option.bitsTrue) / weights;
        point.error = curve.normSq > 0 ? std::sqrt(option.errSq / curve.normSq) : 0.0;
        points.push_back(point);
    }
    return points;
}

widgets::TradeOffPlot::Choice TradeOffController::choiceOf(const Point& point) const
{
    return {point.h, point.bitsHigh, m_view->trueBits() ? point.bitsTrue : point.bitsPaper,
            point.error};
}

void TradeOffController::refresh()
{
    widgets::TradeOffPlot* plot = m_view->tradeOffPlot();
    if (!m_document || m_module < 0 || m_module >= m_document->moduleCount()) {
        cancelRefined();
        plot->clear();
        plot->setMessage(m_document ? tr("Select a module in the tree") : tr("No adapter open"));
        m_view->setNote(QString());
        return;
    }
    const RefinedKey key = keyOf(m_document->settings());
    if (key != m_key) {
        // Other groups or another refinement: every refined point is another module's now.
        cancelRefined();
        m_refined.clear();
        m_refinedFailure.clear();
        m_key = key;
    }
    if (m_job && m_jobModule != m_module)
        cancelRefined();
    if (!refinedComplete() && !m_job)
        startRefined();

    const std::vector<Point> unrefined = unrefinedPoints();
    std::vector<widgets::TradeOffPlot::Choice> plain, refined;
    for (const Point& point : unrefined)
        plain.push_back(choiceOf(point));
    const auto found = m_refined.find(m_module);
    if (found != m_refined.end())
        for (const Point& point : found->second.points)
            refined.push_back(choiceOf(point));
    const bool trueBits = m_view->trueBits();
    plot->setChoices(tr("Choices of %1").arg(m_document->moduleLabel(m_module)),
                     trueBits ? tr("bits per weight of this module (true count)")
                              : tr("bits per weight of this module (paper count)"),
                     plain, refined, refinementName(m_key.refine));

    std::vector<widgets::TradeOffPlot::Reference> references;
    const auto addReference = [&](const BaselineErrors* baseline, const QString& name) {
        const std::size_t i = std::size_t(m_module);
        if (baseline && i < baseline->perModule.size() && i < baseline->perModuleBitsTrue.size() &&
            i < baseline->perModuleBitsPaper.size())
            references.push_back(
                {name, trueBits ? baseline->perModuleBitsTrue[i] : baseline->perModuleBitsPaper[i],
                 baseline->perModule[i]});
    };
    addReference(m_document->binaryBaseline(), tr("binary (whole adapter)"));
    addReference(m_document->rtn2Baseline(), tr("RTN-2 (whole adapter)"));
    plot->setReferences(references);
    plot->setMessage(unrefined.empty() && refined.empty()
                         ? tr("Measuring the error of every choice in the background…")
                         : QString());
    updateMark();
}

void TradeOffController::updateMark(std::optional<int> draggedH)
{
    widgets::TradeOffPlot* plot = m_view->tradeOffPlot();
    if (!m_document || m_module < 0 || m_module >= m_document->moduleCount())
        return;
    if (!draggedH && m_view->plot()->isDragging())
        return; // the mark is the drag's until the person lets go
    const int h = draggedH.value_or(m_document->effectiveH(m_module));
    const int bitsHigh = m_document->effectiveBitsHigh(m_module);
    const lq::Refinement refine = m_document->settings().refine;
    const bool refinedDocument = refine != lq::Refinement::None;
    const lq::ModuleResult* result = m_document->moduleResult(m_module);
    const bool updating = m_document->resultState() == AdapterDocument::ResultState::Computing;
    const QString choice = h == 0 ? tr("h = 0") : tr("h = %1, %2-bit high").arg(h).arg(bitsHigh);

    std::optional<widgets::TradeOffPlot::Choice> mark;
    QString label, shown;
    if (!draggedH && result && result->h == h && result->bitsHigh == bitsHigh) {
        const double weights = double(result->r) * double(result->m + result->n);
        mark = widgets::TradeOffPlot::Choice{
            h, bitsHigh, (m_view->trueBits() ? result->bitsTrue : result->bitsPaper) / weights,
            m_document->shownError(m_module)};
        label = tr("current: %1").arg(choice);
        shown = updating ? tr("★ the module's last result; a new one is being computed")
                : refinedDocument
                    ? tr("★ the module's result, with refinement %1").arg(refinementName(refine))
                    : tr("★ the module's result, without refinement");
    } else {
        // Dragged, or chosen but not quantized yet: the measured point of that choice.
        const auto found = m_refined.find(m_module);
        const Point* point = refinedDocument && !draggedH && found != m_refined.end()
                                 ? find(found->second.points, h, bitsHigh)
                                 : nullptr;
        const bool refinedPoint = point != nullptr;
        const std::vector<Point> unrefined = unrefinedPoints();
        if (!point)
            point = find(unrefined, h, bitsHigh);
        if (point)
            mark = choiceOf(*point);
        label = draggedH ? tr("dragging: %1").arg(choice) : tr("current: %1").arg(choice);
        shown = refinedPoint      ? tr("★ the refined figure; the result follows")
                : refinedDocument ? tr("★ the unrefined figure; the refined one follows")
                                  : tr("★ without refinement");
    }
    // Nothing measured yet: the plot's message says so, and no lone star stands under it.
    if (plot->unrefined().empty() && plot->refined().empty())
        mark.reset();
    plot->setCurrent(mark, label);

    QStringList notes;
    notes << shown;
    const auto found = m_refined.find(m_module);
    const int measured = found == m_refined.end() ? 0 : int(found->second.points.size());
    if (m_job)
        notes << tr("filled points: refinement %1, %2 measured…")
                     .arg(refinementName(m_key.refine))
                     .arg(measured);
    else if (measured > 0)
        notes << tr("filled points: refinement %1").arg(refinementName(m_key.refine));
    if (!m_refinedFailure.isEmpty())
        notes << tr("measuring the refined points failed: %1").arg(m_refinedFailure);
    QString note = notes.join(QStringLiteral(" · ")).toHtmlEscaped();
    const BaselineAdvice advice = baselineAdvice(*m_document);
    if (!advice.text.isEmpty())
        note += QStringLiteral("<br><span style=\"color:#b00020\">%1</span>")
                    .arg(advice.text.toHtmlEscaped());
    m_view->setNote(note);
}

void TradeOffController::startRefined()
{
    if (!m_document || m_module < 0)
        return;
    const lq::LoraModule& module = m_document->module(m_module);
    Refined& cached = m_refined[m_module];
    // The module's own width first, then the curves' widths; h = 0 once.
    const int own = m_document->effectiveBitsHigh(m_module);
    std::vector<int> widths = {own};
    for (int width : kCurveWidths)
        if (width != own)
            widths.push_back(width);
    struct Wanted
    {
        int h, width;
        bool refined;
    };
    std::vector<Wanted> choices;
    // The unrefined points first (milliseconds each), unless the curves hold them.
    const bool curvesReady = m_document->budgetCurves()->curves() != nullptr;
    for (const bool refined : {false, true}) {
        if (!refined && curvesReady)
            continue;
        const std::vector<Point>& have = refined ? cached.points : cached.plain;
        if (!find(have, 0, own))
            choices.push_back({0, own, refined});
        for (int width : widths)
            for (int h = 1; h <= module.r; ++h)
                if (!find(have, h, width))
                    choices.push_back({h, width, refined});
    }
    if (choices.empty()) {
        cached.complete = true;
        return;
    }

    lq::QuantSettings settings = m_document->settings();
    settings.hOverride.clear();
    settings.bitsHighOverride.clear();
    lq::QuantSettings plainSettings = settings;
    plainSettings.refine = lq::Refinement::None;
    settings.refine = m_key.refine;
    const std::shared_ptr<const lq::Adapter> adapter = m_document->sharedAdapter();
    const int index = m_module;
    auto slot = std::make_shared<Slot>();
    m_slot = slot;
    m_jobModule = m_module;
    m_job = new Job(
        tr("Measuring the refined choices of %1").arg(m_document->moduleLabel(m_module)),
        [adapter, index, settings, plainSettings, choices, slot](const lq::ProgressFn& progress) {
            const lq::LoraModule& module = adapter->modules().at(std::size_t(index));
            const lq::ModuleFactors factors = adapter->factors(std::size_t(index));
            const lq::ModuleReparam reparam = lq::reparameterize(factors.B, factors.A);
            const double weights = double(module.parameterCount());
            const int total = int(choices.size());
            for (int k = 0; k < total; ++k) {
                if (!progress(k, total))
                    return false;
                const Wanted& wanted = choices[std::size_t(k)];
                const lq::ModuleResult result =
                    lq::quantizeModule(module, factors, reparam, wanted.h, wanted.width,
                                       wanted.refined ? settings : plainSettings);
                Point point;
                point.h = wanted.h;
                point.bitsHigh = wanted.width;
                point.refined = wanted.refined;
                point.bitsPaper = weights > 0 ? result.bitsPaper / weights : 0.0;
                point.bitsTrue = weights > 0 ? result.bitsTrue / weights : 0.0;
                point.error = result.relErr;
                const std::lock_guard lock(slot->mutex);
                slot->points.push_back(point);
            }
            return progress(total, total);
        },
        this);
    Job* job = m_job;
    connect(job, &Job::progressed, this, [this, job] {
        if (job == m_job)
            takeRefined();
    });
    connect(job, &Job::finished, this, [this, job](Job::Outcome outcome) {
        job->deleteLater();
        if (job != m_job)
            return; // cancelled for another module or other settings
        takeRefined();
        m_job = nullptr;
        // A failure is not tried again for this module: the same work would fail the same way.
        if (outcome != Job::Outcome::Cancelled)
            m_refined[m_jobModule].complete = true;
        if (outcome == Job::Outcome::Failed)
            m_refinedFailure = job->errorMessage();
        refresh();
    });
    job->start();
}

void TradeOffController::takeRefined()
{
    if (!m_slot)
        return;
    std::vector<Point> taken;
    {
        const std::lock_guard lock(m_slot->mutex);
        taken.swap(m_slot->points);
    }
    if (taken.empty())
        return;
    Refined& cached = m_refined[m_jobModule];
    for (const Point& point : taken)
        (point.refined ? cached.points : cached.plain).push_back(point);
    if (m_jobModule == m_module && m_job)
        refresh();
}

void TradeOffController::cancelRefined()
{
    if (!m_job)
        return;
    // What it measured stays; the rest is measured when the module comes back.
    Job* job = m_job;
    m_job = nullptr;
    takeRefined();
    job->cancel();
    m_slot.reset(); // its finished() is ignored; it deletes itself
}

void TradeOffController::chooseChoice(int h, int bitsHigh)
{
    if (!m_document || m_module < 0)
        return;
    if (h == 0) // no high part: the width does not matter, so it stays
        bitsHigh = m_document->effectiveBitsHigh(m_module);
    if (h == m_document->effectiveH(m_module) &&
        bitsHigh == m_document->effectiveBitsHigh(m_module))
        return;
    m_document->undoStack()->push(new SetModuleSplitCommand(m_document, m_module, h, bitsHigh));
}

void TradeOffController::setWidth(int bitsHigh)
{
    if (!m_document || m_module < 0)
        return;
    QString label;
    std::vector<int> modules = m_selection ? m_selection(&label) : std::vector<int>{};
    if (modules.empty())
        modules = {m_module};
    std::vector<int> changed;
    for (int module : modules)
        if (m_document->effectiveBitsHigh(module) != bitsHigh)
            changed.push_back(module);
    if (changed.empty())
        return;
    m_document->undoStack()->push(SetModuleSplitCommand::width(
        m_document, changed, bitsHigh, changed.size() == modules.size() ? label : QString()));
}

void TradeOffController::stepWidth(int step)
{
    if (!m_document || m_module < 0)
        return;
    const int bitsHigh = std::clamp(m_document->effectiveBitsHigh(m_module) + step, 1, 8);
    setWidth(bitsHigh);
}

} // namespace lq::gui
