// The bit-budget allocation (core/engine/bitbudget.h, issue 6 part 2) as a user meets it: the
// curves are what quantizing each module gives, an allocation never spends more than the budget
// (paper or true count) and the quantized adapter reports exactly the allocated bits, more budget
// never gives more error, budgets outside the reachable range are refused with a message that
// gives the range, and at the bits of the paper's uniform rho the allocation has clearly less
// error (shared adapters and a synthetic llama2-7b adapter). Plus `loraquant quantize --budget`.

#include "core/engine/bitbudget.h"

#include "clirun.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/reparameterize.h"
#include "core/io/error.h"
#include "core/io/synthesizer.h"
#include "llamalike.h"
#include "shareddata.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <limits>
#include <omp.h>

using namespace lq;

Q_DECLARE_METATYPE(lq::BitCount)
Q_DECLARE_METATYPE(lq::GroupLayout)
Q_DECLARE_METATYPE(lq::ScaleFormat)
Q_DECLARE_METATYPE(std::vector<int>)

namespace {

// Curves and quantizeModule compute the same ||B A - B_hat A_hat||^2 from the same float values
// by differently ordered double sums of terms of size ||B A||^2: 1e-9 of ||B A||^2 is far above
// that rounding (~1e-13) and far below any difference between two options.
constexpr double kErrorSumTolerance = 1e-9;
// Monotonicity compares totals of the same per-module values summed in different combinations;
// their rounding is ~1e-15 relative.
constexpr double kMonotoneTolerance = 1e-12;
// The target: at the same average bits, the allocation's total error at least 10% below
// uniform rho's.
constexpr double kRequiredAdvantage = 0.10;

double averageBits(const QuantResult& result, BitCount count)
{
    return count == BitCount::Paper ? result.avgBitsPaper : result.avgBitsTrue;
}

double averageBits(const BudgetAllocation& allocation, BitCount count)
{
    return count == BitCount::Paper ? allocation.avgBitsPaper : allocation.avgBitsTrue;
}

// An in-memory adapter of synthetic modules (decaying spectra like real adapters', B and A not the
// SVD) with lengths on and off the group size, ranks 1 to 8 and one zero module.
Adapter smallAdapter()
{
    const struct
    {
        int m, n, r;
    } shapes[] = {{200, 96, 8}, {256, 128, 4}, {64, 300, 1}, {130, 70, 6}, {128, 256, 8},
                  {96, 96, 2},  {40, 520, 5},  {256, 64, 3}, {77, 33, 4}};
    std::vector<LoraModule> modules;
    std::vector<ModuleFactors> factors;
    for (std::size_t i = 0; i < std::size(shapes); ++i) {
        const auto& s = shapes[i];
        const std::string name = "layers." + std::to_string(i) + ".proj";
        SynthModule module = synthesizeModule({name, int(i), "proj", s.m, s.n}, s.r, 5, i);
        LoraModule info;
        info.name = name;
        info.m = s.m;
        info.n = s.n;
        info.r = s.r;
        modules.push_back(info);
        factors.push_back(std::move(module.factors));
    }
    // A freshly initialised LoRA: B = 0. Zero error whatever the option, so it should get nothing.
    LoraModule zero;
    zero.name = "layers.zero.proj";
    zero.m = 48;
    zero.n = 80;
    zero.r = 4;
    modules.push_back(zero);
    factors.push_back({Eigen::MatrixXf::Zero(48, 4), Eigen::MatrixXf::Ones(4, 80)});
    return Adapter::fromFactors("small", std::move(modules), std::move(factors));
}

// `count` budgets spread evenly over the reachable range, its two ends included.
std::vector<double> budgetsAcross(const ErrorCurves& curves, BitCount count, int number)
{
    const double low = curves.minimumBudget(count), high = curves.maximumBudget(count);
    std::vector<double> budgets;
    for (int i = 0; i < number; ++i)
        budgets.push_back(low + (high - low) * i / (number - 1));
    budgets.back() = high;
    return budgets;
}

// The whole number of bits a budget allows, as allocateBudget computes it (bitbudget.h).
std::int64_t allowedBits(double budget, std::int64_t weights)
{
    auto allowed = std::int64_t(std::floor(budget * double(weights)));
    while (double(allowed + 1) / double(weights) <= budget)
        ++allowed;
    while (double(allowed) / double(weights) > budget)
        --allowed;
    return allowed;
}

// The smallest total error of any allocation within `allowedBits` (exhaustive; small adapters).
double bruteForceErrSq(const ErrorCurves& curves, BitCount count, std::int64_t allowedBits)
{
    double best = std::numeric_limits<double>::infinity();
    std::vector<std::size_t> choice(curves.modules.size(), 0);
    for (;;) {
        std::int64_t bits = 0;
        double errSq = 0;
        for (std::size_t i = 0; i < choice.size(); ++i) {
            const BudgetOption& option = curves.modules[i].options[choice[i]];
            bits += option.bits(count);
            errSq += option.errSq;
        }
        if (bits <= allowedBits)
            best = std::min(best, errSq);
        std::size_t i = 0;
        while (i < choice.size() && ++choice[i] == curves.modules[i].options.size())
            choice[i++] = 0;
        if (i == choice.size())
            return best;
    }
}

using lqtest::runCli;
using Run = lqtest::CliRun;

} // namespace

