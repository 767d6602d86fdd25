// What a new user tripped over in the workbench (issue 27), each driven as that person did it:
// status messages nobody could read, "Apply to selected" on a layer row, export names cut at a
// dot, a packed file's error, the help's raw entities, the bit width that jumped back, a
// validation that vanished, and the smaller things of its polish list.
#include "core/engine/adapterquantizer.h"
#include "core/packed/packedfile.h"
#include "helpbrowser.h"
#include "setmodulesplitcommand.h"
#include "statuspanel.h"
#include "widgets/errorbarplot.h"
#include "widgets/heatmapview.h"
#include "widgets/settingspanel.h"
#include "workbenchharness.h"

#include <QDoubleSpinBox>
#include <QPushButton>
#include <QSizeGrip>
#include <QSpinBox>
#include <QStatusBar>
#include <QTextBrowser>
#include <QToolBar>
#include <QTreeView>
#include <QUndoStack>

using namespace lqtest;

namespace {

// Why the status bar's temporary message cannot be read, or empty when it can: QStatusBar draws
// it from its left edge up to the first visible widget, and that room must hold the text (or
// 400 pixels of a long one).
QString unreadableMessage(MainWindow& window)
{
    QStatusBar* bar = window.statusBar();
    QCoreApplication::processEvents(); // the bar lays out its widgets again for the message
    const QString message = bar->currentMessage();
    if (message.isEmpty())
        return QStringLiteral("no message is shown");
    int right = bar->width();
    for (QWidget* child : bar->findChildren<QWidget*>(Qt::FindDirectChildrenOnly))
        if (child->isVisible() && !qobject_cast<QSizeGrip*>(child))
            right = std::min(right, child->x());
    const int room = right - 6;
    const int needed = std::min(bar->fontMetrics().horizontalAdvance(message), 400);
    if (room >= needed)
        return {};
    QStringList shown;
    for (QWidget* child : bar->findChildren<QWidget*>(Qt::FindDirectChildrenOnly))
        if (child->isVisible())
            shown << QStringLiteral("%1 %2 at %3 (%4 wide)")
                         .arg(QString::fromLatin1(child->metaObject()->className()),
                              child->objectName())
                         .arg(child->x())
                         .arg(child->width());
    return QStringLiteral("\"%1\" has %2 pixels, it needs %3; shown: %4")
        .arg(message)
        .arg(room)
        .arg(needed)
        .arg(shown.join(QStringLiteral(", ")));
}

// Copies the bundled example into `folder` (a name of the person's choosing).
QString copyExample(const QString& folder)
{
    QDir().mkpath(folder);
    for (const QString& name :
         {QStringLiteral("adapter_model.safetensors"), QStringLiteral("adapter_config.json")})
        QFile::copy(lq::gui::exampleAdapterPath() + QLatin1Char('/') + name,
                    folder + QLatin1Char('/') + name);
    return folder;
}

// What each export dialog suggests (the path it starts from), the person cancelling each one.
struct Suggestions
{
    QString packed, peft, report, plot;
};

Suggestions suggestions(Bench& bench)
{
    Suggestions s;
    const auto ask = [&](QAction* action) {
        bench.chooser->next.clear(); // cancel
        bench.chooser->suggested.clear();
        action->trigger();
        return bench.chooser->suggested;
    };
    s.packed = ask(bench.window.actions()->exportPacked());
    s.peft = ask(bench.window.actions()->exportPeft());
    s.report = ask(bench.window.actions()->exportReport());
    s.plot = ask(bench.window.actions()->exportPlot());
    return s;
}

AdapterDocument* openPath(Bench& bench, const QString& path)
{
    QSignalSpy opened(bench.window.workspace(), &Workspace::documentOpened);
    bench.window.openPath(path);
    if (!opened.wait(kJobTimeoutMs))
        return nullptr;
    auto* document = qvariant_cast<AdapterDocument*>(opened.at(0).at(0));
    return waitIdle(document) ? document : nullptr;
}

QModelIndex layerRow(Bench& bench, AdapterDocument* document, int layer)
{
    for (int i : document->displayOrder())
        if (document->module(i).layer == layer)
            return bench.window.presenter()->treeModel()->indexOf(document, i).parent();
    return {};
}

} // namespace

