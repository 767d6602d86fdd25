#pragma once

#include "core/engine/bitbudget.h"

#include <QObject>
#include <QPointer>
#include <memory>
#include <optional>

namespace lq::gui {

class AdapterDocument;
class Job;

// The bit-budget allocation of one document (core/engine/bitbudget.h): the per-module error
// curves (every h and high bit width 2, 3, 4, without refinement; seconds on a 7B adapter) are
// computed once in the background, on the first budget asked for, and again when the document's
// group settings (size, layout, scale format) change. A budget asked for before they are ready
// is applied when they are (the latest request wins); with the curves in hand an allocation
// takes about a millisecond, so the slider applies at once.
//
// Threads: lives on the UI thread as a child of its document, which makes it. The curves job
// captures the document's shared adapter and a copy of its settings, and writes only to a
// shared_ptr slot that this object reads after the job's finished() signal.
class BudgetCurves : public QObject
{
    Q_OBJECT

public:
    // The paper count's range with high widths 2, 3, 4: every component in 1 bit up to every
    // component in 4 bits (exact for any adapter). The slider is in the paper count.
    static constexpr double kMinimumBits = 1.0;
    static constexpr double kMaximumBits = 4.0;

    // The curves, when they are complete and match the document's current group settings.
    const lq::ErrorCurves* curves() const;
    bool isComputing() const { return m_job != nullptr; }
    Job* job() const { return m_job; }

    // Pushes an ApplyBudgetCommand for `bits` per weight (paper count, clamped to the range) on
    // the document's undo stack: now when the curves are ready, else when they are.
    void apply(double bits);
    // Measures the curves in the background unless they are ready or being measured, and keeps
    // them measured from then on (again after new group settings), without applying a budget.
    // The trade-off view reads a module's unrefined choices from them once they exist.
    void measure();

signals:
    // The curves are complete (after apply() or a change of the group settings).
    void ready();
    // Computing the curves failed; `message` says why (lq::Error names the file and problem).
    void failed(const QString& message);

private:
    // One per document, made by it (AdapterDocument::budgetCurves()).
    friend class AdapterDocument;
    explicit BudgetCurves(AdapterDocument* document);
    void start();
    void onFinished();
    void push(double bits);

    AdapterDocument* m_document;
    std::shared_ptr<const lq::ErrorCurves> m_curves;
    QPointer<Job> m_job;
    std::shared_ptr<std::shared_ptr<const lq::ErrorCurves>> m_slot; // the running job's output
    std::optional<double> m_pending;
    bool m_kept = false; // measure() was called: measure again whenever they go out of date
};

} // namespace lq::gui