class BitBudgetTest : public QObject
{
    Q_OBJECT

private slots:
    void curvesMatchQuantization_data();
    void curvesMatchQuantization();
    void curvesIndependentOfThreads();
    void curvesCancel();
    void neverExceedsBudget_data();
    void neverExceedsBudget();
    void quantizedResultHasAllocatedBits_data();
    void quantizedResultHasAllocatedBits();
    void monotoneInBudget_data();
    void monotoneInBudget();
    void nearOptimal_data();
    void nearOptimal();
    void extremes();
    void outOfRangeRefused();
    void mismatchRefused();
    void beatsUniformRhoShared_data();
    void beatsUniformRhoShared();
    void beatsUniformRhoLlama();
    void cliBudget_data();
    void cliBudget();
    void cliWrongCalls_data();
    void cliWrongCalls();

private:
    Adapter m_small = smallAdapter();
};

void BitBudgetTest::curvesMatchQuantization_data()
{
    QTest::addColumn<int>("groupSize");
    QTest::addColumn<GroupLayout>("layout");
    QTest::addColumn<ScaleFormat>("scaleFormat");
    QTest::addColumn<std::vector<int>>("choices");
    // Per component: one quantization per width serves every h. Flattened: modules with m and n
    // multiples of g take the same path, the others (200, 130, 77 ...) are quantized per option.
    QTest::newRow("per-component g128 f16")
        << 128 << GroupLayout::PerComponent << ScaleFormat::F16 << std::vector<int>{2, 3, 4};
    QTest::newRow("per-component g32 f32")
        << 32 << GroupLayout::PerComponent << ScaleFormat::F32 << std::vector<int>{1, 5};
    QTest::newRow("flattened g64 f32 (paper-exact)")
        << 64 << GroupLayout::Flattened << ScaleFormat::F32 << std::vector<int>{2, 3};
}

// Every option's bits are exactly those of quantizing the module with that h and b_h, and its
// error is the same up to the order of the double sums.
void BitBudgetTest::curvesMatchQuantization()
{
    QFETCH(int, groupSize);
    QFETCH(GroupLayout, layout);
    QFETCH(ScaleFormat, scaleFormat);
    QFETCH(std::vector<int>, choices);
    QuantSettings settings;
    settings.groupSize = groupSize;
    settings.layout = layout;
    settings.scaleFormat = scaleFormat;
    const ErrorCurves curves = computeErrorCurves(m_small, settings, choices);
    QCOMPARE(curves.modules.size(), m_small.modules().size());
    QCOMPARE(curves.bitsHighChoices, choices);
    for (std::size_t i = 0; i < curves.modules.size(); ++i) {
        const LoraModule& module = m_small.modules()[i];
        const ModuleCurve& curve = curves.modules[i];
        QCOMPARE(curve.name, module.name);
        QCOMPARE(curve.options.size(), 1 + choices.size() * std::size_t(module.r));
        const ModuleFactors factors = m_small.factors(i);
        const ModuleReparam reparam = reparameterize(factors.B, factors.A);
        for (const BudgetOption& option : curve.options) {
            const ModuleResult result =
                quantizeModule(module, factors, reparam, option.h, option.bitsHigh, settings);
            const QString where = QString::fromStdString(module.name) +
                                  QStringLiteral(" h %1 b %2").arg(option.h).arg(option.bitsHigh);
            QVERIFY2(double(option.bitsPaper) == result.bitsPaper, qPrintable(where));
            QVERIFY2(double(option.bitsTrue) == result.bitsTrue, qPrintable(where));
            QVERIFY2(std::abs(option.errSq - result.errSq) <= kErrorSumTolerance * result.normSq,
                     qPrintable(where +
                                QStringLiteral(": %1 vs %2").arg(option.errSq).arg(result.errSq)));
            QVERIFY2(std::abs(curve.normSq - result.normSq) <= kErrorSumTolerance * result.normSq,
                     qPrintable(where));
        }
    }
}

