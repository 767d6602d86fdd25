// The workbench window driven as a person drives it (offscreen): File > Open through the menu
// action, a module chosen in the tree, the split marker dragged with the mouse, the bit-budget
// slider moved, background jobs run and cancelled, every export through its action with a path
// the test gives instead of a file dialog, and bad files met with an error dialog.
#include "../io/filesnapshot.h"
#include "adapterdocument.h"
#include "adaptertreemodel.h"
#include "applybudgetcommand.h"
#include "budgetcurves.h"
#include "changesettingscommand.h"
#include "core/engine/adapterquantizer.h"
#include "core/engine/baseline.h"
#include "core/engine/report.h"
#include "core/io/synthesizer.h"
#include "core/packed/packedfile.h"
#include "errorreporter.h"
#include "exampleadapter.h"
#include "exportjob.h"
#include "filechooser.h"
#include "mainwindow.h"
#include "paretosweep.h"
#include "setmodulesplitcommand.h"
#include "shareddata.h"
#include "statuspanel.h"
#include "viewdata.h"
#include "widgets/errorbarplot.h"
#include "widgets/paretoplot.h"
#include "widgets/settingspanel.h"
#include "widgets/spectrumplot.h"
#include "workspace.h"

#include <QAction>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QIcon>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStatusBar>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QTreeView>
#include <QUndoStack>
#include <algorithm>
#include <atomic>
#include <cmath>

using lq::gui::AdapterDocument;
using lq::gui::AdapterTreeModel;
using lq::gui::Job;
using lq::gui::MainWindow;
using lq::gui::Workspace;

namespace {

// Generous bounds for background work on a loaded 2-core machine; a hang fails instead of
// blocking the suite. Not performance checks (those are in tests/benchmarks).
constexpr int kJobTimeoutMs = 120000;

// Factors written as F16 come back rounded to half precision: relative rounding 2^-11 per value,
// measured against the matrix's largest |value| (small values lose relatively more).
constexpr double kHalfRounding = 1.0 / 2048;

// Answers the window's questions with paths the test chose.
class TestChooser : public lq::gui::FileChooser
{
public:
    QString next;
    QString adapterToOpen(QWidget*, const QString&) override { return take(); }
    QString adapterFolderToOpen(QWidget*, const QString&) override { return take(); }
    QString planToOpen(QWidget*, const QString&) override { return take(); }
    QString fileToSave(QWidget*, const QString&, const QString&, const QString&) override
    {
        return take();
    }
    QString folderToSave(QWidget*, const QString&, const QString&) override { return take(); }

private:
    QString take() { return std::exchange(next, QString()); }
};

// Records what would have been shown, for tests that expect no error.
class RecordingReporter : public lq::gui::ErrorReporter
{
public:
    QStringList errors;
    QStringList notes;
    void error(QWidget*, const QString& title, const QString& message) override
    {
        errors << title + QStringLiteral(": ") + message;
    }
    void information(QWidget*, const QString& title, const QString& message) override
    {
        notes << title + QStringLiteral(": ") + message;
    }
};

// One window with its own settings file, shown at the size the issue asks it to work at.
struct Bench
{
    explicit Bench(bool realDialogs = false)
    {
        auto testChooser = std::make_unique<TestChooser>();
        chooser = testChooser.get();
        window.setFileChooser(std::move(testChooser));
        if (!realDialogs) {
            auto recording = std::make_unique<RecordingReporter>();
            reporter = recording.get();
            window.setErrorReporter(std::move(recording));
        }
        window.resize(1280, 800);
        window.show();
    }

