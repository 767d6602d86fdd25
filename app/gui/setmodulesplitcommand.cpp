#include "setmodulesplitcommand.h"

#include "adapterdocument.h"

#include <QCoreApplication>

namespace lq::gui {

SetModuleSplitCommand::SetModuleSplitCommand(AdapterDocument* document, QUndoCommand* parent)
    : QUndoCommand(parent), m_document(document)
{}

SetModuleSplitCommand::SetModuleSplitCommand(AdapterDocument* document, int module,
                                             std::optional<int> h, std::optional<int> bitsHigh,
                                             QUndoCommand* parent)
    : SetModuleSplitCommand(document, parent)
{
    add(module, h, bitsHigh);
    const QString label = document->moduleLabel(module);
    if (h && bitsHigh)
        setText(QCoreApplication::translate("SetModuleSplitCommand", "Set %1 to h = %2, %3 bits")
                    .arg(label)
                    .arg(*h)
                    .arg(*bitsHigh));
    else if (h)
        setText(QCoreApplication::translate("SetModuleSplitCommand", "Set split of %1 to h = %2")
                    .arg(label)
                    .arg(*h));
    else if (bitsHigh)
        setText(QCoreApplication::translate("SetModuleSplitCommand", "Set %1 to %2 bits")
                    .arg(label)
                    .arg(*bitsHigh));
    else
        setText(
            QCoreApplication::translate("SetModuleSplitCommand", "Reset split of %1").arg(label));
}

SetModuleSplitCommand* SetModuleSplitCommand::width(AdapterDocument* document,
                                                    const std::vector<int>& modules, int bitsHigh,
                                                    const QString& label)
{
    auto* command = new SetModuleSplitCommand(document, nullptr);
    for (int module : modules)
        command->add(module, document->hOverride(module), bitsHigh);
    const QString what = !label.isEmpty() ? label
                         : modules.size() == 1
                             ? document->moduleLabel(modules.front())
                             : QCoreApplication::translate("SetModuleSplitCommand", "%n module(s)",
                                                           nullptr, int(modules.size()));
    command->setText(
        QCoreApplication::translate("SetModuleSplitCommand", "Set high part of %1 to %2 bits")
            .arg(what)
            .arg(bitsHigh));
    return command;
}

void SetModuleSplitCommand::add(int module, std::optional<int> h, std::optional<int> bitsHigh)
{
    m_changes.push_back(
        {module, h, bitsHigh, m_document->hOverride(module), m_document->bitsHighOverride(module)});
}

void SetModuleSplitCommand::redo()
{
    for (const Change& change : m_changes)
        m_document->setModuleOverride(change.module, change.h, change.bits);
}

void SetModuleSplitCommand::undo()
{
    for (auto change = m_changes.rbegin(); change != m_changes.rend(); ++change)
        m_document->setModuleOverride(change->module, change->oldH, change->oldBits);
}

} // namespace lq::gui