void BitBudgetTest::curvesIndependentOfThreads()
{
    const QuantSettings settings;
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const ErrorCurves one = computeErrorCurves(m_small, settings);
    omp_set_num_threads(2);
    const ErrorCurves two = computeErrorCurves(m_small, settings);
    omp_set_num_threads(threads);
    QCOMPARE(one.modules.size(), two.modules.size());
    for (std::size_t i = 0; i < one.modules.size(); ++i) {
        QCOMPARE(one.modules[i].normSq, two.modules[i].normSq);
        for (std::size_t o = 0; o < one.modules[i].options.size(); ++o)
            QCOMPARE(one.modules[i].options[o].errSq, two.modules[i].options[o].errSq);
    }
}

void BitBudgetTest::curvesCancel()
{
    int calls = 0;
    const ErrorCurves curves = computeErrorCurves(m_small, QuantSettings(), {2, 3, 4},
                                                  [&](int, int) { return ++calls < 2; });
    QVERIFY(curves.cancelled);
    QVERIFY(curves.modules.empty());
    QVERIFY_THROWS_EXCEPTION(Error, allocateBudget(curves, 2.0, BitCount::Paper));
}

void BitBudgetTest::neverExceedsBudget_data()
{
    QTest::addColumn<BitCount>("count");
    QTest::addColumn<std::vector<int>>("choices");
    for (BitCount count : {BitCount::Paper, BitCount::True}) {
        const QByteArray name = QByteArray::fromStdString(toString(count));
        QTest::newRow(name + " count, b_h 2..4") << count << std::vector<int>{2, 3, 4};
        QTest::newRow(name + " count, b_h 2") << count << std::vector<int>{2};
        QTest::newRow(name + " count, b_h 3 and 8") << count << std::vector<int>{3, 8};
    }
}

// 1000 budgets across the whole range, and budgets exactly at and just below earlier allocations'
// spends (where rounding would show): the average in the chosen count never exceeds the budget.
// And it is hit: what is left over is less than one module's largest change (the step that did
// not fit), unless every module already has its least error.
void BitBudgetTest::neverExceedsBudget()
{
    QFETCH(BitCount, count);
    QFETCH(std::vector<int>, choices);
    const ErrorCurves curves = computeErrorCurves(m_small, QuantSettings(), choices);
    std::int64_t largestStep = 0;
    for (const ModuleCurve& module : curves.modules) {
        std::int64_t low = module.options.front().bits(count), high = low;
        for (const BudgetOption& option : module.options) {
            low = std::min(low, option.bits(count));
            high = std::max(high, option.bits(count));
        }
        largestStep = std::max(largestStep, high - low);
    }
    const double weights = double(curves.parameterCount);
    std::vector<double> budgets = budgetsAcross(curves, count, 1000);
    for (std::size_t i = 0; i + 1 < budgets.size(); i += 37) {
        const BudgetAllocation allocation = allocateBudget(curves, budgets[i], count);
        const double spent = averageBits(allocation, count);
        budgets.push_back(std::nextafter(spent, 0.0)); // just below an earlier spend
        budgets.push_back(spent);
    }
    for (double budget : budgets) {
        if (budget < curves.minimumBudget(count))
            continue;
        const BudgetAllocation allocation = allocateBudget(curves, budget, count);
        const double spent = averageBits(allocation, count);
        QVERIFY2(
            spent <= budget,
            qPrintable(QStringLiteral("%1 > %2").arg(spent, 0, 'g', 17).arg(budget, 0, 'g', 17)));
        bool allBest = true;
        for (std::size_t i = 0; i < curves.modules.size(); ++i)
            for (const BudgetOption& option : curves.modules[i].options)
                if (option.h == allocation.h[i] && option.bitsHigh == allocation.bitsHigh[i])
                    for (const BudgetOption& other : curves.modules[i].options)
                        allBest = allBest && option.errSq <= other.errSq;
        QVERIFY2(allBest || (budget - spent) * weights < double(largestStep) + 1,
                 qPrintable(QStringLiteral("budget %1: spent only %2").arg(budget).arg(spent)));
        QCOMPARE(allocation.h.size(), curves.modules.size());
        for (std::size_t i = 0; i < allocation.h.size(); ++i) {
            QVERIFY(allocation.h[i] >= 0 && allocation.h[i] <= curves.modules[i].r);
            QVERIFY(std::count(choices.begin(), choices.end(), allocation.bitsHigh[i]) == 1);
        }
    }
}

