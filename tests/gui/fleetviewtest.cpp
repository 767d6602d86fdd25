// The Fleet view (issue 28) as a person uses it: File > Open Batch Results… on a batch output
// folder with failed rows shows every adapter, sorts by error, filters by name, adds up the
// totals, says how many adapters fit in a memory budget, selects the row of a clicked point and
// opens a double-clicked adapter through the window; File > Open Adapter Folder… on a folder of
// many adapters lists them and reads them in the background, and an adapter folder still opens
// as one adapter.
#include "fleetview.h"

#include "fleetdocument.h"
#include "fleetexample.h"
#include "fleetloadjob.h"
#include "fleetpresenter.h"
#include "fleettablemodel.h"
#include "widgets/fleetscatterplot.h"
#include "workbenchharness.h"

#include <QDoubleSpinBox>
#include <QHeaderView>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTableView>

using namespace lqtest;
using lq::gui::FleetDocument;
using lq::gui::FleetTableModel;
using lq::gui::FleetView;

namespace {

constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;

lq::BatchRecord record(const std::string& relative, lq::BatchStatus status, double megabytes,
                       double packedMegabytes, double bitsPaper, double error)
{
    lq::BatchRecord r;
    r.input = "/inputs/" + relative;
    r.relative = relative;
    r.status = status;
    r.baseModel = "meta-llama/Llama-2-7b-hf";
    if (status == lq::BatchStatus::Failed) {
        r.error = r.input + "/adapter_model.safetensors: the file is truncated";
        return r;
    }
    r.modules = 64;
    r.loraParameters = std::int64_t(megabytes * 1e6 / 2);
    r.bytesBefore = std::int64_t(megabytes * 1e6);
    r.bytesAfter = std::int64_t(packedMegabytes * 1e6);
    r.bitsPaper = bitsPaper;
    r.bitsTrue = bitsPaper + 0.1;
    r.relError = error;
    r.output = relative + ".lqa.h5";
    return r;
}

// Six adapters: three ok, one skipped (a rerun), two failed. Row order is this order, which is
// the summary reader's: by name, whatever order the batch finished them in.
std::vector<lq::BatchRecord> summaryRecords()
{
    using S = lq::BatchStatus;
    return {record("team-a/alpha", S::Ok, 100, 10, 2.0, 0.10),
            record("team-a/beta", S::Ok, 200, 20, 1.5, 0.20),
            record("team-b/broken", S::Failed, 0, 0, 0, 0),
            record("team-b/delta", S::Skipped, 300, 30, 2.5, 0.05),
            record("team-c/cut", S::Failed, 0, 0, 0, 0),
            record("team-c/epsilon", S::Ok, 400, 40, 1.8, 0.30)};
}

enum Row
{
    Alpha,
    Beta,
    Broken,
    Delta,
    Cut,
    Epsilon
};

QString cell(FleetView* view, int proxyRow, int column)
{
    return view->proxy()->index(proxyRow, column).data().toString();
}

QString sourceCell(FleetView* view, int row, int column)
{
    return view->model()->index(row, column).data().toString();
}

// Opens `folder` with File > Open Batch Results… and waits until it is read.
FleetView* openBatch(Bench& bench, const QString& folder)
{
    bench.chooser->next = folder;
    bench.window.actions()->openBatch()->trigger();
    FleetView* view = bench.window.fleets()->currentView();
    if (!view)
        return nullptr;
    if (!QTest::qWaitFor([&] { return !view->document()->isLoading(); }, kJobTimeoutMs))
        return nullptr;
    return view;
}

} // namespace

class FleetViewTest : public QObject
{
    Q_OBJECT

private slots:
    void batchResultsShowEveryRecord();
    void sortsByErrorAndFiltersByName();
    void totalsAndCapacityFollowTheRecords();
    void scatterClickSelectsTheRow();
    void doubleClickOpensThroughTheWindow();
    void brokenSummaryIsReported();
    void folderOfAdaptersOpensAsFleet();
    void adapterFolderStillOpensAsOneAdapter();
    void cancelStopsReadingAFolder();
};