    QTemporaryDir dir;
    QSettings settings{dir.filePath(QStringLiteral("settings.ini")), QSettings::IniFormat};
    MainWindow window{&settings};
    TestChooser* chooser = nullptr;
    RecordingReporter* reporter = nullptr; // null with real dialogs
};

bool waitCurrent(AdapterDocument* document)
{
    return QTest::qWaitFor(
        [&] { return document->resultState() == AdapterDocument::ResultState::Current; },
        kJobTimeoutMs);
}

// The result current and the baselines measured after it: nothing left running.
bool waitIdle(AdapterDocument* document)
{
    return waitCurrent(document) &&
           QTest::qWaitFor([&] { return !document->baselineJob(); }, kJobTimeoutMs) &&
           document->resultState() == AdapterDocument::ResultState::Current;
}

// File > Open Adapter… with the dialog answered by `path`; the document once quantized.
AdapterDocument* openThroughMenu(Bench& bench, const QString& path)
{
    bench.chooser->next = path;
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    bench.window.openAction()->trigger();
    if (!opened.wait(kJobTimeoutMs))
        return nullptr;
    auto* document = qvariant_cast<AdapterDocument*>(opened.at(0).at(0));
    return waitIdle(document) ? document : nullptr;
}

// A label's text as a person reads it.
QString plainText(const QLabel* label)
{
    QString text = label->text();
    text.remove(QRegularExpression(QStringLiteral("<[^>]*>")));
    return text.replace(QStringLiteral("&nbsp;"), QStringLiteral(" "));
}

QString treeText(Bench& bench, AdapterDocument* document, int module, int column)
{
    return bench.window.treeModel()->indexOf(document, module, column).data().toString();
}

// Whether the tree shows module's h in bold ("set by hand").
bool hShownBold(Bench& bench, AdapterDocument* document, int module)
{
    const QVariant font = bench.window.treeModel()
                              ->indexOf(document, module, AdapterTreeModel::HColumn)
                              .data(Qt::FontRole);
    return font.isValid() && font.value<QFont>().bold();
}

// Test data rows: the bundled example (always there) and the shared adapters (when present).
void addAdapterRows(int minimumRank)
{
    QTest::addColumn<QString>("path");
    QTest::newRow("example") << lq::gui::exampleAdapterPath();
    for (const QString& name : lqtest::sharedAdapterNames()) {
        // Folder names end in -r<rank>-<dtype>; rank 1 cannot be split.
        const auto match = QRegularExpression(QStringLiteral("-r(\\d+)-")).match(name);
        if (match.hasMatch() && match.captured(1).toInt() >= minimumRank)
            QTest::newRow(qPrintable(name)) << lqtest::adaptersDir() + QLatin1Char('/') + name;
    }
}

// A copy of the adapter in `folder` written into `into` with one more tensor that is not a LoRA
// factor (a classifier head kept by modules_to_save) and one more metadata key; its config is
// copied. Returns the head as written.
lq::TensorData copyWithHead(const QString& folder, const QString& into)
{
    const lq::Adapter adapter = lq::Adapter::load(folder.toStdString());
    const lq::SafetensorsFile& file = *adapter.file();
    std::vector<lq::TensorData> tensors;
    for (const lq::TensorEntry& entry : file.tensors()) {
        const auto bytes = file.bytes(entry);
        tensors.push_back({entry.name, entry.dtype, entry.shape, {bytes.begin(), bytes.end()}});
    }
    lq::TensorData head{"base_model.model.score.modules_to_save.default.weight",
                        lq::DType::F16,
                        {3, 16},
                        std::vector<std::byte>(3 * 16 * 2)};
    for (std::size_t i = 0; i < head.bytes.size(); ++i)
        head.bytes[i] = std::byte(i * 29 + 3);
    tensors.push_back(head);
    std::map<std::string, std::string> metadata = file.metadata();
    metadata["workbench_test"] = "head kept";
    QDir().mkpath(into);
    lq::writeSafetensors((into + QStringLiteral("/adapter_model.safetensors")).toStdString(),
                         tensors, metadata);
    QFile::copy(folder + QStringLiteral("/adapter_config.json"),
                into + QStringLiteral("/adapter_config.json"));
    return head;
}

// An adapter as PEFT writes it, tensor names sorted as text: q_proj LoRAs (16 x 16, rank 2) on
// 12 layers, so "layers.10" and "layers.11" come before "layers.2", and one module outside any
// layer (lm_head).
void writeTextSortedAdapter(const QString& folder)
{
    std::vector<lq::TensorData> tensors;
    const auto addFactor = [&](const std::string& prefix, const char* which,
                               std::vector<std::int64_t> shape, int seed) {
        lq::TensorData tensor{prefix + ".lora_" + which + ".weight", lq::DType::F32, shape, {}};
        std::vector<float> values(std::size_t(shape[0] * shape[1]));
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = float(std::sin(double(seed * 131 + int(i)) * 0.77));
        const auto* raw = reinterpret_cast<const std::byte*>(values.data());
        tensor.bytes.assign(raw, raw + values.size() * sizeof(float));
        tensors.push_back(std::move(tensor));
    };
    const auto addModule = [&](const std::string& prefix, int seed) {
        addFactor(prefix, "A", {2, 16}, 2 * seed);
        addFactor(prefix, "B", {16, 2}, 2 * seed + 1);
    };
    for (int layer = 0; layer < 12; ++layer)
        addModule("base_model.model.model.layers." + std::to_string(layer) + ".self_attn.q_proj",
                  layer);
    addModule("base_model.model.lm_head", 12);
    std::sort(tensors.begin(), tensors.end(),
              [](const lq::TensorData& x, const lq::TensorData& y) { return x.name < y.name; });
    QDir().mkpath(folder);
    lq::writeSafetensors((folder + QStringLiteral("/adapter_model.safetensors")).toStdString(),
                         tensors, {});
    QFile config(folder + QStringLiteral("/adapter_config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(R"({"peft_type": "LORA", "r": 2, "lora_alpha": 4,
                     "target_modules": ["q_proj", "lm_head"]})");
}

} // namespace

class WorkbenchTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    void opensThroughMenu_data() { addAdapterRows(1); }
    void opensThroughMenu();
    void listsLayersInNumericOrder();
    void warningsStayInTheTree();
    void baselinesFollowTheResult();
    void dragSplitUpdatesModule_data() { addAdapterRows(2); }
    void dragSplitUpdatesModule();
    void budgetSliderMeetsBudget_data();
    void budgetSliderMeetsBudget();
    void budgetSliderStaysLive();
    void applyToAllAndUndo();
    void appliesPlanFromFile();
    void quantizeJobFinishes();
    void cancelQuantizeKeepsPreviousResult();
    void cancelValidationLeavesNoResult();
    void paretoSweepInBackground();
    void cancelSweepKeepsNothing();
    void cancelExportLeavesNothing();
    void closeWindowMidJob();
    void jobProgressPaintsLater();
    void exportsReadBack_data();
    void exportsReadBack();
    void exportPackedReadsBack_data();
    void exportPackedReadsBack();
    void opensPackedFile_data();
    void opensPackedFile();
    void corruptPackedFileShowsErrorDialog();
    void unwritableExportShowsError();
    void corruptFileShowsErrorDialog_data();
    void corruptFileShowsErrorDialog();
    void dropOpensAdapter();
    void settingsRemembered();

private:
    QTemporaryDir m_scratch;
    QString m_large; // a synthetic adapter big enough that jobs can be cancelled mid-way
};

void WorkbenchTest::initTestCase()
{
    QVERIFY2(!lq::gui::exampleAdapterPath().isEmpty(), "the bundled example adapter is missing");
    // 64 modules of 4096 x 4096 at rank 16 (llama2-7b's q and v projections): with the paper
    // refinement a whole-adapter job takes seconds, so a cancel lands mid-way.
    m_large = m_scratch.filePath(QStringLiteral("llama2-7b-qv-r16"));
    lq::SynthSettings synth;
    synth.preset = "llama2-7b";
    synth.rank = 16;
    synth.targets = lq::SynthTargets::QV;
    synth.seed = 5;
    lq::writeSyntheticAdapter(m_large.toStdString(), synth);
}

void WorkbenchTest::opensThroughMenu()
{
    QFETCH(QString, path);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    QCOMPARE(bench.window.currentDocument(), document);

    // The tree: adapter > layers > modules, every module exactly once.
    AdapterTreeModel* model = bench.window.treeModel();
    const QModelIndex adapter = model->indexOf(document);
    int modules = 0;
    for (int layer = 0; layer < model->rowCount(adapter); ++layer)
        modules += model->rowCount(model->index(layer, 0, adapter));
    QCOMPARE(modules, document->moduleCount());
    QCOMPARE(modules, int(document->adapter().modules().size()));

    // What the window shows is what the engine computes for the same settings.
    const lq::QuantResult direct = lq::quantizeAdapter(document->adapter(), document->settings());
    const lq::QuantResult& shown = document->result();
    QCOMPARE(shown.modules.size(), direct.modules.size());
    QCOMPARE(shown.relErrTotal, direct.relErrTotal); // deterministic, any thread count
    for (int i = 0; i < document->moduleCount(); ++i) {
        QCOMPARE(treeText(bench, document, i, AdapterTreeModel::HColumn).toInt(),
                 direct.modules[std::size_t(i)].h);
        QCOMPARE(treeText(bench, document, i, AdapterTreeModel::ErrorColumn),
                 QString::number(direct.modules[std::size_t(i)].relErr, 'f', 4));
    }
    // The status bar's totals, labelled.
    const QString totals = bench.window.statusPanel()->totalsLabel()->text();
    QVERIFY2(totals.contains(QStringLiteral("%1 paper").arg(direct.avgBitsPaper, 0, 'f', 3)),
             qPrintable(totals));
    QVERIFY2(totals.contains(QStringLiteral("%1 true").arg(direct.avgBitsTrue, 0, 'f', 3)),
             qPrintable(totals));
    QVERIFY(totals.contains(QStringLiteral("MB")));
    // The tree's first module is selected and shown; the error view has a bar per module.
    const int first = document->displayOrder().front();
    QCOMPARE(bench.window.currentModule(), first);
    QCOMPARE(bench.window.spectrumPlot()->rank(), document->module(first).r);
    QCOMPARE(bench.window.errorPlot()->moduleCount(), document->moduleCount());
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchTest::listsLayersInNumericOrder()
{
    const QString folder = m_scratch.filePath(QStringLiteral("text-sorted"));
    writeTextSortedAdapter(folder);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, folder);
    QVERIFY(document);
    QCOMPARE(document->moduleCount(), 13);
    // The file lists lm_head first and layer 10 after layer 1; the window must not.
    QCOMPARE(document->module(0).layer, -1);
    QCOMPARE(document->module(3).layer, 10);

    // The tree: layers 0 to 11 in numeric order, lm_head (no layer) last.
    AdapterTreeModel* model = bench.window.treeModel();
    const QModelIndex adapter = model->indexOf(document);
    QCOMPARE(model->rowCount(adapter), 13);
    std::vector<int> treeOrder;
    for (int row = 0; row < 13; ++row) {
        const QModelIndex layer = model->index(row, 0, adapter);
        QCOMPARE(model->rowCount(layer), 1);
        treeOrder.push_back(model->moduleOf(model->index(0, 0, layer)));
    }
    for (int row = 0; row < 12; ++row)
        QCOMPARE(document->module(treeOrder[std::size_t(row)]).layer, row);
    QCOMPARE(document->moduleName(treeOrder.back()), QStringLiteral("base_model.model.lm_head"));

    // Layer 0 is shown first, and the error view's bars run in the tree's order: a click on the
    // third bar picks layer 2, and the tree's choice is the bar highlighted.
    QCOMPARE(bench.window.currentModule(), treeOrder.front());
    lq::widgets::ErrorBarPlot* plot = bench.window.errorPlot();
    bench.window.showView(MainWindow::View::Error);
    QVERIFY(QTest::qWaitForWindowExposed(&bench.window));
    plot->replotNow();
    QCOMPARE(plot->selected(), 0);
    QTest::mouseClick(plot->canvas(), Qt::LeftButton, {}, plot->barPosition(2));
    QCOMPARE(document->module(bench.window.currentModule()).layer, 2);
    QCOMPARE(plot->selected(), 2);
    bench.window.selectModule(document, treeOrder.back());
    QCOMPARE(plot->selected(), 12);
    QCOMPARE(bench.window.tree()->currentIndex(), model->indexOf(document, treeOrder.back()));
    QVERIFY(bench.reporter->errors.isEmpty());
}

// An adapter's warnings are in the status bar for a few seconds only; its row in the tree keeps a
// warning icon and lists them in its tooltip.
void WorkbenchTest::warningsStayInTheTree()
{
    Bench bench;
    const QString bare = bench.dir.filePath(QStringLiteral("without-config"));
    QVERIFY(QDir().mkpath(bare));
    QVERIFY(
        QFile::copy(lq::gui::exampleAdapterPath() + QStringLiteral("/adapter_model.safetensors"),
                    bare + QStringLiteral("/adapter_model.safetensors")));
    AdapterDocument* warned = openThroughMenu(bench, bare);
    AdapterDocument* clean = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(warned && clean);
    QCOMPARE(warned->adapter().warnings().size(), std::size_t(1));
    QVERIFY(clean->adapter().warnings().empty());

    const QModelIndex warnedRow = bench.window.treeModel()->indexOf(warned);
    QVERIFY(!warnedRow.data(Qt::DecorationRole).value<QIcon>().isNull());
    const QString tip = warnedRow.data(Qt::ToolTipRole).toString();
    QVERIFY2(tip.contains(QString::fromStdString(warned->adapter().warnings().front())),
             qPrintable(tip));
    const QModelIndex cleanRow = bench.window.treeModel()->indexOf(clean);
    QVERIFY(cleanRow.data(Qt::DecorationRole).value<QIcon>().isNull());
    QVERIFY(!cleanRow.data(Qt::ToolTipRole).toString().contains(QStringLiteral("⚠")));
}

void WorkbenchTest::baselinesFollowTheResult()
{
    // The whole-adapter baselines are measured after the result is shown, never before it (on a
    // large adapter they take as long as the quantization), then drawn in the Error view; a new
    // group size measures them again and the view never shows ones for the old groups.
    Bench bench;
    bench.chooser->next = lq::gui::exampleAdapterPath();
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    bench.window.openAction()->trigger();
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
        QCOMPARE(bench.window.errorPlot()->referenceCount(), 2);
    };
    checkBaselines(document->settings().groupSize);

