// The workbench's background work: quantization, kernel validation, the bit budget's error
// curves, the trade-off sweep and exports run off the UI thread with progress in the status bar,
// the window stays usable meanwhile, and Cancel or closing the window mid-job leaves the last
// good result and no half-written file.
#include "applybudgetcommand.h"
#include "budgetcurves.h"
#include "core/engine/adapterquantizer.h"
#include "exportjob.h"
#include "paretosweep.h"
#include "setmodulesplitcommand.h"
#include "statuspanel.h"
#include "viewdata.h"
#include "widgets/errorbarplot.h"
#include "widgets/paretoplot.h"
#include "widgets/settingspanel.h"
#include "widgets/spectrumplot.h"
#include "workbenchharness.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScopeGuard>
#include <QSlider>
#include <QStatusBar>
#include <QThread>
#include <QUndoStack>
#include <atomic>
#include <cmath>

using namespace lqtest;
using lq::gui::Job;

class WorkbenchJobsTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void quantizeJobFinishes();
    void cancelQuantizeKeepsPreviousResult();
    void cancelValidationLeavesNoResult();
    void budgetSliderStaysLive();
    void paretoSweepInBackground();
    void tradeOffFollowsTheCurrentAdapter();
    void cancelSweepKeepsNothing();
    void cancelExportLeavesNothing();
    void closeWindowMidJob();
    void jobProgressPaintsLater();
    void outOfMemoryNamesTheJob();

private:
    QTemporaryDir m_scratch;
    QString m_large; // big enough that jobs can be cancelled mid-way
};

void WorkbenchJobsTest::initTestCase()
{
    QVERIFY2(!lq::gui::exampleAdapterPath().isEmpty(), "the bundled example adapter is missing");
    m_large = writeLargeAdapter(m_scratch.filePath(QStringLiteral("llama2-7b-qv-r16")));
}

void WorkbenchJobsTest::quantizeJobFinishes()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    QSignalSpy started(document, &AdapterDocument::jobStarted);
    QSignalSpy finished(document, &AdapterDocument::jobFinished);
    bench.window.actions()->quantize()->trigger();
    QCOMPARE(started.size(), 1);
    auto* job = qvariant_cast<Job*>(started.at(0).at(0));
    QSignalSpy progressed(job, &Job::progressed);
    // The status bar shows the job with a Cancel button while it runs.
    QVERIFY(bench.window.presenter()->statusPanel()->progressBar()->isVisible());
    QVERIFY(bench.window.presenter()->statusPanel()->cancelButton()->isVisible());
    QVERIFY(bench.window.statusBar()->currentMessage().contains(QStringLiteral("validating")));
    QVERIFY(finished.wait(kJobTimeoutMs));
    QCOMPARE(qvariant_cast<Job::Outcome>(finished.at(0).at(0)), Job::Outcome::Succeeded);
    QVERIFY(!progressed.isEmpty());
    QCOMPARE(progressed.last().at(0).toInt(), progressed.last().at(1).toInt()); // all done
    // One bar over both passes: every module quantized, then every module's kernel checked
    // (the baselines were computed when the adapter opened).
    QCOMPARE(progressed.last().at(1).toInt(), 2 * document->moduleCount());
    QCOMPARE(document->resultState(), AdapterDocument::ResultState::Current);
    QVERIFY(!bench.window.presenter()->statusPanel()->progressBar()->isVisible());

    // The kernels were checked on this result, every module, and the person is told so.
    QVERIFY(document->validation());
    const lq::KernelValidationResult& validation = *document->validation();
    QCOMPARE(int(validation.modules.size()), document->moduleCount());
    QVERIFY(validation.passed);
    QVERIFY(validation.maxRelError <= validation.tolerance);
    const QString message = bench.window.statusBar()->currentMessage();
    QVERIFY2(message.contains(
                 QStringLiteral("CPU kernels validated: %1 modules").arg(document->moduleCount())),
             qPrintable(message));
    QVERIFY(bench.window.presenter()->statusPanel()->totalsLabel()->text().contains(
        QStringLiteral("kernels validated")));
    QVERIFY(bench.reporter->errors.isEmpty());

    // An edit makes it describe an older result: no longer claimed.
    document->undoStack()->push(new lq::gui::SetModuleSplitCommand(document, 0, 1, std::nullopt));
    QVERIFY(waitCurrent(document));
    QVERIFY(!document->validation());
    QVERIFY(!bench.window.presenter()->statusPanel()->totalsLabel()->text().contains(
        QStringLiteral("kernels validated")));
}

