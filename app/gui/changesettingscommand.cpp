#include "changesettingscommand.h"

#include "adapterdocument.h"

namespace lq::gui {

ChangeSettingsCommand::ChangeSettingsCommand(AdapterDocument* document, lq::QuantSettings settings,
                                             const QString& text, QUndoCommand* parent)
    : QUndoCommand(text, parent), m_document(document), m_new(std::move(settings)),
      m_old(document->settings())
{}

void ChangeSettingsCommand::redo()
{
    m_document->setSettings(m_new);
}

void ChangeSettingsCommand::undo()
{
    m_document->setSettings(m_old);
}

} // namespace lq::gui