void FleetViewTest::batchResultsShowEveryRecord()
{
    Bench bench;
    lq::gui::writeBatchSummary(bench.dir.path().toStdString(), summaryRecords());
    FleetView* view = openBatch(bench, bench.dir.path());
    QVERIFY(view);
    QCOMPARE(bench.window.fleets()->currentView(), view);
    QCOMPARE(view->proxy()->rowCount(), 6);
    QCOMPARE(sourceCell(view, Alpha, FleetTableModel::AdapterColumn),
             QStringLiteral("team-a/alpha"));
    QCOMPARE(sourceCell(view, Alpha, FleetTableModel::ModulesColumn), QStringLiteral("64"));
    QCOMPARE(sourceCell(view, Alpha, FleetTableModel::SizeColumn),
             QStringLiteral("100.0 MB → 10.0 MB"));
    QCOMPARE(sourceCell(view, Alpha, FleetTableModel::BitsColumn), QStringLiteral("2.00 / 2.10"));
    QCOMPARE(sourceCell(view, Alpha, FleetTableModel::ErrorColumn), QStringLiteral("0.1000"));
    QCOMPARE(sourceCell(view, Delta, FleetTableModel::StatusColumn), QStringLiteral("skipped"));

    // The failed row: its status, the reader's message, a warning colour, no figures.
    QCOMPARE(sourceCell(view, Broken, FleetTableModel::StatusColumn), QStringLiteral("failed"));
    QCOMPARE(sourceCell(view, Broken, FleetTableModel::MessageColumn),
             QStringLiteral("/inputs/team-b/broken/adapter_model.safetensors: the file is "
                            "truncated"));
    QVERIFY(view->model()->index(Broken, 0).data(Qt::BackgroundRole).isValid());
    QVERIFY(!view->model()->index(Alpha, 0).data(Qt::BackgroundRole).isValid());
    QVERIFY(sourceCell(view, Broken, FleetTableModel::ErrorColumn).isEmpty());
    QVERIFY(bench.reporter->errors.isEmpty());
}

void FleetViewTest::sortsByErrorAndFiltersByName()
{
    Bench bench;
    lq::gui::writeBatchSummary(bench.dir.path().toStdString(), summaryRecords());
    FleetView* view = openBatch(bench, bench.dir.path());
    QVERIFY(view);

    // A click on the Error header: ascending, as numbers, failed rows (no error) last.
    view->table()->horizontalHeader()->setSortIndicator(FleetTableModel::ErrorColumn,
                                                        Qt::AscendingOrder);
    const QStringList ascending = {
        QStringLiteral("team-b/delta"),  QStringLiteral("team-a/alpha"),
        QStringLiteral("team-a/beta"),   QStringLiteral("team-c/epsilon"),
        QStringLiteral("team-b/broken"), QStringLiteral("team-c/cut")};
    for (int row = 0; row < 4; ++row)
        QCOMPARE(cell(view, row, FleetTableModel::AdapterColumn), ascending[row]);
    for (int row = 4; row < 6; ++row)
        QCOMPARE(cell(view, row, FleetTableModel::StatusColumn), QStringLiteral("failed"));
    view->table()->horizontalHeader()->setSortIndicator(FleetTableModel::ErrorColumn,
                                                        Qt::DescendingOrder);
    QCOMPARE(cell(view, 2, FleetTableModel::AdapterColumn), QStringLiteral("team-c/epsilon"));
    QCOMPARE(cell(view, 5, FleetTableModel::AdapterColumn), QStringLiteral("team-b/delta"));

    // Typing in the filter keeps the matching names, in any case.
    QTest::keyClicks(view->filter(), QStringLiteral("TEAM-B"));
    QCOMPARE(view->proxy()->rowCount(), 2);
    QStringList shown;
    for (int row = 0; row < 2; ++row)
        shown << cell(view, row, FleetTableModel::AdapterColumn);
    shown.sort();
    QCOMPARE(shown, QStringList({QStringLiteral("team-b/broken"), QStringLiteral("team-b/delta")}));
    view->filter()->clear();
    QCOMPARE(view->proxy()->rowCount(), 6);
}