void BitBudgetTest::quantizedResultHasAllocatedBits_data()
{
    QTest::addColumn<BitCount>("count");
    QTest::newRow("paper count") << BitCount::Paper;
    QTest::newRow("true count") << BitCount::True;
}

// The allocation through quantizeAdapter: an ordinary result whose bits are the allocated ones
// exactly (so within the budget) and whose error is the predicted one (no refinement); with the
// paper refinement the bits stay the same.
void BitBudgetTest::quantizedResultHasAllocatedBits()
{
    QFETCH(BitCount, count);
    const QuantSettings settings;
    const ErrorCurves curves = computeErrorCurves(m_small, settings);
    for (double budget : budgetsAcross(curves, count, 9)) {
        const BudgetAllocation allocation = allocateBudget(curves, budget, count);
        const QuantResult result = quantizeAdapter(m_small, settings, allocation);
        QCOMPARE(result.avgBitsPaper, allocation.avgBitsPaper);
        QCOMPARE(result.avgBitsTrue, allocation.avgBitsTrue);
        QVERIFY(averageBits(result, count) <= budget);
        QVERIFY(std::abs(result.relErrTotal - allocation.relErrTotal) <= 1e-6);
        for (std::size_t i = 0; i < result.modules.size(); ++i) {
            QCOMPARE(result.modules[i].h, allocation.h[i]);
            QCOMPARE(result.modules[i].bitsHigh, allocation.bitsHigh[i]);
        }
    }
    QuantSettings refined = settings;
    refined.refine = Refinement::Paper;
    refined.refineSteps = 20;
    const double budget = 0.5 * (curves.minimumBudget(count) + curves.maximumBudget(count));
    const BudgetAllocation allocation = allocateBudget(curves, budget, count);
    const QuantResult result = quantizeAdapter(m_small, refined, allocation);
    QCOMPARE(result.avgBitsPaper, allocation.avgBitsPaper);
    QCOMPARE(result.avgBitsTrue, allocation.avgBitsTrue);
}

void BitBudgetTest::monotoneInBudget_data()
{
    neverExceedsBudget_data();
}

// Fine steps over the whole range: the predicted total error never rises; nor does the error of
// the quantized adapter on a coarser set of budgets.
void BitBudgetTest::monotoneInBudget()
{
    QFETCH(BitCount, count);
    QFETCH(std::vector<int>, choices);
    const QuantSettings settings;
    const ErrorCurves curves = computeErrorCurves(m_small, settings, choices);
    double previous = std::numeric_limits<double>::infinity();
    double first = 0;
    for (double budget : budgetsAcross(curves, count, 2000)) {
        const double error = allocateBudget(curves, budget, count).relErrTotal;
        QVERIFY2(error <= previous * (1 + kMonotoneTolerance),
                 qPrintable(QStringLiteral("at %1 bits: %2 after %3")
                                .arg(budget, 0, 'g', 10)
                                .arg(error, 0, 'g', 17)
                                .arg(previous, 0, 'g', 17)));
        if (previous == std::numeric_limits<double>::infinity())
            first = error;
        previous = error;
    }
    QVERIFY(previous < first); // the range buys something
    previous = std::numeric_limits<double>::infinity();
    for (double budget : budgetsAcross(curves, count, 12)) {
        const double error =
            quantizeAdapter(m_small, settings, allocateBudget(curves, budget, count)).relErrTotal;
        QVERIFY(error <= previous * (1 + kMonotoneTolerance));
        previous = error;
    }
}