void WorkbenchJobsTest::cancelQuantizeKeepsPreviousResult()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    const auto previous = document->sharedResult();
    std::vector<double> errors;
    for (const lq::ModuleResult& module : previous->modules)
        errors.push_back(module.relErr);

    // Choosing the paper refinement starts a whole-adapter job (seconds for this adapter).
    QSignalSpy started(document, &AdapterDocument::jobStarted);
    QSignalSpy finished(document, &AdapterDocument::jobFinished);
    auto* refine = bench.window.findChild<QComboBox*>(QStringLiteral("refinement"));
    refine->setCurrentIndex(refine->findData(int(lq::Refinement::Paper)));
    QCOMPARE(started.size(), 1);
    auto* job = qvariant_cast<Job*>(started.at(0).at(0));
    QSignalSpy progressed(job, &Job::progressed);
    QVERIFY(progressed.wait(kJobTimeoutMs));
    QVERIFY(job->isRunning());
    QTest::mouseClick(bench.window.presenter()->statusPanel()->cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(kJobTimeoutMs));
    QCOMPARE(qvariant_cast<Job::Outcome>(finished.at(0).at(0)), Job::Outcome::Cancelled);
    QVERIFY2(job->done() < job->total(), "the job ended before the cancel took effect");

    // No partial result: the previous one stays, unchanged, marked out of date.
    QCOMPARE(document->sharedResult(), previous);
    for (std::size_t i = 0; i < errors.size(); ++i)
        QCOMPARE(document->result().modules[i].relErr, errors[i]);
    QCOMPARE(document->resultState(), AdapterDocument::ResultState::Stale);
    QVERIFY(bench.window.presenter()->statusPanel()->totalsLabel()->text().contains(
        QStringLiteral("out of date")));
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchJobsTest::cancelValidationLeavesNoResult()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    const auto previous = document->sharedResult();
    const int modules = document->moduleCount();
    QSignalSpy started(document, &AdapterDocument::jobStarted);
    QSignalSpy finished(document, &AdapterDocument::jobFinished);
    bench.window.actions()->quantize()->trigger();
    QCOMPARE(started.size(), 1);
    auto* job = qvariant_cast<Job*>(started.at(0).at(0));
    // Cancel with the Cancel button once the validation pass has begun (past every module's
    // quantization), so that what is dropped is a half-done validation.
    bool clicked = false;
    connect(job, &Job::progressed, this, [&](int done, int total) {
        if (!clicked && done > modules && done < total) {
            clicked = true;
            QTest::mouseClick(bench.window.presenter()->statusPanel()->cancelButton(),
                              Qt::LeftButton);
        }
    });
    QVERIFY(finished.wait(kJobTimeoutMs));
    QVERIFY2(clicked, "the validation pass went by before the test could cancel it");
    QCOMPARE(qvariant_cast<Job::Outcome>(finished.at(0).at(0)), Job::Outcome::Cancelled);

    // Nothing from the cancelled job: the previous result, unchanged, out of date, and no
    // claim that the kernels were validated.
    QCOMPARE(document->sharedResult(), previous);
    QCOMPARE(document->resultState(), AdapterDocument::ResultState::Stale);
    QVERIFY(!document->validation());
    const QString totals = bench.window.presenter()->statusPanel()->totalsLabel()->text();
    QVERIFY2(totals.contains(QStringLiteral("out of date")), qPrintable(totals));
    QVERIFY(!totals.contains(QStringLiteral("validated")));
    QVERIFY(!bench.window.statusBar()->currentMessage().contains(QStringLiteral("validated")));
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchJobsTest::budgetSliderStaysLive()
{
    // A 7B-sized adapter, where the error curves take seconds: none of it on the UI thread.
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    auto* slider = bench.window.findChild<QSlider*>(QStringLiteral("budgetSlider"));
    auto* prediction = bench.window.findChild<QLabel*>(QStringLiteral("budgetPrediction"));
    QVERIFY(slider && prediction);
    const auto drag = [&](double bits) {
        const int value = int(std::lround((bits - 1.0) / lq::widgets::SettingsPanel::kBudgetStep));
        slider->setSliderDown(true);
        slider->setSliderPosition(value);
    };
    lq::gui::BudgetCurves* curves = document->budgetCurves();

    // The first release hands the curves to a background job: back at once, with progress and
    // Cancel in the status bar, nothing applied yet.
    drag(1.3);
    QVERIFY(prediction->isVisible()); // says what letting go will do
    slider->setSliderDown(false);
    QVERIFY(curves->isComputing());
    QCOMPARE(document->undoStack()->count(), 0);
    QVERIFY(bench.window.presenter()->statusPanel()->progressBar()->isVisible());
    QVERIFY(bench.window.presenter()->statusPanel()->cancelButton()->isVisible());
    // The window works meanwhile: another module chosen in the tree is shown.
    const int other = document->moduleCount() - 1;
    bench.window.presenter()->selectModule(document, other);
    QCOMPARE(bench.window.presenter()->currentModule(), other);
    QCOMPARE(bench.window.presenter()->spectrumView()->plot()->rank(), document->module(other).r);
    // A second budget while measuring: only the latest lands, once.
    drag(1.6);
    slider->setSliderDown(false);
    QTRY_COMPARE_WITH_TIMEOUT(document->undoStack()->count(), 1, kJobTimeoutMs);
    auto* applied =
        dynamic_cast<const lq::gui::ApplyBudgetCommand*>(document->undoStack()->command(0));
    QVERIFY(applied);
    QCOMPARE(applied->budget(), 1.6);
    QVERIFY(waitCurrent(document));

    // With the curves in hand the slider is live: each position shows what it buys while
    // dragging (no quantization, no edit) ...
    drag(1.45);
    const lq::BudgetAllocation expected =
        lq::allocateBudget(*curves->curves(), 1.45, lq::BitCount::Paper);
    const QString shown = prediction->text();
    QVERIFY2(shown.contains(QStringLiteral("%1 bits paper").arg(expected.avgBitsPaper, 0, 'f', 3)),
             qPrintable(shown));
    QVERIFY2(shown.contains(QStringLiteral("error %1").arg(expected.relErrTotal, 0, 'f', 4)),
             qPrintable(shown));
    QCOMPARE(document->undoStack()->count(), 1);
    QVERIFY(!document->activeJob());
    // ... and letting go applies it before control returns to the event loop: the edit is on
    // the undo stack and its quantization runs in the background.
    slider->setSliderDown(false);
    QCOMPARE(document->undoStack()->count(), 2);
    QVERIFY(document->activeJob());
    QVERIFY(!curves->isComputing());
    QVERIFY(prediction->isHidden());
    QVERIFY(waitCurrent(document));
    QVERIFY(document->result().avgBitsPaper <= 1.45 + 1e-12);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchJobsTest::paretoSweepInBackground()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Error);
    lq::widgets::ParetoPlot* plot = bench.window.presenter()->errorView()->paretoPlot();
    QCOMPARE(plot->seriesCount(), 0);
    // The current setting is marked before any sweep: the document's own bits and error.
    QVERIFY(plot->hasCurrent());
    QCOMPARE(plot->current(),
             QPointF(document->result().avgBitsTrue, document->result().relErrTotal));

    lq::gui::ParetoSweep* sweep = document->paretoSweep();
    QSignalSpy finished(sweep, &lq::gui::ParetoSweep::finished);
    QTest::mouseClick(bench.window.presenter()->errorView()->sweepButton(), Qt::LeftButton);
    QVERIFY(sweep->isRunning());
    // In the background: progress and Cancel in the status bar, the button waits.
    QVERIFY(bench.window.presenter()->statusPanel()->progressBar()->isVisible());
    QVERIFY(bench.window.presenter()->statusPanel()->cancelButton()->isVisible());
    QVERIFY(!bench.window.presenter()->errorView()->sweepButton()->isEnabled());
    QVERIFY(finished.wait(kJobTimeoutMs));
    QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));
    QVERIFY(bench.window.presenter()->errorView()->sweepButton()->isEnabled());

    // One curve per method, each a Pareto front: more bits, less error, left to right.
    const lq::SweepResult* result = sweep->result();
    QVERIFY(result);
    QCOMPARE(plot->seriesCount(), int(result->settings.methods.size()));
    for (const auto& series : plot->series()) {
        QVERIFY2(!series.bits.empty(), qPrintable(series.name));
        for (std::size_t i = 1; i < series.bits.size(); ++i) {
            QVERIFY2(series.bits[i] > series.bits[i - 1], qPrintable(series.name));
            QVERIFY2(series.errors[i] < series.errors[i - 1], qPrintable(series.name));
        }
        QCOMPARE(series.labels.size(), qsizetype(series.bits.size()));
    }
    // Every row of the sweep is on or above its method's front (none is left out that beats it).
    for (const lq::SweepRow& row : result->rows) {
        const QString name = lq::gui::sweepMethodName(row.method);
        const auto found = std::find_if(plot->series().begin(), plot->series().end(),
                                        [&](const auto& one) { return one.name == name; });
        QVERIFY(found != plot->series().end());
        bool covered = false;
        for (std::size_t i = 0; i < found->bits.size(); ++i)
            covered |= found->bits[i] <= row.avgBitsTrue && found->errors[i] <= row.relErrTotal;
        QVERIFY2(covered, row.setting.c_str());
    }
    // The sweep used the document's storage, so its rows and the marked setting compare.
    QCOMPARE(result->settings.groupSize, document->settings().groupSize);
    QVERIFY(result->settings.layout == document->settings().layout);
    QVERIFY(result->settings.scaleFormat == document->settings().scaleFormat);

    // The mark follows the settings: more energy in high precision moves it right and down.
    const QPointF before = plot->current();
    auto* rho = bench.window.findChild<QDoubleSpinBox*>(QStringLiteral("rho"));
    rho->setValue(0.97);
    QTest::mouseClick(bench.window.findChild<QPushButton*>(QStringLiteral("applyAll")),
                      Qt::LeftButton);
    QVERIFY(waitCurrent(document));
    QCOMPARE(plot->current(),
             QPointF(document->result().avgBitsTrue, document->result().relErrTotal));
    QVERIFY(plot->current().x() > before.x());
    QVERIFY(plot->current().y() < before.y());
    QCOMPARE(plot->seriesCount(), int(result->settings.methods.size())); // same group settings

    // Another group size measures bits differently: the sweep no longer applies.
    auto* group = bench.window.findChild<QComboBox*>(QStringLiteral("groupSize"));
    QVERIFY(group);
    group->setCurrentIndex(group->findData(64));
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->settings().groupSize, 64);
    QCOMPARE(plot->seriesCount(), 0);
    QVERIFY(!sweep->result());
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchJobsTest::tradeOffFollowsTheCurrentAdapter()
{
    // The trade-off plot shows the current adapter's sweep only: another adapter's curves left
    // on it would read as this one's.
    Bench bench;
    AdapterDocument* swept = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(swept);
    bench.window.showView(MainWindow::View::Error);
    lq::gui::ParetoSweep* sweep = swept->paretoSweep();
    QSignalSpy finished(sweep, &lq::gui::ParetoSweep::finished);
    QTest::mouseClick(bench.window.presenter()->errorView()->sweepButton(), Qt::LeftButton);
    QVERIFY(finished.wait(kJobTimeoutMs));
    const int methods = int(sweep->result()->settings.methods.size());
    lq::widgets::ParetoPlot* plot = bench.window.presenter()->errorView()->paretoPlot();
    QCOMPARE(plot->seriesCount(), methods);

    // Another adapter, never swept: no curves, its own mark.
    const QString folder = m_scratch.filePath(QStringLiteral("text-sorted"));
    writeTextSortedAdapter(folder);
    AdapterDocument* other = openThroughMenu(bench, folder);
    QVERIFY(other);
    QCOMPARE(bench.window.workspace()->current(), other);
    QCOMPARE(plot->seriesCount(), 0);
    QCOMPARE(plot->current(), QPointF(other->result().avgBitsTrue, other->result().relErrTotal));
    QVERIFY(bench.window.presenter()->errorView()->sweepButton()->isEnabled());

    // Back to the swept one through the tree: its curves again.
    bench.window.presenter()->selectModule(swept, 0);
    QCOMPARE(bench.window.workspace()->current(), swept);
    QCOMPARE(plot->seriesCount(), methods);

    // Closing both, the swept one last, leaves nothing to show and nothing to sweep.
    QAction* close = bench.window.findChild<QAction*>(QStringLiteral("actionClose"));
    QVERIFY(close);
    bench.window.presenter()->selectModule(other, 0);
    close->trigger();
    QCOMPARE(bench.window.workspace()->current(), swept);
    QCOMPARE(plot->seriesCount(), methods);
    close->trigger();
    QCOMPARE(bench.window.workspace()->current(), nullptr);
    QCOMPARE(plot->seriesCount(), 0);
    QVERIFY(!plot->hasCurrent());
    QVERIFY(!bench.window.presenter()->errorView()->sweepButton()->isEnabled());
    QCOMPARE(bench.window.presenter()->errorView()->errorPlot()->moduleCount(), 0);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchJobsTest::cancelSweepKeepsNothing()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Error);
    lq::gui::ParetoSweep* sweep = document->paretoSweep();
    QSignalSpy finished(sweep, &lq::gui::ParetoSweep::finished);
    QTest::mouseClick(bench.window.presenter()->errorView()->sweepButton(), Qt::LeftButton);
    Job* job = sweep->job();
    QVERIFY(job);
    QSignalSpy progressed(job, &Job::progressed);
    QVERIFY(progressed.wait(kJobTimeoutMs));
    QTest::mouseClick(bench.window.presenter()->statusPanel()->cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(kJobTimeoutMs));
    QCOMPARE(finished.at(0).at(0).toBool(), false);
    QVERIFY(!sweep->result());
    QCOMPARE(bench.window.presenter()->errorView()->paretoPlot()->seriesCount(), 0);
    QVERIFY(bench.window.presenter()->errorView()->sweepButton()->isEnabled());
    QVERIFY(bench.reporter->errors.isEmpty()); // a cancel is not an error
}