void FleetViewTest::totalsAndCapacityFollowTheRecords()
{
    Bench bench;
    lq::gui::writeBatchSummary(bench.dir.path().toStdString(), summaryRecords());
    FleetView* view = openBatch(bench, bench.dir.path());
    QVERIFY(view);

    // By hand: quantized (ok and skipped) are alpha, beta, delta, epsilon; 100 + 200 + 300 + 400
    // = 1000 MB before, 10 + 20 + 30 + 40 = 100 MB after, ratio 10. Errors sorted 0.05, 0.10,
    // 0.20, 0.30: mean 0.1625, p50 the 2nd (ceil 0.5 * 4), p95 the 4th (ceil 3.8).
    const lq::gui::FleetTotals& totals = view->document()->totals();
    QCOMPARE(totals.ok, 3);
    QCOMPARE(totals.failed, 2);
    QCOMPARE(totals.skipped, 1);
    QCOMPARE(totals.bytesBefore, std::int64_t(1'000'000'000));
    QCOMPARE(totals.bytesAfter, std::int64_t(100'000'000));
    const QString text = plainText(view->totalsLabel());
    QVERIFY2(text.contains(QStringLiteral("6 adapters: 3 ok, 2 failed, 1 skipped")),
             qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("1.0 GB → 100.0 MB (10.00×)")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("error mean 0.1625, p50 0.1000, p95 0.3000")),
             qPrintable(text));

    // Capacity at the default 24 GiB: mean 250 MB as stored, 25 MB packed.
    QCOMPARE(view->budget()->value(), 24.0);
    const double budget = 24 * kBytesPerGiB; // 25,769,803,776 bytes
    QCOMPARE(int(budget / 250e6), 103);
    QCOMPARE(int(budget / 25e6), 1030);
    QString capacity = plainText(view->capacityLabel());
    QVERIFY2(capacity.contains(
                 QStringLiteral("103 as stored, %1 as packed").arg(QLocale().toString(1030))),
             qPrintable(capacity));
    // The person sets 1 GiB: 1,073,741,824 / 250e6 = 4.29, / 25e6 = 42.9.
    view->budget()->setValue(1.0);
    capacity = plainText(view->capacityLabel());
    QVERIFY2(capacity.contains(QStringLiteral("4 as stored, 42 as packed")), qPrintable(capacity));
}

void FleetViewTest::scatterClickSelectsTheRow()
{
    Bench bench;
    lq::gui::writeBatchSummary(bench.dir.path().toStdString(), summaryRecords());
    FleetView* view = openBatch(bench, bench.dir.path());
    QVERIFY(view);
    lq::widgets::FleetScatterPlot* scatter = view->scatter();
    // Four points; the two failed adapters are counted, not drawn.
    QCOMPARE(scatter->pointCount(), 4);
    QCOMPARE(scatter->notShown(), 2);
    QVERIFY2(scatter->title().contains(QStringLiteral("2 failed (not shown)")),
             qPrintable(scatter->title()));
    QCOMPARE(scatter->positionOf(Broken), QPoint(-1, -1));
    scatter->replotNow();

    const QPoint epsilon = scatter->positionOf(Epsilon);
    QCOMPARE(scatter->labelAt(epsilon), QStringLiteral("team-c/epsilon")); // the hover's name
    QTest::mouseClick(scatter->canvas(), Qt::LeftButton, {}, epsilon);
    QCOMPARE(view->selectedRow(), int(Epsilon));
    QCOMPARE(scatter->highlighted(), int(Epsilon));

    // A point whose row the filter hides: the filter gives way to the person's click.
    QTest::keyClicks(view->filter(), QStringLiteral("team-b"));
    QTest::mouseClick(scatter->canvas(), Qt::LeftButton, {}, scatter->positionOf(Alpha));
    QCOMPARE(view->selectedRow(), int(Alpha));
    QVERIFY(view->filter()->text().isEmpty());

    // Nowhere near a point: the selection stays.
    QTest::mouseClick(scatter->canvas(), Qt::LeftButton, {}, QPoint(2, 2));
    QCOMPARE(view->selectedRow(), int(Alpha));
}

void FleetViewTest::doubleClickOpensThroughTheWindow()
{
    Bench bench;
    const QString outdir = bench.dir.filePath(QStringLiteral("out"));
    QVERIFY(QDir().mkpath(outdir + QStringLiteral("/team-a")));
    std::vector<lq::BatchRecord> records = summaryRecords();
    // Beta's input is the bundled example and it has no output here: the input opens.
    records[Beta].input = lq::gui::exampleAdapterPath().toStdString();
    lq::gui::writeBatchSummary(outdir.toStdString(), records);
    // Alpha's packed output exists (a stand-in: the window's reader will refuse it).
    QFile packed(outdir + QStringLiteral("/team-a/alpha.lqa.h5"));
    QVERIFY(packed.open(QIODevice::WriteOnly));
    packed.close();
    FleetView* view = openBatch(bench, outdir);
    QVERIFY(view);

    QSignalSpy asked(bench.window.fleets(), &lq::gui::FleetPresenter::openAdapterRequested);
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    const auto doubleClick = [&](int row) {
        const QModelIndex index =
            view->proxy()->mapFromSource(view->model()->index(row, FleetTableModel::AdapterColumn));
        const QPoint at = view->table()->visualRect(index).center();
        // As a person does it: the press before the double-click picks the row.
        QTest::mouseClick(view->table()->viewport(), Qt::LeftButton, {}, at);
        QTest::mouseDClick(view->table()->viewport(), Qt::LeftButton, {}, at);
    };

    // Nothing was loaded to list the rows.
    QVERIFY(bench.window.workspace()->documents().isEmpty());
    QVERIFY(!bench.window.workspace()->isLoading());

    doubleClick(Beta);
    QCOMPARE(asked.size(), 1);
    QCOMPARE(asked.at(0).at(0).toString(), lq::gui::exampleAdapterPath());
    QVERIFY(opened.wait(kJobTimeoutMs));
    QCOMPARE(bench.window.currentView(), MainWindow::View::Spectrum);
    QCOMPARE(bench.window.workspace()->documents().size(), 1);

    bench.window.fleets()->openBatchResults(outdir); // back to the Fleet tab
    QCOMPARE(bench.window.fleets()->currentView(), view);
    doubleClick(Alpha);
    QCOMPARE(asked.size(), 2);
    const QString alphaOutput = QDir(outdir).filePath(QStringLiteral("team-a/alpha.lqa.h5"));
    QCOMPARE(QFileInfo(asked.at(1).at(0).toString()).absoluteFilePath(),
             QFileInfo(alphaOutput).absoluteFilePath());
    // The window tried it: its reader's refusal names the file.
    QVERIFY(QTest::qWaitFor([&] { return !bench.reporter->errors.isEmpty(); }, kJobTimeoutMs));
    QVERIFY2(bench.reporter->errors.last().contains(QStringLiteral("alpha.lqa.h5")),
             qPrintable(bench.reporter->errors.last()));

    // A failed row has no output: its input is what there is to open.
    bench.window.fleets()->openBatchResults(outdir); // back to the Fleet tab
    doubleClick(Broken);
    QCOMPARE(asked.size(), 3);
    QCOMPARE(asked.at(2).at(0).toString(), QStringLiteral("/inputs/team-b/broken"));
    QCOMPARE(bench.window.workspace()->documents().size(), 1);
}

void FleetViewTest::brokenSummaryIsReported()
{
    Bench bench;
    QFile summary(bench.dir.filePath(QStringLiteral("batch-summary.jsonl")));
    QVERIFY(summary.open(QIODevice::WriteOnly));
    summary.write("{\"input\": \"a\", \"status\": \"ok\"}\nnot json\n");
    summary.close();
    bench.chooser->next = bench.dir.path();
    bench.window.actions()->openBatch()->trigger();
    QVERIFY(QTest::qWaitFor([&] { return !bench.reporter->errors.isEmpty(); }, kJobTimeoutMs));
    QVERIFY2(bench.reporter->errors.first().contains(QStringLiteral("batch-summary.jsonl: line 2")),
             qPrintable(bench.reporter->errors.first()));
    QTest::qWait(20); // the tab goes with the next pass of the event loop
    QVERIFY(bench.window.fleets()->views().isEmpty());
}

void FleetViewTest::folderOfAdaptersOpensAsFleet()
{
    Bench bench;
    const QString root = bench.dir.filePath(QStringLiteral("adapters"));
    // 12 adapters two levels down, one whose tensor file is cut short, one with a config only,
    // and a hidden folder that is not searched.
    for (int i = 0; i < 12; ++i)
        lq::gui::writeTinyAdapter(QStringLiteral("%1/group-%2/adapter-%3")
                                      .arg(root)
                                      .arg(i % 3)
                                      .arg(i, 2, 10, QLatin1Char('0'))
                                      .toStdString(),
                                  1 + i % 4, "base/model-" + std::to_string(i % 2),
                                  std::uint64_t(i));
    const QString truncated =
        root + QStringLiteral("/group-0/adapter-00/adapter_model.safetensors");
    QVERIFY(QFile::resize(truncated, QFileInfo(truncated).size() - 10));
    QVERIFY(QDir().mkpath(root + QStringLiteral("/config-only")));
    QFile config(root + QStringLiteral("/config-only/adapter_config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write("{}");
    config.close();
    lq::gui::writeTinyAdapter((root + QStringLiteral("/.cache/hidden")).toStdString(), 1, "x", 99);

    QCOMPARE(FleetDocument::kindOf(root), std::optional(FleetDocument::Kind::AdapterFolder));
    bench.chooser->next = root;
    bench.window.actions()->openFolder()->trigger();
    FleetView* view = bench.window.fleets()->currentView();
    QVERIFY(view);
    QVERIFY(QTest::qWaitFor([&] { return !view->document()->isLoading(); }, kJobTimeoutMs));
    QVERIFY(bench.window.workspace()->documents().isEmpty());
    QVERIFY(bench.reporter->errors.isEmpty());

    QCOMPARE(view->model()->rowCount(), 13);
    const lq::gui::FleetTotals& totals = view->document()->totals();
    QCOMPARE(totals.failed, 2);
    QCOMPARE(totals.ok, 11);
    QCOMPARE(totals.pending, 0);
    // Rows in path order: config-only first, then group-0/adapter-00 (truncated), ...
    QCOMPARE(sourceCell(view, 0, FleetTableModel::AdapterColumn), QStringLiteral("config-only"));
    QVERIFY(sourceCell(view, 0, FleetTableModel::MessageColumn)
                .contains(QStringLiteral("no adapter_model.safetensors")));
    QCOMPARE(sourceCell(view, 1, FleetTableModel::AdapterColumn),
             QStringLiteral("group-0/adapter-00"));
    QVERIFY2(
        sourceCell(view, 1, FleetTableModel::MessageColumn).contains(QStringLiteral("truncated")),
        qPrintable(sourceCell(view, 1, FleetTableModel::MessageColumn)));
    // group-0/adapter-03: 4 modules of rank 2 on 16 x 16, float16.
    QCOMPARE(sourceCell(view, 2, FleetTableModel::AdapterColumn),
             QStringLiteral("group-0/adapter-03"));
    QCOMPARE(sourceCell(view, 2, FleetTableModel::ModulesColumn), QStringLiteral("4"));
    QCOMPARE(sourceCell(view, 2, FleetTableModel::ParametersColumn), QStringLiteral("256"));
    QCOMPARE(view->document()->entries()[2].record.bytesBefore, std::int64_t(512));
    QCOMPARE(sourceCell(view, 2, FleetTableModel::BaseModelColumn), QStringLiteral("base/model-1"));
    QCOMPARE(sourceCell(view, 2, FleetTableModel::StatusColumn), QStringLiteral("not quantized"));
    // Not quantized: no points, and the capacity says so.
    QCOMPARE(view->scatter()->pointCount(), 0);
    QVERIFY(plainText(view->capacityLabel()).contains(QStringLiteral("not quantized")));

    // A double-click opens that adapter as one.
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    const QModelIndex index = view->proxy()->mapFromSource(view->model()->index(2, 0));
    const QPoint at = view->table()->visualRect(index).center();
    QTest::mouseClick(view->table()->viewport(), Qt::LeftButton, {}, at);
    QTest::mouseDClick(view->table()->viewport(), Qt::LeftButton, {}, at);
    QVERIFY(opened.wait(kJobTimeoutMs));
    auto* document = qvariant_cast<AdapterDocument*>(opened.at(0).at(0));
    QCOMPARE(document->moduleCount(), 4);
}

void FleetViewTest::adapterFolderStillOpensAsOneAdapter()
{
    Bench bench;
    const QString example = lq::gui::exampleAdapterPath();
    QVERIFY(!FleetDocument::kindOf(example));
    // A folder with neither adapters nor a summary: the old message, no tab.
    QVERIFY(!FleetDocument::kindOf(bench.dir.path()));
    bench.chooser->next = example;
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    bench.window.actions()->openFolder()->trigger();
    QVERIFY(opened.wait(kJobTimeoutMs));
    QVERIFY(bench.window.fleets()->views().isEmpty());
    QCOMPARE(bench.window.currentView(), MainWindow::View::Spectrum);
}

void FleetViewTest::cancelStopsReadingAFolder()
{
    Bench bench;
    const QString root = bench.dir.filePath(QStringLiteral("many"));
    for (int i = 0; i < 600; ++i)
        lq::gui::writeTinyAdapter(QStringLiteral("%1/a%2").arg(root).arg(i).toStdString(), 1, "m",
                                  std::uint64_t(i));
    bench.window.openPath(root);
    FleetView* view = bench.window.fleets()->currentView();
    QVERIFY(view);
    QSignalSpy finished(view->document(), &FleetDocument::loadFinished);
    view->findChild<QPushButton*>(QStringLiteral("fleetCancel"))->click();
    QVERIFY(finished.wait(kJobTimeoutMs));
    QCOMPARE(finished.at(0).at(0).value<lq::gui::Job::Outcome>(), lq::gui::Job::Outcome::Cancelled);
    QVERIFY(bench.reporter->errors.isEmpty());
    // What was read stays; the tab stays open.
    QCOMPARE(bench.window.fleets()->views().size(), 1);
}

QTEST_MAIN(FleetViewTest)
#include "fleetviewtest.moc"
