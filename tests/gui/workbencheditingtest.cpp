// Changing how an adapter is quantized in the workbench: the split marker dragged with the mouse,
// the settings panel applied to one module or all, the bit-budget slider moved, a plan read from
// a file; each one undoable step whose result reaches the tree and the plots.
#include "applybudgetcommand.h"
#include "budgetcurves.h"
#include "changesettingscommand.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/baseline.h"
#include "core/engine/report.h"
#include "job.h"
#include "statuspanel.h"
#include "viewdata.h"
#include "widgets/errorbarplot.h"
#include "widgets/settingspanel.h"
#include "widgets/spectrumplot.h"
#include "workbenchharness.h"

#include <QDoubleSpinBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QTreeView>
#include <QUndoStack>

using namespace lqtest;
using lq::gui::Job;

class WorkbenchEditingTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void baselinesFollowTheResult();
    void dragSplitUpdatesModule_data() { addAdapterRows(2); }
    void dragSplitUpdatesModule();
    void budgetSliderMeetsBudget_data();
    void budgetSliderMeetsBudget();
    void applyToAllAndUndo();
    void appliesPlanFromFile();

private:
    QTemporaryDir m_scratch;
};

void WorkbenchEditingTest::initTestCase()
{
    QVERIFY2(!lq::gui::exampleAdapterPath().isEmpty(), "the bundled example adapter is missing");
}

void WorkbenchEditingTest::baselinesFollowTheResult()
{
    // The whole-adapter baselines are measured after the result is shown, never before it (on a
    // large adapter they take as long as the quantization), then drawn in the Error view; a new
    // group size measures them again and the view never shows ones for the old groups.
    Bench bench;
    bench.chooser->next = lq::gui::exampleAdapterPath();
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    bench.window.actions()->open()->trigger();
    QVERIFY(opened.wait(kJobTimeoutMs));
    auto* document = qvariant_cast<AdapterDocument*>(opened.at(0).at(0));
    int baselineJobs = 0;
    bool resultShownFirst = true;
    connect(document, &AdapterDocument::jobStarted, this, [&](Job* job) {
        if (job != document->baselineJob())
            return;
        ++baselineJobs;
        resultShownFirst = resultShownFirst && document->hasResult() &&
                           document->resultState() == AdapterDocument::ResultState::Current;
    });
    QVERIFY(waitIdle(document));
    QCOMPARE(baselineJobs, 1);
    QVERIFY(resultShownFirst);

    const auto checkBaselines = [&](int groupSize) {
        const lq::gui::BaselineErrors* rtn2 = document->rtn2Baseline();
        QVERIFY(rtn2 && document->binaryBaseline());
        QCOMPARE(rtn2->groupSize, groupSize);
        QCOMPARE(int(rtn2->perModule.size()), document->moduleCount());
        lq::BaselineSettings baseline;
        baseline.method = lq::BaselineMethod::Rtn;
        baseline.bits = 2;
        baseline.groupSize = groupSize;
        QCOMPARE(rtn2->total, lq::quantizeBaseline(document->adapter(), baseline).relErrTotal);
        QCOMPARE(bench.window.presenter()->errorView()->errorPlot()->referenceCount(), 2);
    };
    checkBaselines(document->settings().groupSize);

    lq::QuantSettings settings = document->settings();
    settings.groupSize = 64;
    document->undoStack()->push(
        new lq::gui::ChangeSettingsCommand(document, settings, QStringLiteral("groups of 64")));
    QVERIFY(waitCurrent(document));
    QVERIFY(!document->rtn2Baseline() || document->rtn2Baseline()->groupSize == 64);
    QVERIFY(bench.window.presenter()->errorView()->errorPlot()->referenceCount() == 0 ||
            document->rtn2Baseline());
    QVERIFY(waitIdle(document));
    QCOMPARE(baselineJobs, 2);
    QVERIFY(resultShownFirst);
    checkBaselines(64);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchEditingTest::dragSplitUpdatesModule()
{
    QFETCH(QString, path);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    QVERIFY(QTest::qWaitForWindowExposed(&bench.window));

    // Choose the last module by clicking it in the tree.
    const int module = document->moduleCount() - 1;
    QTreeView* tree = bench.window.presenter()->tree();
    const QModelIndex index =
        shownRow(bench, bench.window.presenter()->treeModel()->indexOf(document, module));
    tree->expand(index.parent());
    tree->scrollTo(index);
    QTest::mouseClick(tree->viewport(), Qt::LeftButton, {}, tree->visualRect(index).center());
    QCOMPARE(bench.window.presenter()->currentModule(), module);

    const lq::LoraModule& m = document->module(module);
    const int before = document->effectiveH(module);
    const int after = before + 2 <= m.r ? before + 2 : before - 1;
    const double errorBefore = document->moduleResult(module)->relErr;
    QLabel* summary = bench.window.presenter()->spectrumView()->summaryLabel();
    QVERIFY(plainText(summary).contains(QStringLiteral("h = %1 of").arg(before)));
    // A narrow window wraps the summary between its parts only, never between a figure and its
    // name.
    QVERIFY2(summary->text().contains(QStringLiteral("relative&nbsp;error&nbsp;<b>")),
             qPrintable(summary->text()));

    lq::widgets::SpectrumPlot* plot = bench.window.presenter()->spectrumView()->plot();
    plot->replotNow();
    QWidget* canvas = plot->canvas();
    QTest::mousePress(canvas, Qt::LeftButton, {}, plot->positionForSplit(before));
    QTest::mouseMove(canvas, plot->positionForSplit(after));
    // While dragging: the shown h, bits and error follow; the document is not edited yet.
    QString live = plainText(summary);
    QVERIFY2(live.contains(QStringLiteral("h = %1 of").arg(after)), qPrintable(live));
    QVERIFY2(live.contains(QStringLiteral("while dragging")), qPrintable(live));
    QCOMPARE(document->effectiveH(module), before);
    QCOMPARE(document->undoStack()->count(), 0);

    QTest::mouseRelease(canvas, Qt::LeftButton, {}, plot->positionForSplit(after));
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->effectiveH(module), after);
    QCOMPARE(document->hOverride(module), std::optional<int>(after));
    QCOMPARE(document->undoStack()->count(), 1);
    const lq::ModuleResult* result = document->moduleResult(module);
    QCOMPARE(result->h, after);
    // Bits: the paper's count per weight is (h b_h + (r - h)) / r, as the label shows.
    const int bits = document->effectiveBitsHigh(module);
    const double paperPerWeight = double(after * bits + (m.r - after)) / m.r;
    const QString shown = plainText(summary);
    QVERIFY2(shown.contains(QStringLiteral("h = %1 of").arg(after)), qPrintable(shown));
    QVERIFY2(shown.contains(QStringLiteral("%1 paper").arg(paperPerWeight, 0, 'f', 3)),
             qPrintable(shown));
    QVERIFY2(shown.contains(QStringLiteral("%1 true").arg(
                 result->bitsTrue / double(m.parameterCount()), 0, 'f', 3)),
             qPrintable(shown));
    QVERIFY(!shown.contains(QStringLiteral("while dragging")));
    // More components in high precision lower the error, fewer raise it.
    if (after > before)
        QVERIFY2(result->relErr < errorBefore, qPrintable(shown));
    else
        QVERIFY2(result->relErr > errorBefore, qPrintable(shown));
    QVERIFY(shown.contains(QString::number(result->relErr, 'f', 4)));
    // The tree row says the same.
    QCOMPARE(treeText(bench, document, module, AdapterTreeModel::HColumn).toInt(), after);
    QCOMPARE(treeText(bench, document, module, AdapterTreeModel::ErrorColumn),
             QString::number(result->relErr, 'f', 4));

    // Edit > Undo and Redo.
    bench.window.actions()->undo()->trigger();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->effectiveH(module), before);
    QCOMPARE(document->hOverride(module), std::nullopt);
    QCOMPARE(document->moduleResult(module)->relErr, errorBefore);
    QCOMPARE(plot->split(), before);
    bench.window.actions()->redo()->trigger();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->effectiveH(module), after);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchEditingTest::budgetSliderMeetsBudget_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<double>("budget");
    for (double budget : {1.2, 1.5, 1.8}) {
        QTest::addRow("example, %.1f bits", budget) << lq::gui::exampleAdapterPath() << budget;
        if (lqtest::haveShared())
            QTest::addRow("gptneo, %.1f bits", budget)
                << lqtest::adaptersDir() + QStringLiteral("/gptneo125m-qv-r8-f32") << budget;
    }
}