void BitBudgetTest::nearOptimal_data()
{
    QTest::addColumn<BitCount>("count");
    QTest::newRow("paper count") << BitCount::Paper;
    QTest::newRow("true count") << BitCount::True;
}

// Against exhaustive search on four small modules (7 options each): never better than the optimum
// within the budget (so the predicted errors belong to an allocation that fits), and never worse
// than the optimum for a budget smaller by the largest change one module can make (the header's
// guarantee: the path point it starts from is optimal for its own cost). Also reports how often
// it is exactly optimal.
void BitBudgetTest::nearOptimal()
{
    QFETCH(BitCount, count);
    std::vector<LoraModule> modules;
    std::vector<ModuleFactors> factors;
    const int shapes[][3] = {{160, 96, 3}, {64, 200, 2}, {128, 128, 3}, {90, 50, 3}};
    for (int i = 0; i < 4; ++i) {
        LoraModule module;
        module.name = "m" + std::to_string(i);
        module.m = shapes[i][0];
        module.n = shapes[i][1];
        module.r = shapes[i][2];
        factors.push_back(
            synthesizeModule({module.name, i, "proj", module.m, module.n}, module.r, 11, i)
                .factors);
        modules.push_back(module);
    }
    const Adapter adapter = Adapter::fromFactors("four", modules, factors);
    const ErrorCurves curves = computeErrorCurves(adapter, QuantSettings(), {2, 4});
    std::int64_t largestStep = 0;
    for (const ModuleCurve& module : curves.modules)
        for (const BudgetOption& option : module.options)
            largestStep =
                std::max(largestStep, option.bits(count) - module.options.front().bits(count));
    double normSq = 0;
    for (const ModuleCurve& module : curves.modules)
        normSq += module.normSq;
    int optimal = 0, total = 0;
    for (double budget : budgetsAcross(curves, count, 60)) {
        const BudgetAllocation allocation = allocateBudget(curves, budget, count);
        const double errSq = allocation.relErrTotal * allocation.relErrTotal * normSq;
        const std::int64_t allowed = allowedBits(budget, curves.parameterCount);
        const double best = bruteForceErrSq(curves, count, allowed);
        QVERIFY2(errSq >= best * (1 - kMonotoneTolerance), qPrintable(QString::number(budget)));
        const double bound =
            bruteForceErrSq(curves, count, std::max<std::int64_t>(0, allowed - largestStep));
        if (std::isfinite(bound))
            QVERIFY2(errSq <= bound * (1 + kMonotoneTolerance),
                     qPrintable(QString::number(budget)));
        optimal += errSq <= best * (1 + kMonotoneTolerance) ? 1 : 0;
        ++total;
    }
    qInfo("%s count: the allocation is the exact optimum at %d of %d budgets",
          toString(count).c_str(), optimal, total);
}

// The two ends of the range are budgets like any other: the minimum puts every component in
// 1 bit, the maximum every component at the widest width.
void BitBudgetTest::extremes()
{
    const ErrorCurves curves = computeErrorCurves(m_small, QuantSettings(), {2, 3, 4});
    QCOMPARE(curves.minimumBudget(BitCount::Paper), 1.0);
    QCOMPARE(curves.maximumBudget(BitCount::Paper), 4.0);
    QVERIFY(curves.minimumBudget(BitCount::True) > 1.0); // scales and headers cost bits
    for (BitCount count : {BitCount::Paper, BitCount::True}) {
        const BudgetAllocation low = allocateBudget(curves, curves.minimumBudget(count), count);
        for (int h : low.h)
            QCOMPARE(h, 0);
        const BudgetAllocation high = allocateBudget(curves, curves.maximumBudget(count), count);
        for (std::size_t i = 0; i < high.h.size(); ++i) {
            // The zero module has the same (zero) error everywhere and stays at its cheapest.
            if (curves.modules[i].normSq == 0) {
                QCOMPARE(high.h[i], 0);
                continue;
            }
            QCOMPARE(high.h[i], curves.modules[i].r);
            QCOMPARE(high.bitsHigh[i], 4);
        }
    }
}