void WorkbenchJobsTest::cancelExportLeavesNothing()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    // With the refinement chosen but not computed, an export quantizes first (seconds).
    auto* refine = bench.window.findChild<QComboBox*>(QStringLiteral("refinement"));
    refine->setCurrentIndex(refine->findData(int(lq::Refinement::Paper)));
    document->cancelJob();
    QVERIFY(QTest::qWaitFor([&] { return document->activeJob() == nullptr; }, kJobTimeoutMs));
    QCOMPARE(document->resultState(), AdapterDocument::ResultState::Stale);

    QTemporaryDir out;
    const QString folder = out.filePath(QStringLiteral("exported"));
    QSignalSpy exported(bench.window.exports(), &lq::gui::ExportController::exportFinished);
    bench.chooser->next = folder;
    bench.window.actions()->exportPeft()->trigger();
    Job* job = bench.window.exports()->activeExport();
    QVERIFY(job);
    QSignalSpy progressed(job, &Job::progressed);
    QVERIFY(progressed.wait(kJobTimeoutMs));
    QTest::mouseClick(bench.window.presenter()->statusPanel()->cancelButton(), Qt::LeftButton);
    QVERIFY(exported.wait(kJobTimeoutMs));
    QCOMPARE(exported.at(0).at(0).toBool(), false);
    QVERIFY(!QFileInfo::exists(folder));
    QCOMPARE(QDir(out.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries), QStringList());
    QVERIFY(bench.reporter->errors.isEmpty()); // a cancel is not an error
}

