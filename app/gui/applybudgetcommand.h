#pragma once

#include "core/engine/bitbudget.h"
#include "core/engine/quantsettings.h"

#include <QUndoCommand>

namespace lq::gui {

class AdapterDocument;

// Sets every module's h and high bit width as a bit-budget allocation says
// (core/engine/bitbudget.h; budgetcurves.h makes the allocation), replacing earlier per-module
// choices. Undo restores the previous settings.
class ApplyBudgetCommand : public QUndoCommand
{
public:
    ApplyBudgetCommand(AdapterDocument* document, const lq::BudgetAllocation& allocation,
                       QUndoCommand* parent = nullptr);

    void redo() override;
    void undo() override;

    // The target average, bits per weight in allocation().count.
    double budget() const { return m_allocation.budget; }
    const lq::BudgetAllocation& allocation() const { return m_allocation; }

private:
    AdapterDocument* m_document;
    lq::BudgetAllocation m_allocation;
    lq::QuantSettings m_new;
    lq::QuantSettings m_old;
};

} // namespace lq::gui
