#include "applybudgetcommand.h"

#include "adapterdocument.h"

#include <QCoreApplication>

namespace lq::gui {

ApplyBudgetCommand::ApplyBudgetCommand(AdapterDocument* document,
                                       const lq::BudgetAllocation& allocation, QUndoCommand* parent)
    : QUndoCommand(parent), m_document(document), m_allocation(allocation),
      m_new(document->settings()), m_old(document->settings())
{
    setText(QCoreApplication::translate("ApplyBudgetCommand",
                                        "Apply bit budget of %1 bits per weight (%2 count)")
                .arg(allocation.budget, 0, 'f', 2)
                .arg(QString::fromStdString(lq::toString(allocation.count))));
    // Throws lq::Error when the allocation was made for other group settings.
    allocation.applyTo(m_new);
}

void ApplyBudgetCommand::redo()
{
    m_document->setSettings(m_new);
}

void ApplyBudgetCommand::undo()
{
    m_document->setSettings(m_old);
}

} // namespace lq::gui