    lq::QuantSettings settings = document->settings();
    settings.groupSize = 64;
    document->undoStack()->push(
        new lq::gui::ChangeSettingsCommand(document, settings, QStringLiteral("groups of 64")));
    QVERIFY(waitCurrent(document));
    QVERIFY(!document->rtn2Baseline() || document->rtn2Baseline()->groupSize == 64);
    QVERIFY(bench.window.errorPlot()->referenceCount() == 0 || document->rtn2Baseline());
    QVERIFY(waitIdle(document));
    QCOMPARE(baselineJobs, 2);
    QVERIFY(resultShownFirst);
    checkBaselines(64);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchTest::dragSplitUpdatesModule()
{
    QFETCH(QString, path);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    QVERIFY(QTest::qWaitForWindowExposed(&bench.window));

    // Choose the last module by clicking it in the tree.
    const int module = document->moduleCount() - 1;
    QTreeView* tree = bench.window.tree();
    const QModelIndex index = bench.window.treeModel()->indexOf(document, module);
    tree->expand(index.parent());
    tree->scrollTo(index);
    QTest::mouseClick(tree->viewport(), Qt::LeftButton, {}, tree->visualRect(index).center());
    QCOMPARE(bench.window.currentModule(), module);

    const lq::LoraModule& m = document->module(module);
    const int before = document->effectiveH(module);
    const int after = before + 2 <= m.r ? before + 2 : before - 1;
    const double errorBefore = document->moduleResult(module)->relErr;
    QLabel* summary = bench.window.moduleSummaryLabel();
    QVERIFY(plainText(summary).contains(QStringLiteral("h = %1 of").arg(before)));

    lq::widgets::SpectrumPlot* plot = bench.window.spectrumPlot();
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
    bench.window.undoAction()->trigger();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->effectiveH(module), before);
    QCOMPARE(document->hOverride(module), std::nullopt);
    QCOMPARE(document->moduleResult(module)->relErr, errorBefore);
    QCOMPARE(plot->split(), before);
    bench.window.redoAction()->trigger();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->effectiveH(module), after);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchTest::budgetSliderMeetsBudget_data()
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

