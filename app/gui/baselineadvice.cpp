#include "baselineadvice.h"

#include "adapterdocument.h"
#include "budgetcurves.h"
#include "core/engine/bitbudget.h"

#include <QCoreApplication>
#include <QStringList>

namespace lq::gui {

namespace {

// Bit counts are exact, but averages are doubles: a baseline within this of the result's bits
// spends the same.
constexpr double kSameBits = 1e-9;

QString adviceTr(const char* text)
{
    return QCoreApplication::translate("BaselineAdvice", text);
}

} // namespace

BaselineAdvice baselineAdvice(const AdapterDocument& document)
{
    if (!document.hasResult() || document.resultState() != AdapterDocument::ResultState::Current)
        return {};
    const double error = document.shownTotal();
    const double bits = document.result().avgBitsTrue;
    struct Named
    {
        QString name;
        const BaselineErrors* errors;
    };
    const Named baselines[] = {{adviceTr("whole-adapter binary"), document.binaryBaseline()},
                               {adviceTr("whole-adapter RTN-2"), document.rtn2Baseline()}};
    const Named* beaten = nullptr;
    for (const Named& baseline : baselines)
        if (baseline.errors && baseline.errors->avgBitsTrue <= bits + kSameBits &&
            baseline.errors->total < error) {
            beaten = &baseline;
            break;
        }
    if (!beaten)
        return {};

    QStringList fixes;
    const lq::QuantSettings& settings = document.settings();
    if (settings.refine == lq::Refinement::None)
        fixes << adviceTr("refinement Best (Quantization panel)");
    if (const lq::ErrorCurves* curves = document.budgetCurves()->curves()) {
        // The allocation at the baseline's own true bits, if it predicts a lower error (without
        // refinement; a refinement only lowers it).
        const double target = beaten->errors->avgBitsTrue;
        if (target >= curves->minimumBudget(lq::BitCount::True) &&
            target <= curves->maximumBudget(lq::BitCount::True)) {
            const lq::BudgetAllocation allocation =
                lq::allocateBudget(*curves, target, lq::BitCount::True);
            if (allocation.relErrTotal < beaten->errors->total)
                fixes << adviceTr("a bit budget of %1 (paper count; %2 true, predicted error %3)")
                             .arg(allocation.avgBitsPaper, 0, 'f', 2)
                             .arg(allocation.avgBitsTrue, 0, 'f', 3)
                             .arg(allocation.relErrTotal, 0, 'f', 4);
        }
    }
    if (fixes.isEmpty())
        fixes << adviceTr("a wider high part or a bit budget");

    BaselineAdvice advice;
    advice.brief = adviceTr("worse than %1 (%2 at %3 bits true): try %4")
                       .arg(beaten->name)
                       .arg(beaten->errors->total, 0, 'f', 4)
                       .arg(beaten->errors->avgBitsTrue, 0, 'f', 3)
                       .arg(fixes.front());
    advice.text =
        adviceTr("Error %1 at %2 bits true is worse than %3 (%4 at %5 bits true). Try %6.")
            .arg(error, 0, 'f', 4)
            .arg(bits, 0, 'f', 3)
            .arg(beaten->name)
            .arg(beaten->errors->total, 0, 'f', 4)
            .arg(beaten->errors->avgBitsTrue, 0, 'f', 3)
            .arg(fixes.join(adviceTr(" or ")));
    return advice;
}

} // namespace lq::gui
