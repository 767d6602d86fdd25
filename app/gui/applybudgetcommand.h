#pragma once

#include "core/engine/quantsettings.h"

#include <QUndoCommand>

namespace lq::gui {

class AdapterDocument;

// Sets every module's h so that the adapter's average bits per weight (paper count) meets a
// budget (budgetallocation.h); per-module bit widths return to the adapter's. Undo restores the
// previous overrides.
class ApplyBudgetCommand : public QUndoCommand
{
public:
    ApplyBudgetCommand(AdapterDocument* document, double budgetBits,
                       QUndoCommand* parent = nullptr);

    void redo() override;
    void undo() override;

    double budget() const { return m_budget; }

private:
    AdapterDocument* m_document;
    double m_budget;
    lq::QuantSettings m_new;
    lq::QuantSettings m_old;
};

} // namespace lq::gui