void WorkbenchTest::budgetSliderMeetsBudget()
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
    QVERIFY(bench.window.statusPanel()->totalsLabel()->text().contains(
        QStringLiteral("%1 paper").arg(result.avgBitsPaper, 0, 'f', 3)));
    // Undo brings the rule back.
    bench.window.undoAction()->trigger();
    QVERIFY(waitCurrent(document));
    QVERIFY(!document->hOverride(0).has_value());
}

void WorkbenchTest::budgetSliderStaysLive()
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
    lq::gui::BudgetCurves* curves = lq::gui::BudgetCurves::of(document);

    // The first release hands the curves to a background job: back at once, with progress and
    // Cancel in the status bar, nothing applied yet.
    drag(1.3);
    QVERIFY(prediction->isVisible()); // says what letting go will do
    slider->setSliderDown(false);
    QVERIFY(curves->isComputing());
    QCOMPARE(document->undoStack()->count(), 0);
    QVERIFY(bench.window.statusPanel()->progressBar()->isVisible());
    QVERIFY(bench.window.statusPanel()->cancelButton()->isVisible());
    // The window works meanwhile: another module chosen in the tree is shown.
    const int other = document->moduleCount() - 1;
    bench.window.selectModule(document, other);
    QCOMPARE(bench.window.currentModule(), other);
    QCOMPARE(bench.window.spectrumPlot()->rank(), document->module(other).r);
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

void WorkbenchTest::applyToAllAndUndo()
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
    bench.window.undoAction()->trigger();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->settings().rho, 0.8);
    QCOMPARE(document->result().relErrTotal, errorBefore);
    QCOMPARE(rho->value(), 0.8); // the panel shows the document's settings again
}

void WorkbenchTest::appliesPlanFromFile()
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
        bench.window.applyPlanAction()->trigger();
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

    bench.window.undoAction()->trigger();
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

void WorkbenchTest::quantizeJobFinishes()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    QSignalSpy started(document, &AdapterDocument::jobStarted);
    QSignalSpy finished(document, &AdapterDocument::jobFinished);
    bench.window.quantizeAction()->trigger();
    QCOMPARE(started.size(), 1);
    auto* job = qvariant_cast<Job*>(started.at(0).at(0));
    QSignalSpy progressed(job, &Job::progressed);
    // The status bar shows the job with a Cancel button while it runs.
    QVERIFY(bench.window.statusPanel()->progressBar()->isVisible());
    QVERIFY(bench.window.statusPanel()->cancelButton()->isVisible());
    QVERIFY(bench.window.statusBar()->currentMessage().contains(QStringLiteral("validating")));
    QVERIFY(finished.wait(kJobTimeoutMs));
    QCOMPARE(qvariant_cast<Job::Outcome>(finished.at(0).at(0)), Job::Outcome::Succeeded);
    QVERIFY(!progressed.isEmpty());
    QCOMPARE(progressed.last().at(0).toInt(), progressed.last().at(1).toInt()); // all done
    // One bar over both passes: every module quantized, then every module's kernel checked
    // (the baselines were computed when the adapter opened).
    QCOMPARE(progressed.last().at(1).toInt(), 2 * document->moduleCount());
    QCOMPARE(document->resultState(), AdapterDocument::ResultState::Current);
    QVERIFY(!bench.window.statusPanel()->progressBar()->isVisible());

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
    QVERIFY(bench.window.statusPanel()->totalsLabel()->text().contains(
        QStringLiteral("kernels validated")));
    QVERIFY(bench.reporter->errors.isEmpty());

    // An edit makes it describe an older result: no longer claimed.
    document->undoStack()->push(new lq::gui::SetModuleSplitCommand(document, 0, 1, std::nullopt));
    QVERIFY(waitCurrent(document));
    QVERIFY(!document->validation());
    QVERIFY(!bench.window.statusPanel()->totalsLabel()->text().contains(
        QStringLiteral("kernels validated")));
}

void WorkbenchTest::cancelValidationLeavesNoResult()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    const auto previous = document->sharedResult();
    const int modules = document->moduleCount();
    QSignalSpy started(document, &AdapterDocument::jobStarted);
    QSignalSpy finished(document, &AdapterDocument::jobFinished);
    bench.window.quantizeAction()->trigger();
    QCOMPARE(started.size(), 1);
    auto* job = qvariant_cast<Job*>(started.at(0).at(0));
    // Cancel with the Cancel button once the validation pass has begun (past every module's
    // quantization), so that what is dropped is a half-done validation.
    bool clicked = false;
    connect(job, &Job::progressed, this, [&](int done, int total) {
        if (!clicked && done > modules && done < total) {
            clicked = true;
            QTest::mouseClick(bench.window.statusPanel()->cancelButton(), Qt::LeftButton);
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
    const QString totals = bench.window.statusPanel()->totalsLabel()->text();
    QVERIFY2(totals.contains(QStringLiteral("out of date")), qPrintable(totals));
    QVERIFY(!totals.contains(QStringLiteral("validated")));
    QVERIFY(!bench.window.statusBar()->currentMessage().contains(QStringLiteral("validated")));
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchTest::cancelQuantizeKeepsPreviousResult()
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
    QTest::mouseClick(bench.window.statusPanel()->cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(kJobTimeoutMs));
    QCOMPARE(qvariant_cast<Job::Outcome>(finished.at(0).at(0)), Job::Outcome::Cancelled);
    QVERIFY2(job->done() < job->total(), "the job ended before the cancel took effect");

    // No partial result: the previous one stays, unchanged, marked out of date.
    QCOMPARE(document->sharedResult(), previous);
    for (std::size_t i = 0; i < errors.size(); ++i)
        QCOMPARE(document->result().modules[i].relErr, errors[i]);
    QCOMPARE(document->resultState(), AdapterDocument::ResultState::Stale);
    QVERIFY(
        bench.window.statusPanel()->totalsLabel()->text().contains(QStringLiteral("out of date")));
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchTest::paretoSweepInBackground()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Error);
    lq::widgets::ParetoPlot* plot = bench.window.paretoPlot();
    QCOMPARE(plot->seriesCount(), 0);
    // The current setting is marked before any sweep: the document's own bits and error.
    QVERIFY(plot->hasCurrent());
    QCOMPARE(plot->current(),
             QPointF(document->result().avgBitsTrue, document->result().relErrTotal));

    lq::gui::ParetoSweep* sweep = lq::gui::ParetoSweep::of(document);
    QSignalSpy finished(sweep, &lq::gui::ParetoSweep::finished);
    QTest::mouseClick(bench.window.sweepButton(), Qt::LeftButton);
    QVERIFY(sweep->isRunning());
    // In the background: progress and Cancel in the status bar, the button waits.
    QVERIFY(bench.window.statusPanel()->progressBar()->isVisible());
    QVERIFY(bench.window.statusPanel()->cancelButton()->isVisible());
    QVERIFY(!bench.window.sweepButton()->isEnabled());
    QVERIFY(finished.wait(kJobTimeoutMs));
    QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));
    QVERIFY(bench.window.sweepButton()->isEnabled());

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

