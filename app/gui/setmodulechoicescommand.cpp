#include "setmodulechoicescommand.h"

#include "adapterdocument.h"

#include <QCoreApplication>
#include <algorithm>
#include <cassert>

namespace lq::gui {

namespace {

void apply(AdapterDocument* document, const std::vector<int>& modules,
           const std::vector<ModuleChoice>& choices)
{
    std::vector<std::optional<int>> h, bits;
    std::vector<std::optional<lq::Refinement>> refine;
    for (const ModuleChoice& choice : choices) {
        h.push_back(choice.h);
        bits.push_back(choice.bitsHigh);
        refine.push_back(choice.refine);
    }
    document->setModuleOverrides(modules, h, bits, refine);
}

} // namespace

ModuleChoice SetModuleChoicesCommand::choiceOf(const AdapterDocument& document, int index)
{
    return {document.hOverride(index), document.bitsHighOverride(index),
            document.refineOverride(index)};
}

namespace {

QString choicesTr(const char* text)
{
    return QCoreApplication::translate("SetModuleChoicesCommand", text);
}

} // namespace

SetModuleChoicesCommand* SetModuleChoicesCommand::applyRule(AdapterDocument* document,
                                                            std::vector<int> modules,
                                                            const lq::QuantSettings& rule,
                                                            const QString& target)
{
    lq::QuantSettings plain = rule;
    plain.hOverride.clear();
    plain.bitsHighOverride.clear();
    std::vector<ModuleChoice> choices;
    for (int module : modules)
        choices.push_back(
            {document->hUnder(module, plain), plain.bitsHigh, document->refineOverride(module)});
    const QString ruleText = plain.split == lq::SplitRule::Fixed
                                 ? choicesTr("h = %1").arg(plain.fixedH)
                                 : choicesTr("ρ = %1").arg(plain.rho);
    return new SetModuleChoicesCommand(
        document, std::move(modules), std::move(choices),
        choicesTr("Apply %1, %2 bits to %3").arg(ruleText).arg(plain.bitsHigh).arg(target));
}

SetModuleChoicesCommand* SetModuleChoicesCommand::setH(AdapterDocument* document,
                                                       std::vector<int> modules, int h,
                                                       const QString& target)
{
    std::vector<ModuleChoice> choices;
    for (int module : modules)
        choices.push_back({std::clamp(h, 0, document->module(module).r),
                           document->bitsHighOverride(module), document->refineOverride(module)});
    return new SetModuleChoicesCommand(document, std::move(modules), std::move(choices),
                                       choicesTr("Set h = %1 for %2").arg(h).arg(target));
}

SetModuleChoicesCommand* SetModuleChoicesCommand::setBitsHigh(AdapterDocument* document,
                                                              std::vector<int> modules, int bits,
                                                              const QString& target)
{
    std::vector<ModuleChoice> choices;
    for (int module : modules)
        choices.push_back({document->hOverride(module), bits, document->refineOverride(module)});
    return new SetModuleChoicesCommand(
        document, std::move(modules), std::move(choices),
        choicesTr("Set the high part of %1 to %2 bits").arg(target).arg(bits));
}

SetModuleChoicesCommand*
SetModuleChoicesCommand::setRefinement(AdapterDocument* document, std::vector<int> modules,
                                       std::optional<lq::Refinement> refine, const QString& target)
{
    std::vector<ModuleChoice> choices;
    for (int module : modules)
        choices.push_back(
            {document->hOverride(module), document->bitsHighOverride(module), refine});
    return new SetModuleChoicesCommand(
        document, std::move(modules), std::move(choices),
        refine ? choicesTr("Set refinement %1 for %2")
                     .arg(QString::fromStdString(lq::toString(*refine)), target)
               : choicesTr("Let %1 take the adapter's refinement").arg(target));
}

SetModuleChoicesCommand* SetModuleChoicesCommand::reset(AdapterDocument* document,
                                                        std::vector<int> modules,
                                                        const QString& target)
{
    std::vector<ModuleChoice> choices(modules.size());
    return new SetModuleChoicesCommand(document, std::move(modules), std::move(choices),
                                       choicesTr("Let %1 follow the rule again").arg(target));
}

SetModuleChoicesCommand::SetModuleChoicesCommand(AdapterDocument* document,
                                                 std::vector<int> modules,
                                                 std::vector<ModuleChoice> choices,
                                                 const QString& text, QUndoCommand* parent)
    : QUndoCommand(text, parent), m_document(document), m_modules(std::move(modules)),
      m_new(std::move(choices))
{
    assert(m_new.size() == m_modules.size());
    for (int module : m_modules)
        m_old.push_back(choiceOf(*document, module));
}

void SetModuleChoicesCommand::redo()
{
    apply(m_document, m_modules, m_new);
}

void SetModuleChoicesCommand::undo()
{
    apply(m_document, m_modules, m_old);
}

} // namespace lq::gui