class WorkbenchBugsTest : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void statusMessagesAreReadable();
    void applyToLayerRow();
    void exportNamesKeepEveryDot();
    void packedFileShowsRecordedError();
    void helpHasNoRawEntities();
    void panelKeepsWhatWasApplied();
    void editDuringValidationValidatesAgain();
    void smallAdapterInKilobytes();
    void toolbarKeepsItsWidth();

private:
    QTemporaryDir m_scratch;
};

void WorkbenchBugsTest::initTestCase()
{
    QVERIFY2(!lq::gui::exampleAdapterPath().isEmpty(), "the bundled example adapter is missing");
}

// Bug 1: "CPU kernels validated", "Exported ... to ..." were set but covered by the totals.
void WorkbenchBugsTest::statusMessagesAreReadable()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QSignalSpy finished(document, &AdapterDocument::jobFinished);
    bench.window.actions()->quantize()->trigger();
    QVERIFY(finished.wait(kJobTimeoutMs));
    QVERIFY(document->validation() && document->validation()->passed);
    QStatusBar* bar = bench.window.statusBar();
    QVERIFY2(bar->currentMessage().contains(QStringLiteral("CPU kernels validated")),
             qPrintable(bar->currentMessage()));
    QString problem = unreadableMessage(bench.window);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    // The totals come back once the message has gone, and an export's message is readable too.
    QVERIFY(waitIdle(document));
    bar->clearMessage();
    QCoreApplication::processEvents();
    QVERIFY(bench.window.presenter()->statusPanel()->totalsLabel()->isVisible());
    QVERIFY(!bench.window.presenter()->statusPanel()->totalsLabel()->text().isEmpty());
    QTemporaryDir out;
    QSignalSpy exported(bench.window.exports(), &lq::gui::ExportController::exportFinished);
    bench.chooser->next = out.filePath(QStringLiteral("example.lqa.h5"));
    bench.window.actions()->exportPacked()->trigger();
    QVERIFY(exported.count() == 1 || exported.wait(kJobTimeoutMs));
    QVERIFY(exported.at(0).at(0).toBool());
    QVERIFY2(bar->currentMessage().startsWith(QStringLiteral("Exported")),
             qPrintable(bar->currentMessage()));
    problem = unreadableMessage(bench.window);
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
}

// Bug 2: with a layer row selected, Apply to selected changed the module selected before it.
void WorkbenchBugsTest::applyToLayerRow()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    const int before = bench.window.presenter()->currentModule();
    QVERIFY(before >= 0);
    QCOMPARE(document->module(before).layer, 0);

    const QModelIndex layer2 = layerRow(bench, document, 2);
    QVERIFY(layer2.isValid());
    bench.window.presenter()->tree()->setCurrentIndex(shownRow(bench, layer2));
    // The views show a module of that layer, not the one selected before.
    QVERIFY(bench.window.presenter()->currentModule() >= 0);
    QCOMPARE(document->module(bench.window.presenter()->currentModule()).layer, 2);
    QVERIFY2(plainText(bench.window.presenter()->spectrumView()->summaryLabel())
                 .contains(QStringLiteral("layer 2")),
             qPrintable(plainText(bench.window.presenter()->spectrumView()->summaryLabel())));

    auto* bits =
        bench.window.presenter()->settingsPanel()->findChild<QSpinBox*>(QStringLiteral("bitsHigh"));
    auto* apply = bench.window.presenter()->settingsPanel()->findChild<QPushButton*>(
        QStringLiteral("applySelected"));
    QVERIFY(bits && apply);
    QVERIFY(apply->isEnabled());
    QVERIFY2(apply->toolTip().contains(QStringLiteral("layer 2")), qPrintable(apply->toolTip()));
    bits->setValue(3);
    apply->click();
    QVERIFY(waitCurrent(document));

    // Every module of layer 2 has 3 bits, as one undo step named after the layer; nothing else
    // changed.
    QVERIFY2(document->undoStack()->undoText().contains(QStringLiteral("layer 2")),
             qPrintable(document->undoStack()->undoText()));
    QCOMPARE(document->undoStack()->count(), 1);
    for (int i = 0; i < document->moduleCount(); ++i) {
        const bool inLayer = document->module(i).layer == 2;
        QCOMPARE(document->effectiveBitsHigh(i), inLayer ? 3 : 2);
        QCOMPARE(document->setByHand(i), inLayer);
        QCOMPARE(document->moduleResult(i)->bitsHigh, inLayer ? 3 : 2);
    }
    document->undoStack()->undo();
    QVERIFY(waitCurrent(document));
    for (int i = 0; i < document->moduleCount(); ++i)
        QVERIFY(!document->setByHand(i));

    // The adapter's own row is not a selection to apply to: Apply to all is.
    bench.window.presenter()->tree()->setCurrentIndex(
        shownRow(bench, bench.window.presenter()->treeModel()->indexOf(document)));
    QVERIFY(!apply->isEnabled());
    QVERIFY2(apply->toolTip().contains(QStringLiteral("Apply to all")),
             qPrintable(apply->toolTip()));
}