void WorkbenchTest::cancelSweepKeepsNothing()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, m_large);
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Error);
    lq::gui::ParetoSweep* sweep = lq::gui::ParetoSweep::of(document);
    QSignalSpy finished(sweep, &lq::gui::ParetoSweep::finished);
    QTest::mouseClick(bench.window.sweepButton(), Qt::LeftButton);
    Job* job = sweep->job();
    QVERIFY(job);
    QSignalSpy progressed(job, &Job::progressed);
    QVERIFY(progressed.wait(kJobTimeoutMs));
    QTest::mouseClick(bench.window.statusPanel()->cancelButton(), Qt::LeftButton);
    QVERIFY(finished.wait(kJobTimeoutMs));
    QCOMPARE(finished.at(0).at(0).toBool(), false);
    QVERIFY(!sweep->result());
    QCOMPARE(bench.window.paretoPlot()->seriesCount(), 0);
    QVERIFY(bench.window.sweepButton()->isEnabled());
    QVERIFY(bench.reporter->errors.isEmpty()); // a cancel is not an error
}

void WorkbenchTest::cancelExportLeavesNothing()
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
    QSignalSpy exported(&bench.window, &MainWindow::exportFinished);
    bench.chooser->next = folder;
    bench.window.exportPeftAction()->trigger();
    Job* job = bench.window.activeExport();
    QVERIFY(job);
    QSignalSpy progressed(job, &Job::progressed);
    QVERIFY(progressed.wait(kJobTimeoutMs));
    QTest::mouseClick(bench.window.statusPanel()->cancelButton(), Qt::LeftButton);
    QVERIFY(exported.wait(kJobTimeoutMs));
    QCOMPARE(exported.at(0).at(0).toBool(), false);
    QVERIFY(!QFileInfo::exists(folder));
    QCOMPARE(QDir(out.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries), QStringList());
    QVERIFY(bench.reporter->errors.isEmpty()); // a cancel is not an error
}

void WorkbenchTest::closeWindowMidJob()
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

void WorkbenchTest::jobProgressPaintsLater()
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
    bench.window.statusPanel()->track(&job);
    const int paintsDuringTrack = counter.paints;
    auto* bar = bench.window.statusPanel()->findChild<QProgressBar*>(QStringLiteral("jobProgress"));
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

void WorkbenchTest::exportsReadBack_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("what");
    const QStringList kinds = {"report.json", "report.csv", "peft",
                               "plot.png",    "plot.pdf",   "plot.svg"};
    for (const QString& kind : kinds) {
        QTest::addRow("example, %s", qPrintable(kind)) << lq::gui::exampleAdapterPath() << kind;
        if (lqtest::haveShared())
            QTest::addRow("qwen, %s", qPrintable(kind))
                << lqtest::adaptersDir() + QStringLiteral("/qwen2.5-3b-qv-r4-f32") << kind;
    }
}

void WorkbenchTest::exportsReadBack()
{
    QFETCH(QString, path);
    QFETCH(QString, what);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    const lqtest::FileSnapshot input = lqtest::snapshot(document->path());
    QTemporaryDir out;
    const QString target = out.filePath(what);
    QSignalSpy exported(&bench.window, &MainWindow::exportFinished);
    bench.chooser->next = target;
    if (what.startsWith(QLatin1String("report")))
        bench.window.exportReportAction()->trigger();
    else if (what == QLatin1String("peft"))
        bench.window.exportPeftAction()->trigger();
    else {
        bench.window.showView(MainWindow::View::Error);
        bench.window.exportPlotAction()->trigger();
    }
    QVERIFY(exported.count() == 1 || exported.wait(kJobTimeoutMs));
    QVERIFY2(exported.at(0).at(0).toBool(), qPrintable(exported.at(0).at(1).toString()));
    const lq::QuantResult& result = document->result();

    if (what == QLatin1String("report.json")) {
        QFile file(target);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject report = QJsonDocument::fromJson(file.readAll()).object();
        QCOMPARE(report.value("modules").toArray().size(), document->moduleCount());
        QCOMPARE(report.value("avg_bits_paper").toDouble(), result.avgBitsPaper);
        QCOMPARE(report.value("rel_err_total").toDouble(), result.relErrTotal);
        const QJsonObject first = report.value("modules").toArray().at(0).toObject();
        QCOMPARE(first.value("h").toInt(), result.modules[0].h);
        QCOMPARE(first.value("name").toString(), document->moduleName(0));
    } else if (what == QLatin1String("report.csv")) {
        QFile file(target);
        QVERIFY(file.open(QIODevice::ReadOnly | QIODevice::Text));
        const QStringList lines =
            QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), document->moduleCount() + 2); // header, modules, totals
        QVERIFY(lines.at(1).contains(document->moduleName(0)));
        QVERIFY(lines.last().contains(QStringLiteral("(adapter)")));
    } else if (what == QLatin1String("peft")) {
        const lq::Adapter written = lq::Adapter::load(target.toStdString());
        QCOMPARE(written.modules().size(), result.modules.size());
        for (std::size_t i = 0; i < result.modules.size(); ++i) {
            const lq::ModuleFactors factors = written.factors(i);
            const Eigen::MatrixXf bhat = result.modules[i].dequantizedB();
            const Eigen::MatrixXf ahat = result.modules[i].dequantizedA();
            QCOMPARE(factors.B.rows(), bhat.rows());
            QCOMPARE(factors.A.cols(), ahat.cols());
            const bool half = written.modules()[i].dtype != lq::DType::F32;
            const double tolerance = half ? kHalfRounding : 0.0;
            QVERIFY((factors.B - bhat).cwiseAbs().maxCoeff() <=
                    tolerance * bhat.cwiseAbs().maxCoeff());
            QVERIFY((factors.A - ahat).cwiseAbs().maxCoeff() <=
                    tolerance * ahat.cwiseAbs().maxCoeff());
        }
    } else if (what == QLatin1String("plot.png")) {
        const QImage image(target);
        QCOMPARE(image.size(), bench.window.errorPlot()->canvas()->size());
    } else if (what == QLatin1String("plot.pdf")) {
        QFile file(target);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.readAll().startsWith("%PDF-"));
    } else {
        QVERIFY(QSvgRenderer(target).isValid());
    }
    QCOMPARE(lqtest::snapshot(document->path()), input); // the input is never touched
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchTest::exportPackedReadsBack_data()
{
    addAdapterRows(1);
}

