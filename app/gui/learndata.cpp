#include "learndata.h"

#include "adapterdocument.h"
#include "budgetcurves.h"
#include "viewdata.h"

#include <QCoreApplication>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace lq::gui {

namespace {

QString learnTr(const char* text)
{
    return QCoreApplication::translate("lq::gui::LearnData", text);
}

QString percent(double share)
{
    return QStringLiteral("%1%").arg(100 * share, 0, 'f', 1);
}

} // namespace

std::vector<widgets::ReconstructionPoint> truncationCurve(const std::vector<double>& singularValues)
{
    const int r = int(singularValues.size());
    double total = 0;
    for (double s : singularValues)
        total += s * s;
    std::vector<widgets::ReconstructionPoint> points(std::size_t(r + 1));
    // The tail sums from the end, so that a tail of tiny values is not lost to cancellation.
    double tail = 0;
    for (int k = r; k >= 0; --k) {
        if (k < r)
            tail += singularValues[std::size_t(k)] * singularValues[std::size_t(k)];
        widgets::ReconstructionPoint& point = points[std::size_t(k)];
        point.h = k;
        point.bits = r > 0 ? 16.0 * k / r : 0.0;
        point.error = total > 0 ? std::sqrt(tail / total) : 0.0;
    }
    return points;
}

QString learnText(const widgets::LearnModule& module, int bitsHigh)
{
    const std::vector<double>& before = module.energyBefore;
    const std::vector<double>& after = module.energyAfter;
    const int r = int(after.size());
    if (r == 0)
        return {};
    QString text = learnTr("<h3>What the SVD does to this module</h3>");

    // Before: the largest column-row pair, and what the shares add to.
    const auto largest = std::max_element(before.begin(), before.end());
    const double beforeSum = std::accumulate(before.begin(), before.end(), 0.0);
    text += learnTr("<p>ΔW = B A. As stored, the largest column–row pair b<sub>i</sub> "
                    "a<sub>i</sub><sup>T</sup> (grey bars) is pair %1, with %2 of ‖BA‖².</p>")
                .arg(int(largest - before.begin()) + 1)
                .arg(percent(*largest));
    text +=
        learnTr("<p>The grey shares add to %1, not 100%: ‖BA‖² also holds the cross terms "
                "2 Σ<sub>i&lt;j</sub> (b<sub>i</sub>·b<sub>j</sub>)(a<sub>i</sub>·a<sub>j</sub>), "
                "zero only when B's columns or A's rows are orthogonal; here they make up %2.</p>")
            .arg(percent(beforeSum))
            .arg(QStringLiteral("%1%2%")
                     .arg(beforeSum > 1 ? QStringLiteral("−") : QString())
                     .arg(100 * std::fabs(1 - beforeSum), 0, 'f', 1));

    // After: s_i^2, ordered, adding to 100%.
    double running = 0;
    int k80 = r;
    for (int i = 0; i < r; ++i) {
        running += after[std::size_t(i)];
        if (running >= 0.8 - 1e-12) {
            k80 = i + 1;
            break;
        }
    }
    text += learnTr("<p>After the SVD (B′ = U S<sup>½</sup>, A′ = S<sup>½</sup> V<sup>T</sup>, "
                    "B′A′ = BA) component i holds s<sub>i</sub><sup>2</sup> (green bars), in "
                    "decreasing order, adding to 100%: the first component holds %1; %2 of %3 "
                    "components reach 80%.</p>")
                .arg(percent(after.front()))
                .arg(k80)
                .arg(r);

    if (module.h >= 0) {
        const int h = std::min(module.h, r);
        const double high = std::accumulate(after.begin(), after.begin() + h, 0.0);
        const QString tail = h < r ? learnTr("the %1 1-bit tail components hold %2")
                                         .arg(r - h)
                                         .arg(percent(std::max(0.0, 1 - high)))
                                   : learnTr("there is no 1-bit tail");
        text += learnTr("<p>LoRAQuant keeps the first h = %1 (left of the orange line) at %2 bits: "
                        "%3 of the energy; %4. The quantized maps use the exact maps' colours.</p>")
                    .arg(h)
                    .arg(bitsHigh)
                    .arg(percent(high))
                    .arg(tail);
        if (!module.truncation.empty() && module.current.bitsHigh > 0) {
            const widgets::ReconstructionPoint& cut = module.truncation[std::size_t(h)];
            text +=
                learnTr("<p>Truncating to rank %1 instead (16-bit values): %2 bits per parameter, "
                        "error %3. This result keeps all %4 components: %5 bits, error %6.</p>")
                    .arg(h)
                    .arg(cut.bits, 0, 'f', 2)
                    .arg(cut.error, 0, 'f', 3)
                    .arg(r)
                    .arg(module.current.bits, 0, 'f', 2)
                    .arg(module.current.error, 0, 'f', 3);
        }
    }
    return text;
}

widgets::LearnModule learnModule(AdapterDocument& document, int module)
{
    widgets::LearnModule learn;
    const lq::ModuleFactors factors = document.factors(module);
    const lq::ModuleReparam& reparam = document.reparam(module);
    const std::vector<double>& singularValues = document.singularValues(module);
    const ComponentEnergies energies = componentEnergies(factors, singularValues);
    // A packed file's factors are its codes decoded, not what training produced.
    const bool packed = bool(document.packedOrigin());
    learn.title =
        packed ? learnTr("%1, decoded from the packed file").arg(document.moduleLabel(module))
               : document.moduleLabel(module);
    learn.origin = packed ? learnTr("decoded") : learnTr("as trained");
    learn.B = factors.B;
    learn.A = factors.A;
    learn.Bp = reparam.Bp;
    learn.Ap = reparam.Ap;
    learn.energyBefore = energies.before;
    learn.energyAfter = energies.after;
    learn.truncation = truncationCurve(singularValues);

    const lq::LoraModule& shape = document.module(module);
    const double parameters = double(shape.r) * double(shape.m + shape.n);
    int bitsHigh = document.effectiveBitsHigh(module);
    // The split as the module now stands; the quantized maps' title says which split their codes
    // are of, which differs only while a job brings the result up to date.
    learn.h = document.effectiveH(module);
    if (const lq::ModuleResult* result = document.moduleResult(module);
        result && result->bitsHigh > 0 && parameters > 0) {
        learn.Bq = result->dequantizedB();
        learn.Aq = result->dequantizedA();

        learn.quantizedLabel = learnTr("h = %1").arg(result->h);
        learn.current = {result->bitsPaper / parameters, result->relErr, result->h,
                         result->bitsHigh};
    }
    if (const lq::ErrorCurves* curves = document.budgetCurves()->curves();
        curves && std::size_t(module) < curves->modules.size() && parameters > 0) {
        const lq::ModuleCurve& curve = curves->modules[std::size_t(module)];
        for (const lq::BudgetOption& option : curve.options)
            learn.loraQuant.push_back(
                {double(option.bitsPaper) / parameters,
                 curve.normSq > 0 ? std::sqrt(std::max(0.0, option.errSq) / curve.normSq) : 0.0,
                 option.h, option.bitsHigh});
    }
    learn.text = learnText(learn, bitsHigh);
    return learn;
}

} // namespace lq::gui