// Bug 3: names cut at the last dot ("qwen2.lqa.h5"), ".lqa.lqa.h5" for a packed input.
void WorkbenchBugsTest::exportNamesKeepEveryDot()
{
    const QString root = m_scratch.filePath(QStringLiteral("names"));
    const QString folder = copyExample(root + QStringLiteral("/qwen2.5-3b-qv-r4-f32"));
    const QString name = QStringLiteral("qwen2.5-3b-qv-r4-f32");
    QString packedFile;
    // Opened as a folder or by its safetensors file: the same names, beside the adapter's folder
    // (where its siblings are; the folder itself is PEFT's, and an export inside it would be
    // taken for part of the adapter).
    for (const QString& path : {folder, folder + QStringLiteral("/adapter_model.safetensors")}) {
        Bench bench;
        AdapterDocument* document = openPath(bench, path);
        QVERIFY(document);
        const Suggestions s = suggestions(bench);
        QCOMPARE(s.packed, root + QLatin1Char('/') + name + QStringLiteral(".lqa.h5"));
        QCOMPARE(s.peft, root + QLatin1Char('/') + name + QStringLiteral("-loraquant"));
        QCOMPARE(s.report, root + QLatin1Char('/') + name + QStringLiteral("-report.json"));
        QCOMPARE(s.plot, root + QLatin1Char('/') + name + QStringLiteral("-spectrum.png"));
        if (packedFile.isEmpty()) {
            // The next dialog opens where the last export went.
            const QString out = m_scratch.filePath(QStringLiteral("out"));
            QDir().mkpath(out);
            packedFile = out + QLatin1Char('/') + name + QStringLiteral("-best.lqa.h5");
            QSignalSpy exported(bench.window.exports(), &lq::gui::ExportController::exportFinished);
            bench.chooser->next = packedFile;
            bench.window.actions()->exportPacked()->trigger();
            QVERIFY(exported.count() == 1 || exported.wait(kJobTimeoutMs));
            QVERIFY(exported.at(0).at(0).toBool());
            QCOMPARE(suggestions(bench).report,
                     out + QLatin1Char('/') + name + QStringLiteral("-report.json"));
        }
    }

    // A packed input loses only ".lqa.h5"; its packed export does not suggest the input itself.
    Bench bench;
    AdapterDocument* document = openPath(bench, packedFile);
    QVERIFY(document && document->packedOrigin());
    const QString out = QFileInfo(packedFile).absolutePath();
    const QString base = out + QLatin1Char('/') + name + QStringLiteral("-best");
    const Suggestions s = suggestions(bench);
    QCOMPARE(s.packed, base + QStringLiteral("-requantized.lqa.h5"));
    QCOMPARE(s.peft, base + QStringLiteral("-loraquant"));
    QCOMPARE(s.report, base + QStringLiteral("-report.json"));
    QCOMPARE(s.plot, base + QStringLiteral("-spectrum.png"));
}