void WorkbenchTest::exportPackedReadsBack()
{
    QFETCH(QString, path);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    // A split set by hand and a wider high part elsewhere, so that the file must keep per-module
    // h and b_h rather than one rule for all.
    const int last = document->moduleCount() - 1;
    document->undoStack()->push(new lq::gui::SetModuleSplitCommand(document, last, 0, 4));
    QVERIFY(waitCurrent(document));
    const lqtest::FileSnapshot input = lqtest::snapshot(document->path());

    QTemporaryDir out;
    // Without the extension: the action adds it.
    const QString target = out.filePath(QStringLiteral("exported.lqa.h5"));
    bench.chooser->next = out.filePath(QStringLiteral("exported"));
    QSignalSpy exported(&bench.window, &MainWindow::exportFinished);
    bench.window.exportPackedAction()->trigger();
    QVERIFY(exported.count() == 1 || exported.wait(kJobTimeoutMs));
    QVERIFY2(exported.at(0).at(0).toBool(), qPrintable(exported.at(0).at(1).toString()));
    QCOMPARE(QDir(out.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries),
             QStringList{QStringLiteral("exported.lqa.h5")}); // nothing temporary left

    const lq::PackedAdapter packed = lq::readPackedAdapter(target.toStdString());
    const lq::QuantResult& result = document->result();
    QCOMPARE(int(packed.modules.size()), document->moduleCount());
    for (int i = 0; i < document->moduleCount(); ++i) {
        const lq::PackedModule& module = packed.modules[std::size_t(i)];
        const lq::ModuleResult& shown = result.modules[std::size_t(i)];
        QCOMPARE(QString::fromStdString(module.name), document->moduleName(i));
        QCOMPARE(module.h, document->effectiveH(i));
        QCOMPARE(module.bitsHigh, document->effectiveBitsHigh(i));
        QCOMPARE(module.h, treeText(bench, document, i, AdapterTreeModel::HColumn).toInt());
        QCOMPARE(module.storedBits(), shown.bitsTrue);
        // The codes decode to exactly the factors the window computed.
        QVERIFY(lq::dequantizedB(module) == shown.dequantizedB());
        QVERIFY(lq::dequantizedA(module) == shown.dequantizedA());
    }
    QCOMPARE(packed.modules[std::size_t(last)].h, 0);
    QCOMPARE(packed.modules[std::size_t(last)].bitsHigh, 4);
    QCOMPARE(packed.avgBitsTrue(), result.avgBitsTrue);
    QCOMPARE(packed.relErrTotal, result.relErrTotal);
    QCOMPARE(packed.settings.groupSize, document->settings().groupSize);
    QCOMPARE(packed.settings.rho, document->settings().rho);
    QCOMPARE(lqtest::snapshot(document->path()), input);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void WorkbenchTest::opensPackedFile_data()
{
    QTest::addColumn<QString>("how");
    QTest::newRow("File > Open") << QStringLiteral("menu");
    QTest::newRow("command line") << QStringLiteral("command line");
    QTest::newRow("drop") << QStringLiteral("drop");
}

void WorkbenchTest::opensPackedFile()
{
    QFETCH(QString, how);
    // A packed file written by the library with settings the workbench would not start from:
    // rho 0.8, 3 high bits, and one module split by hand. Its source has a non-LoRA tensor and
    // metadata of its own, which the file keeps and every export must keep too.
    QTemporaryDir dir;
    const QString sourceFolder = dir.filePath(QStringLiteral("with-head"));
    const lq::TensorData head = copyWithHead(lq::gui::exampleAdapterPath(), sourceFolder);
    const lq::Adapter source = lq::Adapter::load(sourceFolder.toStdString());
    QCOMPARE(source.otherTensors(), std::vector<std::string>{head.name});
    lq::QuantSettings settings;
    settings.rho = 0.8;
    settings.bitsHigh = 3;
    settings.hOverride[source.modules().front().name] = 1;
    const lq::QuantResult quantized = lq::quantizeAdapter(source, settings);
    const QString file = dir.filePath(QStringLiteral("example.lqa.h5"));
    lq::exportPackedAdapter(file.toStdString(), source, quantized);
    const lq::PackedAdapter packed = lq::readPackedAdapter(file.toStdString());
    const lqtest::FileSnapshot before = lqtest::snapshot(file);

    Bench bench;
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    if (how == QLatin1String("menu")) {
        bench.chooser->next = file;
        bench.window.openAction()->trigger();
    } else if (how == QLatin1String("command line")) {
        bench.window.openPath(file); // what main() does with each path it is given
    } else {
        QMimeData data;
        data.setUrls({QUrl::fromLocalFile(file)});
        QDragEnterEvent enter(QPoint(400, 300), Qt::CopyAction, &data, Qt::LeftButton, {});
        QCoreApplication::sendEvent(&bench.window, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(400, 300), Qt::CopyAction, &data, Qt::LeftButton, {});
        QCoreApplication::sendEvent(&bench.window, &drop);
    }
    QVERIFY(opened.wait(kJobTimeoutMs));
    auto* document = qvariant_cast<AdapterDocument*>(opened.at(0).at(0));
    QVERIFY(waitCurrent(document));
    QVERIFY(bench.reporter->errors.isEmpty());

    // Said to come from a packed file: tree, title, status bar.
    QVERIFY(document->packedOrigin());
    const QString name = bench.window.treeModel()->indexOf(document).data().toString();
    QVERIFY2(name.contains(QStringLiteral("example.lqa.h5")) &&
                 name.contains(QStringLiteral("packed")),
             qPrintable(name));
    QVERIFY2(bench.window.windowTitle().contains(QStringLiteral("packed")),
             qPrintable(bench.window.windowTitle()));
    QVERIFY(bench.window.statusPanel()->totalsLabel()->text().contains(QStringLiteral("Packed")));

    // The stored settings and per-module splits, and the factors the codes decode to.
    QCOMPARE(document->moduleCount(), int(packed.modules.size()));
    QCOMPARE(document->settings().rho, 0.8);
    QCOMPARE(document->settings().bitsHigh, 3);
    QCOMPARE(document->settings().groupSize, packed.settings.groupSize);
    for (int i = 0; i < document->moduleCount(); ++i) {
        const lq::PackedModule& module = packed.modules[std::size_t(i)];
        QCOMPARE(document->moduleName(i), QString::fromStdString(module.name));
        QCOMPARE(document->effectiveH(i), module.h);
        QCOMPARE(document->effectiveBitsHigh(i), module.bitsHigh);
        QCOMPARE(treeText(bench, document, i, AdapterTreeModel::HColumn).toInt(), module.h);
        const lq::ModuleFactors factors = document->factors(i);
        QVERIFY(factors.B == lq::dequantizedB(module));
        QVERIFY(factors.A == lq::dequantizedA(module));
    }
    QCOMPARE(document->effectiveH(0), 1);
    // The splits the file stored are not "set by hand"; a change made here is, until undone.
    for (int i = 0; i < document->moduleCount(); ++i)
        QVERIFY2(!hShownBold(bench, document, i), qPrintable(document->moduleName(i)));
    document->undoStack()->push(new lq::gui::SetModuleSplitCommand(document, 0, 2, std::nullopt));
    QVERIFY(hShownBold(bench, document, 0));
    QVERIFY(!hShownBold(bench, document, 1));
    document->undoStack()->undo();
    QVERIFY(!hShownBold(bench, document, 0));
    QVERIFY(waitCurrent(document));
    // The module summary gives the file's own error against the original adapter.
    const QString summary = plainText(bench.window.moduleSummaryLabel());
    QVERIFY2(summary.contains(
                 QStringLiteral("as packed: error %1").arg(packed.modules[0].relErr, 0, 'f', 4)),
             qPrintable(summary));

    // Exporting it again gives a file with the same modules and splits; the packed input stays.
    QTemporaryDir out;
    const QString again = out.filePath(QStringLiteral("again.lqa.h5"));
    QSignalSpy exported(&bench.window, &MainWindow::exportFinished);
    bench.chooser->next = again;
    bench.window.exportPackedAction()->trigger();
    QVERIFY(exported.count() == 1 || exported.wait(kJobTimeoutMs));
    QVERIFY2(exported.at(0).at(0).toBool(), qPrintable(exported.at(0).at(1).toString()));
    const lq::PackedAdapter rewritten = lq::readPackedAdapter(again.toStdString());
    QCOMPARE(rewritten.modules.size(), packed.modules.size());
    for (std::size_t i = 0; i < packed.modules.size(); ++i) {
        QCOMPARE(rewritten.modules[i].h, packed.modules[i].h);
        QCOMPARE(rewritten.modules[i].bitsHigh, packed.modules[i].bitsHigh);
    }
    // The source's head and metadata survive the round: in the packed file it was opened from,
    // in the one exported again, and in a PEFT export (a lost classifier head breaks the model).
    QCOMPARE(packed.source.metadata, source.file()->metadata());
    QCOMPARE(rewritten.source.metadata, packed.source.metadata);
    QCOMPARE(rewritten.otherTensors.size(), std::size_t(1));
    QCOMPARE(rewritten.otherTensors[0].name, head.name);
    QVERIFY(rewritten.otherTensors[0].dtype == head.dtype);
    QCOMPARE(rewritten.otherTensors[0].shape, head.shape);
    QVERIFY(rewritten.otherTensors[0].bytes == head.bytes);
    const QString peft = out.filePath(QStringLiteral("peft"));
    bench.chooser->next = peft;
    bench.window.exportPeftAction()->trigger();
    QVERIFY(exported.count() == 2 || exported.wait(kJobTimeoutMs));
    QVERIFY2(exported.at(1).at(0).toBool(), qPrintable(exported.at(1).at(1).toString()));
    const lq::Adapter written = lq::Adapter::load(peft.toStdString());
    QCOMPARE(written.modules().size(), packed.modules.size());
    QCOMPARE(written.file()->metadata(), source.file()->metadata());
    QCOMPARE(written.otherTensors(), std::vector<std::string>{head.name});
    const lq::TensorEntry* writtenHead = written.file()->find(head.name);
    QVERIFY(writtenHead);
    QVERIFY(writtenHead->dtype == head.dtype);
    QCOMPARE(writtenHead->shape, head.shape);
    const auto headBytes = written.file()->bytes(*writtenHead);
    QVERIFY(std::vector<std::byte>(headBytes.begin(), headBytes.end()) == head.bytes);

    // Writing over the packed file it came from is refused, and the file is untouched.
    bench.chooser->next = file;
    bench.window.exportPackedAction()->trigger();
    QVERIFY(exported.count() == 3 || exported.wait(kJobTimeoutMs));
    QCOMPARE(exported.at(2).at(0).toBool(), false);
    QVERIFY2(exported.at(2).at(1).toString().contains(QStringLiteral("input")),
             qPrintable(exported.at(2).at(1).toString()));
    QCOMPARE(lqtest::snapshot(file), before);
}

void WorkbenchTest::corruptPackedFileShowsErrorDialog()
{
    // A packed file cut short (a copy interrupted mid-way): an error dialog naming it.
    const lq::Adapter source = lq::Adapter::load(lq::gui::exampleAdapterPath().toStdString());
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("cut.lqa.h5"));
    lq::exportPackedAdapter(file.toStdString(), source, lq::quantizeAdapter(source, {}));
    QVERIFY(QFile::resize(file, QFileInfo(file).size() / 2));

    Bench bench(true);
    QSignalSpy failed(bench.window.workspace(), &Workspace::openFailed);
    bench.chooser->next = file;
    bench.window.openAction()->trigger();
    QVERIFY(failed.wait(kJobTimeoutMs));
    auto* box = bench.window.findChild<QMessageBox*>();
    QVERIFY2(box, "no error dialog");
    QVERIFY(QTest::qWaitFor([&] { return box->isVisible(); }, 5000));
    QVERIFY2(box->text().contains(QStringLiteral("cut.lqa.h5")), qPrintable(box->text()));
    QVERIFY(bench.window.workspace()->documents().isEmpty());
    box->accept();
}