void WorkbenchEditingTest::budgetSliderMeetsBudget()
{
    QFETCH(QString, path);
    QFETCH(double, budget);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    auto* slider = bench.window.findChild<QSlider*>(QStringLiteral("budgetSlider"));
    QVERIFY(slider);
    // Drag the slider and let go.
    const int value = int(std::lround((budget - 1.0) / lq::widgets::SettingsPanel::kBudgetStep));
    slider->setSliderDown(true);
    slider->setSliderPosition(value / 2);
    slider->setSliderPosition(value);
    slider->setSliderDown(false);
    // The first budget waits for the document's error curves (budgetcurves.h), measured in the
    // background; then the allocation is one undoable command.
    QTRY_COMPARE_WITH_TIMEOUT(document->undoStack()->count(), 1, kJobTimeoutMs);
    QVERIFY(waitCurrent(document));

    const lq::QuantResult& result = document->result();
    // The budget is met from below: never above it, and short of it by less than the largest
    // change one module can make (all its components from 1 to 4 bits), else that would have
    // fitted (core/engine/bitbudget.h).
    constexpr double kSumRounding = 1e-12;
    QVERIFY2(result.avgBitsPaper <= budget + kSumRounding,
             qPrintable(QString::number(result.avgBitsPaper)));
    double weights = 0, largestStep = 0;
    for (int i = 0; i < document->moduleCount(); ++i) {
        const lq::LoraModule& m = document->module(i);
        weights += double(m.parameterCount());
        largestStep = std::max(largestStep, double(m.parameterCount()) * (4 - 1));
    }
    QVERIFY2(result.avgBitsPaper > budget - largestStep / weights,
             qPrintable(QString::number(result.avgBitsPaper)));
    // Every module now has its h and high width set by the budget, and the status bar shows
    // the new average.
    for (int i = 0; i < document->moduleCount(); ++i) {
        QVERIFY(document->hOverride(i).has_value());
        QVERIFY(document->bitsHighOverride(i).has_value());
    }
    QVERIFY(bench.window.presenter()->statusPanel()->totalsLabel()->text().contains(
        QStringLiteral("%1 paper").arg(result.avgBitsPaper, 0, 'f', 3)));
    // Undo brings the rule back.
    bench.window.actions()->undo()->trigger();
    QVERIFY(waitCurrent(document));
    QVERIFY(!document->hOverride(0).has_value());
}