// Bug 4: a reopened .lqa.h5 showed what re-quantizing its decoded factors loses (about 0), not
// the error the file recorded against the original adapter.
void WorkbenchBugsTest::packedFileShowsRecordedError()
{
    const lq::Adapter source = lq::Adapter::load(lq::gui::exampleAdapterPath().toStdString());
    const lq::QuantResult quantized = lq::quantizeAdapter(source, lq::QuantSettings{});
    const QString file = m_scratch.filePath(QStringLiteral("recorded.lqa.h5"));
    lq::exportPackedAdapter(file.toStdString(), source, quantized);
    const lq::PackedAdapter packed = lq::readPackedAdapter(file.toStdString());

    Bench bench;
    AdapterDocument* document = openPath(bench, file);
    QVERIFY(document);
    QVERIFY(bench.reporter->errors.isEmpty());
    const auto text = [](double value) { return QString::number(value, 'f', 4); };
    // The tree: every module's recorded error, the adapter's recorded total.
    for (int i = 0; i < document->moduleCount(); ++i)
        QCOMPARE(treeText(bench, document, i, AdapterTreeModel::ErrorColumn),
                 text(packed.modules[std::size_t(i)].relErr));
    QCOMPARE(bench.window.presenter()
                 ->treeModel()
                 ->indexOf(document)
                 .siblingAtColumn(AdapterTreeModel::ErrorColumn)
                 .data()
                 .toString(),
             text(packed.relErrTotal));
    // The status bar and the Error view.
    const QString totals = bench.window.presenter()->statusPanel()->totalsLabel()->text();
    QVERIFY2(totals.contains(QStringLiteral("error %1").arg(text(packed.relErrTotal))),
             qPrintable(totals));
    QVERIFY2(totals.contains(QStringLiteral("original")), qPrintable(totals));
    const std::vector<double>& bars = bench.window.presenter()->errorView()->errorPlot()->errors();
    QCOMPARE(int(bars.size()), document->moduleCount());
    for (int position = 0; position < document->moduleCount(); ++position)
        QCOMPARE(
            bars[std::size_t(position)],
            packed.modules[std::size_t(document->displayOrder()[std::size_t(position)])].relErr);
    QVERIFY2(bench.window.presenter()->errorView()->errorPlot()->title().contains(
                 text(packed.relErrTotal)),
             qPrintable(bench.window.presenter()->errorView()->errorPlot()->title()));
    // The Learn view says where its factors come from.
    bench.window.showView(MainWindow::View::Learn);
    const QStringList titles = bench.window.presenter()->learnView()->titles();
    QVERIFY2(!titles.join(QLatin1Char(' ')).contains(QStringLiteral("as trained")),
             qPrintable(titles.join(QStringLiteral("; "))));
    QVERIFY2(titles.at(0).contains(QStringLiteral("decoded from the packed file")),
             qPrintable(titles.at(0)));
    QVERIFY2(titles.at(1).contains(QStringLiteral("decoded")), qPrintable(titles.at(1)));

    // A module split by hand no longer has a recorded error: it shows what re-quantizing the
    // decoded factors loses, and says so; undo brings the recorded one back.
    const int module = bench.window.presenter()->currentModule();
    const int h = document->effectiveH(module);
    document->undoStack()->push(
        new lq::gui::SetModuleSplitCommand(document, module, h == 1 ? 2 : 1, std::nullopt));
    QVERIFY(waitCurrent(document));
    const QModelIndex error = bench.window.presenter()->treeModel()->indexOf(
        document, module, AdapterTreeModel::ErrorColumn);
    QCOMPARE(error.data().toString(), text(document->moduleResult(module)->relErr));
    QVERIFY2(error.data(Qt::ToolTipRole).toString().contains(QStringLiteral("decoded")),
             qPrintable(error.data(Qt::ToolTipRole).toString()));
    QVERIFY(!bench.window.presenter()->statusPanel()->totalsLabel()->text().contains(
        QStringLiteral("error %1").arg(text(packed.relErrTotal))));
    document->undoStack()->undo();
    QVERIFY(waitCurrent(document));
    QCOMPARE(error.data().toString(), text(packed.modules[std::size_t(module)].relErr));
}

// Bug 5: Qt's rich text does not know "&Vert;" and showed it as it is.
void WorkbenchBugsTest::helpHasNoRawEntities()
{
    lq::gui::HelpBrowser help;
    auto* browser = help.findChild<QTextBrowser*>();
    QVERIFY(browser);
    const QString text = browser->toPlainText();
    QVERIFY(text.contains(QStringLiteral("SVD")));
    const QRegularExpressionMatch raw =
        QRegularExpression(QStringLiteral("&[A-Za-z0-9#]+;")).match(text);
    QVERIFY2(!raw.hasMatch(), qPrintable(raw.captured()));
    QVERIFY(text.contains(QStringLiteral("‖ΔW‖")));
}

