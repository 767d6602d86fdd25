// The workbench's bit budget (app/gui/budgetcurves.h, applybudgetcommand.h) on a document: the
// first budget waits for the error curves measured in the background and then lands as one
// undoable command, the latest of several early requests wins, later budgets apply at once, the
// quantized result never spends more than the budget (paper count) and is what the engine's
// allocation predicts, undo restores the rule, and new group settings are measured again.

#include "adapterdocument.h"
#include "applybudgetcommand.h"
#include "budgetcurves.h"
#include "core/engine/reparameterize.h"
#include "exampleadapter.h"

#include <QSignalSpy>
#include <QTest>
#include <QUndoStack>
#include <memory>

using lq::gui::AdapterDocument;
using lq::gui::ApplyBudgetCommand;
using lq::gui::BudgetCurves;

namespace {

constexpr int kJobTimeoutMs = 120000;
// The document's quantization and the engine's curves measure the same error by differently
// ordered double sums (core/engine/bitbudget.h): 1e-6 of a relative error is far above that.
constexpr double kPredictionTolerance = 1e-6;

std::unique_ptr<AdapterDocument> openExample(const lq::QuantSettings& settings = {})
{
    auto adapter = std::make_shared<const lq::Adapter>(
        lq::Adapter::load(lq::gui::exampleAdapterPath().toStdString()));
    std::vector<std::vector<double>> spectra;
    for (std::size_t i = 0; i < adapter->modules().size(); ++i) {
        const lq::ModuleFactors factors = adapter->factors(i);
        const Eigen::VectorXf s = lq::reparameterize(factors.B, factors.A).singularValues;
        spectra.emplace_back(s.data(), s.data() + s.size());
    }
    auto document = std::make_unique<AdapterDocument>(adapter, std::move(spectra), settings);
    document->quantize();
    return document;
}

bool waitCurrent(AdapterDocument* document)
{
    return QTest::qWaitFor(
        [&] { return document->resultState() == AdapterDocument::ResultState::Current; },
        kJobTimeoutMs);
}

const ApplyBudgetCommand* lastBudget(const AdapterDocument& document)
{
    const QUndoStack* stack = document.undoStack();
    return stack->index() > 0
               ? dynamic_cast<const ApplyBudgetCommand*>(stack->command(stack->index() - 1))
               : nullptr;
}

} // namespace

class BudgetTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void firstBudgetWaitsForCurves();
    void latestEarlyRequestWins();
    void laterBudgetsApplyAtOnce();
    void neverAboveBudgetAcrossSlider();
    void groupSettingsMeasuredAgain();
};

void BudgetTest::initTestCase()
{
    if (lq::gui::exampleAdapterPath().isEmpty())
        QSKIP("the bundled example adapter (resources/example-adapter) is missing");
}

void BudgetTest::firstBudgetWaitsForCurves()
{
    const auto document = openExample();
    QVERIFY(waitCurrent(document.get()));
    const double ruleError = document->result().relErrTotal;
    BudgetCurves* budget = document->budgetCurves();
    QCOMPARE(budget->parent(), document.get()); // one per document, made with it
    QVERIFY(!budget->curves());
    QSignalSpy ready(budget, &BudgetCurves::ready);

    budget->apply(1.5);
    QCOMPARE(document->undoStack()->count(), 0); // measured in the background first
    QVERIFY(budget->isComputing());
    QTRY_COMPARE_WITH_TIMEOUT(document->undoStack()->count(), 1, kJobTimeoutMs);
    QCOMPARE(ready.size(), 1);
    QVERIFY(waitCurrent(document.get()));

    // What the engine allocates for this budget, computed independently.
    const lq::ErrorCurves curves =
        lq::computeErrorCurves(document->adapter(), document->settings());
    const lq::BudgetAllocation expected = lq::allocateBudget(curves, 1.5, lq::BitCount::Paper);
    const lq::QuantResult& result = document->result();
    QVERIFY(result.avgBitsPaper <= 1.5);
    QCOMPARE(result.avgBitsPaper, expected.avgBitsPaper);
    QVERIFY(std::abs(result.relErrTotal - expected.relErrTotal) <= kPredictionTolerance);
    for (int i = 0; i < document->moduleCount(); ++i) {
        QCOMPARE(document->effectiveH(i), expected.h[std::size_t(i)]);
        QCOMPARE(document->effectiveBitsHigh(i), expected.bitsHigh[std::size_t(i)]);
    }
    QVERIFY(lastBudget(*document));
    QCOMPARE(lastBudget(*document)->budget(), 1.5);

    // Undo brings the rule back, with its error.
    document->undoStack()->undo();
    QVERIFY(waitCurrent(document.get()));
    QVERIFY(!document->hOverride(0).has_value());
    QVERIFY(!document->bitsHighOverride(0).has_value());
    QCOMPARE(document->result().relErrTotal, ruleError);
}

