#include "applybudgetcommand.h"

#include "adapterdocument.h"
#include "budgetallocation.h"

#include <QCoreApplication>

namespace lq::gui {

ApplyBudgetCommand::ApplyBudgetCommand(AdapterDocument* document, double budgetBits,
                                       QUndoCommand* parent)
    : QUndoCommand(parent), m_document(document), m_budget(budgetBits), m_old(document->settings())
{
    setText(
        QCoreApplication::translate("ApplyBudgetCommand", "Apply bit budget of %1 bits per weight")
            .arg(budgetBits, 0, 'f', 2));
    std::vector<BudgetModule> modules;
    modules.reserve(std::size_t(document->moduleCount()));
    for (int i = 0; i < document->moduleCount(); ++i) {
        const lq::LoraModule& module = document->module(i);
        modules.push_back({module.m, module.n, document->singularValues(i)});
    }
    const std::vector<int> h = allocateBudget(modules, m_old.bitsHigh, budgetBits);
    m_new = m_old;
    m_new.hOverride.clear();
    m_new.bitsHighOverride.clear();
    for (int i = 0; i < document->moduleCount(); ++i)
        m_new.hOverride[document->module(i).name] = h[std::size_t(i)];
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
