#include "budgetcurves.h"

#include "adapterdocument.h"
#include "applybudgetcommand.h"
#include "job.h"

#include <QUndoStack>
#include <algorithm>

namespace lq::gui {
namespace {

bool sameGroups(const lq::ErrorCurves& curves, const lq::QuantSettings& settings)
{
    return curves.groupSize == settings.groupSize && curves.layout == settings.layout &&
           curves.scaleFormat == settings.scaleFormat;
}

} // namespace

BudgetCurves::BudgetCurves(AdapterDocument* document) : QObject(document), m_document(document)
{
    // New group settings make the curves' true bit counts (and errors) another adapter's.
    connect(document, &AdapterDocument::settingsChanged, this, [this] {
        if (m_curves && !sameGroups(*m_curves, m_document->settings())) {
            m_curves.reset();
            if (m_kept)
                start();
        }
    });
}

const lq::ErrorCurves* BudgetCurves::curves() const
{
    return m_curves && sameGroups(*m_curves, m_document->settings()) ? m_curves.get() : nullptr;
}

void BudgetCurves::apply(double bits)
{
    bits = std::clamp(bits, kMinimumBits, kMaximumBits);
    if (curves()) {
        push(bits);
        return;
    }
    m_pending = bits;
    start();
}

void BudgetCurves::measure()
{
    m_kept = true;
    if (!curves())
        start();
}

void BudgetCurves::start()
{
    if (m_job)
        return;
    auto slot = std::make_shared<std::shared_ptr<const lq::ErrorCurves>>();
    m_slot = slot;
    const std::shared_ptr<const lq::Adapter> adapter = m_document->sharedAdapter();
    const lq::QuantSettings settings = m_document->settings();
    m_job = new Job(
        tr("Measuring error curves for the bit budget"),
        [adapter, settings, slot](const lq::ProgressFn& progress) {
            auto curves = std::make_shared<lq::ErrorCurves>(
                lq::computeErrorCurves(*adapter, settings, {2, 3, 4}, progress));
            if (curves->cancelled)
                return false;
            *slot = std::move(curves);
            return true;
        },
        this);
    connect(m_job, &Job::finished, this, &BudgetCurves::onFinished);
    m_job->start();
}

void BudgetCurves::onFinished()
{
    Job* job = m_job;
    m_job = nullptr;
    const Job::Outcome outcome = job->outcome();
    const QString message = job->errorMessage();
    job->deleteLater();
    if (outcome == Job::Outcome::Failed) {
        m_pending.reset();
        emit failed(message);
        return;
    }
    if (outcome == Job::Outcome::Succeeded)
        m_curves = *m_slot;
    m_slot.reset();
    if (!curves()) {
        // The group settings changed while the job ran (or it was cancelled): measure again if
        // a budget is waiting.
        if (m_pending || (m_kept && outcome != Job::Outcome::Cancelled))
            start();
        return;
    }
    emit ready();
    if (m_pending) {
        const double bits = *m_pending;
        m_pending.reset();
        push(bits);
    }
}

void BudgetCurves::push(double bits)
{
    const lq::BudgetAllocation allocation =
        lq::allocateBudget(*curves(), bits, lq::BitCount::Paper);
    m_document->undoStack()->push(new ApplyBudgetCommand(m_document, allocation));
}

} // namespace lq::gui