void WorkbenchTest::unwritableExportShowsError()
{
    Bench bench(true);
    QVERIFY(openThroughMenu(bench, lq::gui::exampleAdapterPath()));
    // A folder below a regular file cannot exist, not even for root.
    QTemporaryDir out;
    QFile blocker(out.filePath(QStringLiteral("file")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    const QString target = out.filePath(QStringLiteral("file/report.json"));
    QSignalSpy exported(&bench.window, &MainWindow::exportFinished);
    bench.chooser->next = target;
    bench.window.exportReportAction()->trigger();
    QVERIFY(exported.wait(kJobTimeoutMs));
    QCOMPARE(exported.at(0).at(0).toBool(), false);
    auto* box = bench.window.findChild<QMessageBox*>();
    QVERIFY(box);
    QVERIFY(QTest::qWaitFor([&] { return box->isVisible(); }, 5000));
    QVERIFY2(box->text().contains(target), qPrintable(box->text()));
    QCOMPARE(QDir(out.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries),
             QStringList{QStringLiteral("file")});
    box->accept();
}

void WorkbenchTest::corruptFileShowsErrorDialog_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("reason"); // a word of the error a person must see
    const QString bad = lqtest::testDataDir() + QStringLiteral("/bad/");
    QTest::newRow("truncated") << bad + "truncated.safetensors" << QString();
    QTest::newRow("empty file") << bad + "empty.safetensors" << QStringLiteral("empty");
    QTest::newRow("NaN values") << bad + "nan-values" << QStringLiteral("NaN");
    QTest::newRow("no adapter in folder") << bad + "no-adapter" << QString();
    QTest::newRow("missing file") << bad + "does-not-exist.safetensors" << QString();
}

void WorkbenchTest::corruptFileShowsErrorDialog()
{
    QFETCH(QString, path);
    QFETCH(QString, reason);
    Bench bench(true); // the real message box
    const lqtest::FileSnapshot before = lqtest::snapshot(path);
    QSignalSpy failed(bench.window.workspace(), &Workspace::openFailed);
    bench.chooser->next = path;
    bench.window.openAction()->trigger();
    QVERIFY(failed.wait(kJobTimeoutMs));
    auto* box = bench.window.findChild<QMessageBox*>();
    QVERIFY2(box, "no error dialog");
    QVERIFY(QTest::qWaitFor([&] { return box->isVisible(); }, 5000));
    // The dialog names the file and says what is wrong.
    QVERIFY2(box->text().contains(QFileInfo(path).fileName()), qPrintable(box->text()));
    QVERIFY2(reason.isEmpty() || box->text().contains(reason, Qt::CaseInsensitive),
             qPrintable(box->text()));
    QVERIFY(bench.window.workspace()->documents().isEmpty());
    QCOMPARE(lqtest::snapshot(path), before);
    box->accept();
    // The window goes on working.
    QVERIFY(openThroughMenu(bench, lq::gui::exampleAdapterPath()));
}

void WorkbenchTest::dropOpensAdapter()
{
    Bench bench;
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    QMimeData data;
    data.setUrls({QUrl::fromLocalFile(lq::gui::exampleAdapterPath())});
    QDragEnterEvent enter(QPoint(400, 300), Qt::CopyAction, &data, Qt::LeftButton, {});
    QCoreApplication::sendEvent(&bench.window, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(400, 300), Qt::CopyAction, &data, Qt::LeftButton, {});
    QCoreApplication::sendEvent(&bench.window, &drop);
    QVERIFY(opened.wait(kJobTimeoutMs));
    QCOMPARE(bench.window.workspace()->documents().size(), 1);
}

void WorkbenchTest::settingsRemembered()
{
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("settings.ini"));
    const QString example = lq::gui::exampleAdapterPath();
    {
        Bench bench;
        QSettings settings(file, QSettings::IniFormat);
        MainWindow window(&settings);
        auto chooser = std::make_unique<TestChooser>();
        chooser->next = example;
        window.setFileChooser(std::move(chooser));
        QSignalSpy opened(window.workspace(), &Workspace::documentOpened);
        window.openAction()->trigger();
        QVERIFY(opened.wait(kJobTimeoutMs));
        auto* document = qvariant_cast<AdapterDocument*>(opened.at(0).at(0));
        QVERIFY(waitCurrent(document));
        auto* bits = window.findChild<QSpinBox*>(QStringLiteral("bitsHigh"));
        bits->setValue(3);
        QTest::mouseClick(window.findChild<QPushButton*>(QStringLiteral("applyAll")),
                          Qt::LeftButton);
        QVERIFY(waitCurrent(document));
        // The project's own refinement is a choice like the others, so it is remembered too.
        auto* refine = window.findChild<QComboBox*>(QStringLiteral("refinement"));
        refine->setCurrentIndex(refine->findData(int(lq::Refinement::Best)));
        QVERIFY(waitCurrent(document));
        QCOMPARE(lq::toString(document->settings().refine), std::string("best"));
        window.close();
    }
    QSettings settings(file, QSettings::IniFormat);
    QCOMPARE(settings.value(QStringLiteral("recentFiles")).toStringList().value(0),
             QFileInfo(example).absoluteFilePath());
    QCOMPARE(settings.value(QStringLiteral("parameters/bitsHigh")).toInt(), 3);
    // A new window starts from them.
    MainWindow window(&settings);
    auto chooser = std::make_unique<TestChooser>();
    chooser->next = example;
    window.setFileChooser(std::move(chooser));
    QSignalSpy opened(window.workspace(), &Workspace::documentOpened);
    window.openAction()->trigger();
    QVERIFY(opened.wait(kJobTimeoutMs));
    QCOMPARE(qvariant_cast<AdapterDocument*>(opened.at(0).at(0))->settings().bitsHigh, 3);
    QCOMPARE(lq::toString(qvariant_cast<AdapterDocument*>(opened.at(0).at(0))->settings().refine),
             std::string("best"));
}

QTEST_MAIN(WorkbenchTest)
#include "workbenchtest.moc"
