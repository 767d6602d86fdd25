#pragma once

#include "core/engine/quantsettings.h"

#include <QUndoCommand>

namespace lq::gui {

class AdapterDocument;

// Replaces an adapter's quantization settings as a whole (rule, rho, bits, group size,
// refinement and the per-module overrides): "Apply to all", a changed group size or refinement.
class ChangeSettingsCommand : public QUndoCommand
{
public:
    ChangeSettingsCommand(AdapterDocument* document, lq::QuantSettings settings,
                          const QString& text, QUndoCommand* parent = nullptr);

    void redo() override;
    void undo() override;

private:
    AdapterDocument* m_document;
    lq::QuantSettings m_new;
    lq::QuantSettings m_old;
};

} // namespace lq::gui
