#pragma once

#include <QUndoCommand>
#include <optional>

namespace lq::gui {

class AdapterDocument;

// Sets one module's split h and/or high bit width (a dragged split marker, "Apply to selected").
// Undo restores the module's previous overrides, including having none (the module then follows
// the rule again).
class SetModuleSplitCommand : public QUndoCommand
{
public:
    SetModuleSplitCommand(AdapterDocument* document, int module, std::optional<int> h,
                          std::optional<int> bitsHigh, QUndoCommand* parent = nullptr);

    void redo() override;
    void undo() override;

private:
    AdapterDocument* m_document;
    int m_module;
    std::optional<int> m_h, m_bits;
    std::optional<int> m_oldH, m_oldBits;
};

} // namespace lq::gui
