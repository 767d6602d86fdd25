#pragma once

#include "core/engine/quantsettings.h"

#include <QString>
#include <QUndoCommand>
#include <optional>
#include <vector>

namespace lq::gui {

class AdapterDocument;

// A module's own choices as AdapterDocument::hOverride / bitsHighOverride hold them: empty
// follows the adapter's rule.
struct ModuleChoice
{
    std::optional<int> h;
    std::optional<int> bitsHigh;
    std::optional<lq::Refinement> refine;
    bool operator==(const ModuleChoice&) const = default;
};

// Sets the split h, the high-part width and/or the refinement of several modules at once (a
// multi-selection in the tree, a whole layer, every module of one kind) as one undo step; the
// modules are recomputed together. Undo gives each module back its own earlier choice, including
// having none.
class SetModuleChoicesCommand : public QUndoCommand
{
public:
    // `choices` holds one entry per module of `modules` (module indices of `document`).
    SetModuleChoicesCommand(AdapterDocument* document, std::vector<int> modules,
                            std::vector<ModuleChoice> choices, const QString& text,
                            QUndoCommand* parent = nullptr);

    void redo() override;
    void undo() override;

    const std::vector<int>& modules() const { return m_modules; }

    // What module `index` holds now.
    static ModuleChoice choiceOf(const AdapterDocument& document, int index);

    // The common edits; `target` names the modules in the undo text ("layer 3 (7 modules)").
    // The split and width `rule` gives (its overrides ignored), as "Apply to selected" does:
    static SetModuleChoicesCommand* applyRule(AdapterDocument* document, std::vector<int> modules,
                                              const lq::QuantSettings& rule, const QString& target);
    // h for each module (at most its rank), each keeping its width:
    static SetModuleChoicesCommand* setH(AdapterDocument* document, std::vector<int> modules, int h,
                                         const QString& target);
    // The high part's width for each module, each keeping its h:
    static SetModuleChoicesCommand* setBitsHigh(AdapterDocument* document, std::vector<int> modules,
                                                int bits, const QString& target);
    // The refinement of each module (empty: the adapter's), each keeping its h and width:
    static SetModuleChoicesCommand* setRefinement(AdapterDocument* document,
                                                  std::vector<int> modules,
                                                  std::optional<lq::Refinement> refine,
                                                  const QString& target);
    // No choices of their own: the modules follow the adapter's rule again.
    static SetModuleChoicesCommand* reset(AdapterDocument* document, std::vector<int> modules,
                                          const QString& target);

private:
    AdapterDocument* m_document;
    std::vector<int> m_modules;
    std::vector<ModuleChoice> m_new;
    std::vector<ModuleChoice> m_old;
};

} // namespace lq::gui