void BitBudgetTest::outOfRangeRefused()
{
    const ErrorCurves curves = computeErrorCurves(m_small, QuantSettings(), {2, 3});
    const auto problem = [&](double budget, BitCount count) -> std::string {
        try {
            allocateBudget(curves, budget, count);
        } catch (const Error& e) {
            return e.what();
        }
        return {};
    };
    // Below 1 bit (paper): says what the range is and in which count.
    std::string text = problem(0.5, BitCount::Paper);
    QVERIFY2(text.find("below the minimum of 1.0000") != std::string::npos, text.c_str());
    QVERIFY2(text.find("paper count") != std::string::npos, text.c_str());
    QVERIFY2(text.find("choose 1.0000 to 3.0000") != std::string::npos, text.c_str());
    // The true count's minimum is above 1: 1.0 is already too little there.
    text = problem(1.0, BitCount::True);
    QVERIFY2(text.find("below the minimum") != std::string::npos, text.c_str());
    QVERIFY2(text.find("true count") != std::string::npos, text.c_str());
    text = problem(std::nextafter(curves.minimumBudget(BitCount::True), 0.0), BitCount::True);
    QVERIFY2(text.find("below the minimum") != std::string::npos, text.c_str());
    // Above the maximum: everything at the widest width (3 here) is all that can be spent.
    text = problem(3.5, BitCount::Paper);
    QVERIFY2(text.find("above the maximum of 3.0000") != std::string::npos, text.c_str());
    text = problem(std::nextafter(curves.maximumBudget(BitCount::True), 10.0), BitCount::True);
    QVERIFY2(text.find("above the maximum") != std::string::npos, text.c_str());
    for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
        text = problem(bad, BitCount::Paper);
        QVERIFY2(text.find("bit budget") != std::string::npos, text.c_str());
    }
    // Bad widths for the curves.
    QVERIFY_THROWS_EXCEPTION(Error, computeErrorCurves(m_small, QuantSettings(), {}));
    QVERIFY_THROWS_EXCEPTION(Error, computeErrorCurves(m_small, QuantSettings(), {2, 9}));
    QVERIFY_THROWS_EXCEPTION(Error, computeErrorCurves(m_small, QuantSettings(), {0}));
}

// An allocation only applies to the adapter and the group settings it was made for.
void BitBudgetTest::mismatchRefused()
{
    QuantSettings settings;
    const ErrorCurves curves = computeErrorCurves(m_small, settings);
    const BudgetAllocation allocation = allocateBudget(curves, 2.0, BitCount::True);
    QuantSettings other = settings;
    other.groupSize = 64;
    QVERIFY_THROWS_EXCEPTION(Error, quantizeAdapter(m_small, other, allocation));
    other = settings;
    other.scaleFormat = ScaleFormat::F32;
    QVERIFY_THROWS_EXCEPTION(Error, allocation.applyTo(other));
    std::vector<LoraModule> modules{m_small.modules().front()};
    const Adapter one = Adapter::fromFactors("one", modules, {m_small.factors(0)});
    QVERIFY_THROWS_EXCEPTION(Error, quantizeAdapter(one, settings, allocation));
    // Applying replaces any earlier per-module choices.
    settings.hOverride["not a module"] = 3;
    allocation.applyTo(settings);
    QCOMPARE(settings.hOverride.count("not a module"), std::size_t(0));
    QCOMPARE(settings.hOverride.size(), m_small.modules().size());
}

