#include "setmodulesplitcommand.h"

#include "adapterdocument.h"

#include <QCoreApplication>

namespace lq::gui {

SetModuleSplitCommand::SetModuleSplitCommand(AdapterDocument* document, int module,
                                             std::optional<int> h, std::optional<int> bitsHigh,
                                             QUndoCommand* parent)
    : QUndoCommand(parent), m_document(document), m_module(module), m_h(h), m_bits(bitsHigh),
      m_oldH(document->hOverride(module)), m_oldBits(document->bitsHighOverride(module))
{
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
    else
        setText(
            QCoreApplication::translate("SetModuleSplitCommand", "Reset split of %1").arg(label));
}

void SetModuleSplitCommand::redo()
{
    m_document->setModuleOverride(m_module, m_h, m_bits);
}

void SetModuleSplitCommand::undo()
{
    m_document->setModuleOverride(m_module, m_oldH, m_oldBits);
}

} // namespace lq::gui