void BudgetTest::latestEarlyRequestWins()
{
    const auto document = openExample();
    BudgetCurves* budget = document->budgetCurves();
    budget->apply(1.2);
    budget->apply(2.5);
    QTRY_COMPARE_WITH_TIMEOUT(document->undoStack()->count(), 1, kJobTimeoutMs);
    QTest::qWait(50); // nothing else arrives
    QCOMPARE(document->undoStack()->count(), 1);
    QCOMPARE(lastBudget(*document)->budget(), 2.5);
    QVERIFY(waitCurrent(document.get()));
    QVERIFY(document->result().avgBitsPaper <= 2.5);
}

void BudgetTest::laterBudgetsApplyAtOnce()
{
    const auto document = openExample();
    BudgetCurves* budget = document->budgetCurves();
    budget->apply(1.5);
    QTRY_VERIFY_WITH_TIMEOUT(budget->curves() != nullptr, kJobTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(document->undoStack()->count(), 1, kJobTimeoutMs);
    budget->apply(2.0);
    QCOMPARE(document->undoStack()->count(), 2); // no waiting: the curves are there
    QCOMPARE(lastBudget(*document)->budget(), 2.0);
    // Outside the slider's range: clamped to it, not refused.
    budget->apply(9.0);
    QCOMPARE(lastBudget(*document)->budget(), BudgetCurves::kMaximumBits);
    budget->apply(0.2);
    QCOMPARE(lastBudget(*document)->budget(), BudgetCurves::kMinimumBits);
    QVERIFY(waitCurrent(document.get()));
    QCOMPARE(document->result().avgBitsPaper, 1.0); // every component in 1 bit
}

// Every slider position (0.01 bit steps over 1..4): the allocation never spends more than the
// budget and more budget never gives more predicted error; a few are quantized for real.
void BudgetTest::neverAboveBudgetAcrossSlider()
{
    const auto document = openExample();
    BudgetCurves* budget = document->budgetCurves();
    budget->apply(1.0);
    QTRY_VERIFY_WITH_TIMEOUT(budget->curves() != nullptr, kJobTimeoutMs);
    double previousError = 2.0;
    for (int step = 0; step <= 300; ++step) {
        const double bits = BudgetCurves::kMinimumBits + 0.01 * step;
        budget->apply(bits);
        const lq::BudgetAllocation& allocation = lastBudget(*document)->allocation();
        QVERIFY2(allocation.avgBitsPaper <= allocation.budget,
                 qPrintable(QStringLiteral("%1 > %2").arg(allocation.avgBitsPaper).arg(bits)));
        QVERIFY(allocation.relErrTotal <= previousError * (1 + 1e-12));
        previousError = allocation.relErrTotal;
        if (step % 75 == 37) {
            QVERIFY(waitCurrent(document.get()));
            QVERIFY(document->result().avgBitsPaper <= allocation.budget);
        }
    }
}

// New group settings: the old curves no longer apply (their true bits are for other groups); the
// next budget is measured again, for the new groups.
void BudgetTest::groupSettingsMeasuredAgain()
{
    const auto document = openExample();
    BudgetCurves* budget = document->budgetCurves();
    budget->apply(1.5);
    QTRY_VERIFY_WITH_TIMEOUT(budget->curves() != nullptr, kJobTimeoutMs);
    lq::QuantSettings settings = document->settings();
    settings.groupSize = 32;
    document->setSettings(settings);
    QVERIFY(!budget->curves());
    const int before = document->undoStack()->count();
    budget->apply(1.7);
    QTRY_COMPARE_WITH_TIMEOUT(document->undoStack()->count(), before + 1, kJobTimeoutMs);
    QCOMPARE(budget->curves()->groupSize, 32);
    QVERIFY(waitCurrent(document.get()));
    QCOMPARE(document->settings().groupSize, 32);
    QVERIFY(document->result().avgBitsPaper <= 1.7);
}

QTEST_MAIN(BudgetTest)
#include "budgettest.moc"