void WorkbenchJobsTest::closeWindowMidJob()
{
    // Guards against a crash or a hang when the window closes while a job runs on a worker.
    auto bench = std::make_unique<Bench>();
    AdapterDocument* document = openThroughMenu(*bench, m_large);
    QVERIFY(document);
    auto* refine = bench->window.findChild<QComboBox*>(QStringLiteral("refinement"));
    refine->setCurrentIndex(refine->findData(int(lq::Refinement::Paper)));
    QVERIFY(document->activeJob());
    QSignalSpy progressed(document->activeJob(), &Job::progressed);
    QVERIFY(progressed.wait(kJobTimeoutMs));
    QVERIFY(document->activeJob() && document->activeJob()->isRunning());
    QVERIFY(bench->window.close());
    bench.reset(); // destroys the documents: their jobs are cancelled and joined
    QVERIFY(true);
}

// Counts the paint events any widget gets.
class PaintCounter : public QObject
{
public:
    int paints = 0;

protected:
    bool eventFilter(QObject*, QEvent* event) override
    {
        if (event->type() == QEvent::Paint)
            ++paints;
        return false;
    }
};

void WorkbenchJobsTest::jobProgressPaintsLater()
{
    // Showing a job's progress must only schedule a paint: one painted on the spot also paints
    // everything else pending in the window, and the budget slider's release (which starts a
    // job) then took longer than a frame with a 7B adapter.
    Bench bench;
    QVERIFY(QTest::qWaitForWindowExposed(&bench.window));
    std::atomic<bool> release{false};
    Job job(QStringLiteral("Waiting"), [&release](const lq::ProgressFn& progress) {
        progress(3, 10);
        while (!release.load())
            QThread::msleep(1);
        return true;
    });
    // Let the work return however the test ends: the job's destructor waits for it.
    const auto releaseJob = qScopeGuard([&release] { release = true; });
    QSignalSpy progressed(&job, &Job::progressed);
    job.start();
    QVERIFY(progressed.wait(kJobTimeoutMs));

    PaintCounter counter;
    qApp->installEventFilter(&counter);
    bench.window.presenter()->statusPanel()->track(&job);
    const int paintsDuringTrack = counter.paints;
    auto* bar = bench.window.presenter()->statusPanel()->findChild<QProgressBar*>(
        QStringLiteral("jobProgress"));
    QVERIFY(bar && bar->isVisible());
    QCOMPARE(bar->value(), 3);
    // Painted, but later, in the event loop.
    QTRY_VERIFY(counter.paints > 0);
    qApp->removeEventFilter(&counter);
    QCOMPARE(paintsDuringTrack, 0);

    QSignalSpy finished(&job, &Job::finished);
    release = true;
    QVERIFY(finished.wait(kJobTimeoutMs));
    QTRY_VERIFY(!bar->isVisible());
}

void WorkbenchJobsTest::outOfMemoryNamesTheJob()
{
    // Guards: std::bad_alloc in a job (from its OpenMP workers too, which now rethrow on the
    // job's thread) fails the job with what it was doing, not "std::bad_alloc".
    Job job(QStringLiteral("Opening /data/adapter"),
            [](const lq::ProgressFn&) -> bool { throw std::bad_alloc(); });
    QSignalSpy finished(&job, &Job::finished);
    job.start();
    QVERIFY(finished.wait(kJobTimeoutMs));
    QCOMPARE(job.outcome(), Job::Outcome::Failed);
    QCOMPARE(job.errorMessage(), QStringLiteral("out of memory while opening /data/adapter"));
}

QTEST_MAIN(WorkbenchJobsTest)
#include "workbenchjobstest.moc"