// Bug 6: the High part spin box (and the rule) jumped back after Apply to selected.
void WorkbenchBugsTest::panelKeepsWhatWasApplied()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    auto* panel = bench.window.presenter()->settingsPanel();
    auto* bits = panel->findChild<QSpinBox*>(QStringLiteral("bitsHigh"));
    auto* rho = panel->findChild<QDoubleSpinBox*>(QStringLiteral("rho"));
    auto* applySelected = panel->findChild<QPushButton*>(QStringLiteral("applySelected"));
    auto* applyAll = panel->findChild<QPushButton*>(QStringLiteral("applyAll"));
    QVERIFY(bits && rho && applySelected && applyAll);
    bits->setValue(3);
    rho->setValue(0.95);
    const int module = bench.window.presenter()->currentModule();
    applySelected->click();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->effectiveBitsHigh(module), 3);
    QCOMPARE(bits->value(), 3);
    QCOMPARE(rho->value(), 0.95);
    // The next module gets the same with one more click.
    const int next = document->displayOrder()[1];
    bench.window.presenter()->selectModule(document, next);
    QCOMPARE(bits->value(), 3);
    applySelected->click();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->effectiveBitsHigh(next), 3);

    // The panel follows the adapter's own rule when that changes: Apply to all, and its undo.
    applyAll->click();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->settings().bitsHigh, 3);
    document->undoStack()->undo();
    QVERIFY(waitCurrent(document));
    QCOMPARE(bits->value(), 2);
    QCOMPARE(rho->value(), document->settings().rho);
}

// Bug 7: an edit while Quantize & Validate ran dropped the validation without a word.
void WorkbenchBugsTest::editDuringValidationValidatesAgain()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QSignalSpy finished(document, &AdapterDocument::jobFinished);
    bench.window.actions()->quantize()->trigger();
    QVERIFY(document->activeJob());
    const int module = bench.window.presenter()->currentModule();
    document->undoStack()->push(new lq::gui::SetModuleSplitCommand(
        document, module, document->effectiveH(module) + 1, std::nullopt));
    QVERIFY(waitCurrent(document));
    QVERIFY(!finished.isEmpty());
    QVERIFY(document->validation());
    QVERIFY(document->validation()->passed);
    QVERIFY2(bench.window.statusBar()->currentMessage().contains(
                 QStringLiteral("CPU kernels validated")),
             qPrintable(bench.window.statusBar()->currentMessage()));
    QVERIFY2(bench.window.presenter()->statusPanel()->totalsLabel()->text().contains(
                 QStringLiteral("kernels validated")),
             qPrintable(bench.window.presenter()->statusPanel()->totalsLabel()->text()));

    // A validation the person cancelled stays cancelled when an edit follows at once.
    QVERIFY(waitIdle(document));
    bench.window.actions()->quantize()->trigger();
    QVERIFY(document->activeJob());
    document->activeJob()->cancel();
    document->undoStack()->undo();
    QVERIFY(waitCurrent(document));
    QVERIFY(!document->validation());
}

// Polish: a 3 kB adapter read "0.00 MB".
void WorkbenchBugsTest::smallAdapterInKilobytes()
{
    const QString folder = m_scratch.filePath(QStringLiteral("tiny"));
    writeTextSortedAdapter(folder);
    Bench bench;
    AdapterDocument* document = openPath(bench, folder);
    QVERIFY(document);
    const QString totals = bench.window.presenter()->statusPanel()->totalsLabel()->text();
    QVERIFY2(!totals.contains(QStringLiteral("0.00 MB")), qPrintable(totals));
    QVERIFY2(totals.contains(QStringLiteral(" kB")), qPrintable(totals));
}

// Polish: the tool bar grew with the Undo text, and every button after it moved.
void WorkbenchBugsTest::toolbarKeepsItsWidth()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    auto* tools = bench.window.findChild<QToolBar*>(QStringLiteral("mainToolBar"));
    QVERIFY(tools);
    QWidget* quantize = tools->widgetForAction(bench.window.actions()->quantize());
    QVERIFY(quantize);
    QCoreApplication::processEvents();
    const int x = quantize->x();
    const int module = document->displayOrder().back(); // "layer 3 · down_proj": a long label
    document->undoStack()->push(
        new lq::gui::SetModuleSplitCommand(document, module, 3, std::nullopt));
    QVERIFY(waitCurrent(document));
    QCoreApplication::processEvents();
    QCOMPARE(quantize->x(), x);
    // What Undo would undo is still said: on the tool bar's button and in the Edit menu.
    bool said = false;
    for (QAction* action : tools->actions())
        said = said || action->toolTip().contains(QStringLiteral("down_proj"));
    QVERIFY(said);
    QVERIFY(bench.window.actions()->undo()->text().contains(QStringLiteral("down_proj")));
}

QTEST_MAIN(WorkbenchBugsTest)
#include "workbenchbugstest.moc"
