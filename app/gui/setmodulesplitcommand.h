#pragma once

#include <QString>
#include <QUndoCommand>
#include <optional>
#include <vector>

namespace lq::gui {

class AdapterDocument;

// Sets modules' split h and/or high bit width as one undo step: a dragged split marker, "Apply to
// selected", a point chosen on the trade-off plot (h and width of one module), the width control
// of the Spectrum view (the width of every selected module, each keeping its h). Undo restores
// each module's previous overrides, including having none (the module then follows the rule
// again).
class SetModuleSplitCommand : public QUndoCommand
{
public:
    // One module: h and bitsHigh become its overrides (none: follows the rule).
    SetModuleSplitCommand(AdapterDocument* document, int module, std::optional<int> h,
                          std::optional<int> bitsHigh, QUndoCommand* parent = nullptr);

    // The high bit width of every module in `modules` (1..N, no repeats); each keeps its h
    // override or its rule. `label` names the selection for the undo text ("layer 3 (7
    // modules)"); empty names the module, or counts them.
    static SetModuleSplitCommand* width(AdapterDocument* document, const std::vector<int>& modules,
                                        int bitsHigh, const QString& label = QString());

    void redo() override;
    void undo() override;

    // What the command changes, for tests: module, new h and width overrides.
    struct Change
    {
        int module = -1;
        std::optional<int> h, bits;
        std::optional<int> oldH, oldBits;
    };
    const std::vector<Change>& changes() const { return m_changes; }

private:
    SetModuleSplitCommand(AdapterDocument* document, QUndoCommand* parent);
    void add(int module, std::optional<int> h, std::optional<int> bitsHigh);

    AdapterDocument* m_document;
    std::vector<Change> m_changes;
};

} // namespace lq::gui