void WorkbenchEditingTest::applyToAllAndUndo()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    const double errorBefore = document->result().relErrTotal;
    auto* rho = bench.window.findChild<QDoubleSpinBox*>(QStringLiteral("rho"));
    auto* apply = bench.window.findChild<QPushButton*>(QStringLiteral("applyAll"));
    QVERIFY(rho && apply);
    rho->setValue(0.97);
    QTest::mouseClick(apply, Qt::LeftButton);
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->settings().rho, 0.97);
    // More energy in high precision: more bits, less error.
    QVERIFY(document->result().relErrTotal < errorBefore);
    QVERIFY(document->result().avgBitsPaper > 1.125);
    bench.window.actions()->undo()->trigger();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->settings().rho, 0.8);
    QCOMPARE(document->result().relErrTotal, errorBefore);
    QCOMPARE(rho->value(), 0.8); // the panel shows the document's settings again
}

void WorkbenchEditingTest::appliesPlanFromFile()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QVERIFY(document->settings().hOverride.empty());
    // A plan with its own h and width per module, as hand-tuning leaves it, and other groups.
    const lq::Adapter& adapter = document->adapter();
    lq::QuantSettings tuned;
    tuned.groupSize = 64;
    for (std::size_t i = 0; i < adapter.modules().size(); ++i) {
        const lq::LoraModule& module = adapter.modules()[i];
        tuned.hOverride[module.name] = int(i) % (module.r + 1);
        tuned.bitsHighOverride[module.name] = 2 + int(i) % 3;
    }
    const lq::QuantResult planned = lq::quantizeAdapter(adapter, tuned);
    const QString plan = bench.dir.filePath(QStringLiteral("tuned.json"));
    lq::writeReport(plan.toStdString(), planned);

    // Applies through the menu; true once the plan landed on the undo stack or was refused.
    const auto applyPlan = [&](const QString& path) {
        const int index = document->undoStack()->index();
        bench.chooser->next = path;
        bench.window.actions()->applyPlan()->trigger();
        return QTest::qWaitFor(
            [&] {
                return document->undoStack()->index() != index || !bench.reporter->errors.isEmpty();
            },
            kJobTimeoutMs);
    };
    QVERIFY(applyPlan(plan));
    QVERIFY2(bench.reporter->errors.isEmpty(), qPrintable(bench.reporter->errors.join('\n')));
    QVERIFY(document->undoStack()->undoText().contains(QStringLiteral("tuned.json")));
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->settings().groupSize, 64);
    QVERIFY(document->settings().hOverride == tuned.hOverride);
    QVERIFY(document->settings().bitsHighOverride == tuned.bitsHighOverride);
    // The same choices on the same factors: the same result as the run that wrote the plan.
    QCOMPARE(document->result().avgBitsTrue, planned.avgBitsTrue);
    QCOMPARE(document->result().relErrTotal, planned.relErrTotal);

    bench.window.actions()->undo()->trigger();
    QVERIFY(waitCurrent(document));
    QVERIFY(document->settings().hOverride.empty());
    QCOMPARE(document->settings().groupSize, lq::QuantSettings().groupSize);

    // Another adapter's plan is refused, naming the file and a module, and changes nothing.
    const QString other = bench.dir.filePath(QStringLiteral("other"));
    writeTextSortedAdapter(other);
    const QString otherPlan = bench.dir.filePath(QStringLiteral("other.json"));
    lq::writeReport(otherPlan.toStdString(),
                    lq::quantizeAdapter(lq::Adapter::load(other.toStdString()), {}));
    const int index = document->undoStack()->index();
    QVERIFY(applyPlan(otherPlan));
    QCOMPARE(bench.reporter->errors.size(), 1);
    const QString error = bench.reporter->errors.first();
    const bool namesAModule = std::any_of(
        adapter.modules().begin(), adapter.modules().end(), [&](const lq::LoraModule& m) {
            return error.contains(QString::fromStdString(m.name) + QLatin1Char(','));
        });
    QVERIFY2(error.contains(QStringLiteral("other.json")) &&
                 error.contains(QStringLiteral("not in the plan")) && namesAModule,
             qPrintable(error));
    QCOMPARE(document->undoStack()->index(), index);
    QVERIFY(document->settings().hOverride.empty());
}

QTEST_MAIN(WorkbenchEditingTest)
#include "workbencheditingtest.moc"