void BitBudgetTest::beatsUniformRhoShared_data()
{
    QTest::addColumn<QString>("adapter");
    QTest::addColumn<double>("rho");
    QTest::addColumn<BitCount>("count");
    if (!lqtest::haveShared())
        return;
    for (const QString& name : lqtest::sharedAdapterNames())
        for (double rho : {0.8, 0.9})
            for (BitCount count : {BitCount::Paper, BitCount::True})
                QTest::addRow("%s rho %.1f %s count", qPrintable(name), rho,
                              toString(count).c_str())
                    << name << rho << count;
}

// The target on the real adapters: at the average bits (chosen count) of the paper's rule
// with rho and b_h 2, the allocation (b_h from {2, 3, 4}) quantizes with at least 10% less total
// error and no more bits. Uniform rho's 2-bit high parts remove little error per bit (2-bit RTN
// over a group's min..max range is barely better than the 1-bit sign times mean |w|), while 3 and
// 4 bits on the strongest components remove much more, which the allocation finds; so the
// rank-1 adapter (opencalm1b-qkv-r1, h only 0 or 1, uniform rho gives h = 1 everywhere) gains too:
// it spends the same bits on 4-bit components in some modules and 1 bit in the others.
void BitBudgetTest::beatsUniformRhoShared()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QString, adapter);
    QFETCH(double, rho);
    QFETCH(BitCount, count);
    const Adapter loaded = Adapter::load((lqtest::adaptersDir() + "/" + adapter).toStdString());
    QuantSettings uniformSettings;
    uniformSettings.rho = rho;
    uniformSettings.bitsHigh = 2;
    const QuantResult uniform = quantizeAdapter(loaded, uniformSettings);
    const double budget = averageBits(uniform, count);
    const ErrorCurves curves = computeErrorCurves(loaded, QuantSettings());
    const QuantResult allocated =
        quantizeAdapter(loaded, QuantSettings(), allocateBudget(curves, budget, count));
    QVERIFY(averageBits(allocated, count) <= budget);
    qInfo("%s: uniform %.5f at %.4f bits, allocation %.5f at %.4f bits (%+.1f%%)",
          qPrintable(adapter), uniform.relErrTotal, budget, allocated.relErrTotal,
          averageBits(allocated, count), 100 * (allocated.relErrTotal / uniform.relErrTotal - 1));
    QVERIFY2(allocated.relErrTotal <= (1 - kRequiredAdvantage) * uniform.relErrTotal,
             qPrintable(QStringLiteral("%1 vs uniform %2")
                            .arg(allocated.relErrTotal)
                            .arg(uniform.relErrTotal)));
}

// The same on the synthetic llama2-7b rank-16 all-linear adapter (the one the benchmarks use),
// for rho 0.8 and 0.9 in both counts: its first 8 of 32 layers (56 modules, every shape and kind
// it has), in memory. The whole adapter took minutes under the sanitizers; bench_budget measures
// all 224 modules.
void BitBudgetTest::beatsUniformRhoLlama()
{
    const Adapter adapter = lqtest::llamaLike(8);
    QCOMPARE(adapter.modules().size(), std::size_t(56));
    const ErrorCurves curves = computeErrorCurves(adapter, QuantSettings());
    for (double rho : {0.8, 0.9}) {
        QuantSettings uniformSettings;
        uniformSettings.rho = rho;
        const QuantResult uniform = quantizeAdapter(adapter, uniformSettings);
        for (BitCount count : {BitCount::Paper, BitCount::True}) {
            const double budget = averageBits(uniform, count);
            const QuantResult allocated =
                quantizeAdapter(adapter, QuantSettings(), allocateBudget(curves, budget, count));
            qInfo("rho %.1f, %s count: uniform %.5f at %.4f bits, allocation %.5f at %.4f bits "
                  "(%+.1f%%)",
                  rho, toString(count).c_str(), uniform.relErrTotal, budget, allocated.relErrTotal,
                  averageBits(allocated, count),
                  100 * (allocated.relErrTotal / uniform.relErrTotal - 1));
            QVERIFY(averageBits(allocated, count) <= budget);
            QVERIFY(allocated.relErrTotal <= (1 - kRequiredAdvantage) * uniform.relErrTotal);
        }
    }
}

void BitBudgetTest::cliBudget_data()
{
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("countField");
    QTest::addColumn<double>("budget");
    QTest::newRow("paper count (default)")
        << QStringList{"--budget", "1.5"} << "avg_bits_paper" << 1.5;
    QTest::newRow("true count") << QStringList{"--budget", "1.6", "--budget-count", "true"}
                                << "avg_bits_true" << 1.6;
    QTest::newRow("b_h fixed at 3")
        << QStringList{"--budget=2.2", "--bits-high", "3"} << "avg_bits_paper" << 2.2;
    QTest::newRow("with the paper refinement")
        << QStringList{"--budget", "1.3", "--refine", "paper"} << "avg_bits_paper" << 1.3;
}

// `loraquant quantize --budget`: the report's average bits in the chosen count are within the
// budget, the summary says which budget and count, and the report equals the library's result.
void BitBudgetTest::cliBudget()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QStringList, options);
    QFETCH(QString, countField);
    QFETCH(double, budget);
    QTemporaryDir dir;
    const QString report = dir.path() + "/report.json";
    const QString adapter = lqtest::adaptersDir() + "/gptneo125m-qv-r8-f32";
    const Run run = runCli(QStringList{"quantize", adapter, "--report", report} + options);
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains("budget"), run.out.constData());
    QFile file(report);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
    QVERIFY(json.value(countField).toDouble() <= budget);

    // The library, called as the CLI documents it.
    const Adapter loaded = Adapter::load(adapter.toStdString());
    QuantSettings settings;
    std::vector<int> choices{2, 3, 4};
    const int bitsHighAt = int(options.indexOf("--bits-high"));
    if (bitsHighAt >= 0)
        choices = {options[bitsHighAt + 1].toInt()};
    if (options.contains("paper")) {
        settings.refine = Refinement::Paper;
    }
    const BitCount count = options.contains("true") ? BitCount::True : BitCount::Paper;
    const QuantResult expected = quantizeAdapter(
        loaded, settings,
        allocateBudget(computeErrorCurves(loaded, settings, choices), budget, count));
    QCOMPARE(json.value("avg_bits_paper").toDouble(), expected.avgBitsPaper);
    QCOMPARE(json.value("avg_bits_true").toDouble(), expected.avgBitsTrue);
    QCOMPARE(json.value("rel_err_total").toDouble(), expected.relErrTotal);
}

void BitBudgetTest::cliWrongCalls_data()
{
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    QTest::newRow("below the minimum")
        << QStringList{"--budget", "0.8"} << 1 << "below the minimum of 1.0000";
    QTest::newRow("true minimum is above 1")
        << QStringList{"--budget", "1.0", "--budget-count", "true"} << 1 << "true count";
    QTest::newRow("above the maximum")
        << QStringList{"--budget", "4.5"} << 1 << "above the maximum of 4.0000";
    QTest::newRow("above the fixed width")
        << QStringList{"--budget", "2.5", "--bits-high", "2"} << 1 << "above the maximum";
    QTest::newRow("not a number") << QStringList{"--budget", "lots"} << 2 << "--budget";
    QTest::newRow("unknown count")
        << QStringList{"--budget", "2", "--budget-count", "real"} << 2 << "--budget-count";
    QTest::newRow("count without budget")
        << QStringList{"--budget-count", "true"} << 2 << "--budget-count";
    QTest::newRow("budget and rho") << QStringList{"--budget", "2", "--rho", "0.9"} << 2 << "--rho";
    QTest::newRow("budget and split")
        << QStringList{"--budget", "2", "--split", "fixed:2"} << 2 << "--split";
    QTest::newRow("budget and baseline")
        << QStringList{"--budget", "2", "--baseline", "rtn:2"} << 2 << "--baseline";
}

void BitBudgetTest::cliWrongCalls()
{
    LQ_REQUIRE_SHARED();
    QFETCH(QStringList, options);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const Run run =
        runCli(QStringList{"quantize", lqtest::adaptersDir() + "/opencalm1b-qkv-r1-f16"} + options);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(run.err.contains(message.toUtf8()), run.err.constData());
    QVERIFY(run.out.isEmpty() || !run.out.contains("avg bits"));
}

QTEST_GUILESS_MAIN(BitBudgetTest)
#include "bitbudgettest.moc"
