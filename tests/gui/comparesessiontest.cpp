// Comparing and keeping work (issue 27): a pinned snapshot and the difference of later settings
// from it (per module in the tree, in total in the status bar, over the Error view's bars), two
// copies of one adapter told apart by their folders, a session saved and reopened with every
// choice, the question on quitting with unsaved choices, and File > Open Recent > Clear Menu.
#include "changesettingscommand.h"
#include "resultsnapshot.h"
#include "session.h"
#include "setmodulechoicescommand.h"
#include "statuspanel.h"
#include "widgets/errorbarplot.h"
#include "workbenchharness.h"

#include <QDateTime>
#include <QFileInfo>
#include <QMenu>
#include <QTreeView>
#include <QUndoStack>

using namespace lqtest;
using lq::gui::ErrorGrouping;
using lq::gui::SetModuleChoicesCommand;

namespace {

// Two documents quantized from the same choices give the same errors to the last digit shown.
constexpr double kSameErrorTolerance = 1e-9;

std::vector<int> modulesOfLayer(const AdapterDocument& document, int layer)
{
    std::vector<int> modules;
    for (int i : document.displayOrder())
        if (document.module(i).layer == layer)
            modules.push_back(i);
    return modules;
}

// Copies the files of the adapter folder `from` into `to` (created).
void copyAdapter(const QString& from, const QString& to)
{
    QDir().mkpath(to);
    for (const QString& name : QDir(from).entryList(QDir::Files))
        QVERIFY(QFile::copy(from + QLatin1Char('/') + name, to + QLatin1Char('/') + name));
}

QString statusText(Bench& bench)
{
    return plainText(bench.window.presenter()->statusPanel()->totalsLabel());
}

} // namespace

class CompareSessionTest : public QObject
{
    Q_OBJECT

private slots:
    void snapshotShowsTheDifference();
    void copiesGetDistinctNames();
    void sessionRoundTrip();
    void sessionRefusesOtherFiles();
    void quittingWithUnsavedChoicesAsks();
    void clearRecent();

private:
    QTemporaryDir m_scratch;
};

void CompareSessionTest::snapshotShowsTheDifference()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QTreeView* view = bench.window.presenter()->tree();
    QVERIFY(view->isColumnHidden(AdapterTreeModel::DeltaColumn)); // nothing pinned yet
    QVERIFY(bench.window.actions()->pinSnapshot()->isEnabled());
    bench.window.actions()->pinSnapshot()->trigger();
    QVERIFY(!view->isColumnHidden(AdapterTreeModel::DeltaColumn));
    const double pinnedTotal = document->shownTotal();
    std::vector<double> pinned;
    for (int i = 0; i < document->moduleCount(); ++i) {
        pinned.push_back(document->shownError(i));
        QCOMPARE(treeText(bench, document, i, AdapterTreeModel::DeltaColumn),
                 QStringLiteral("0.0000"));
    }

    // Layer 2 to 3 bits: its modules read their gain, the others 0, the adapter its total's.
    const std::vector<int> layer = modulesOfLayer(*document, 2);
    document->undoStack()->push(
        SetModuleChoicesCommand::setBitsHigh(document, layer, 3, QStringLiteral("layer 2")));
    QVERIFY(waitIdle(document));
    lq::gui::Snapshots* snapshots = bench.window.presenter()->snapshots();
    for (int i = 0; i < document->moduleCount(); ++i) {
        const double delta = document->shownError(i) - pinned[std::size_t(i)];
        QCOMPARE(*snapshots->moduleDelta(*document, i), delta);
        const bool changed = std::find(layer.begin(), layer.end(), i) != layer.end();
        const QString text = treeText(bench, document, i, AdapterTreeModel::DeltaColumn);
        if (changed) {
            QVERIFY(delta < 0);
            QCOMPARE(text,
                     QString::number(delta, 'f', 4).replace(QLatin1Char('-'), QStringLiteral("−")));
        } else {
            QCOMPARE(text, QStringLiteral("0.0000"));
        }
    }
    const double totalDelta = document->shownTotal() - pinnedTotal;
    QVERIFY(totalDelta < 0);
    QCOMPARE(*snapshots->totalDelta(*document), totalDelta);
    const QModelIndex adapterRow =
        bench.window.presenter()->treeModel()->indexOf(document).siblingAtColumn(
            AdapterTreeModel::DeltaColumn);
    QCOMPARE(adapterRow.data().toString(),
             QString::number(totalDelta, 'f', 4).replace(QLatin1Char('-'), QStringLiteral("−")));
    QVERIFY2(
        statusText(bench).contains(
            QStringLiteral("better than pinned (%1)").arg(QString::number(totalDelta, 'f', 4))),
        qPrintable(statusText(bench)));

    // The Error view draws the snapshot over the bars, per module and grouped alike.
    lq::gui::ErrorView* errors = bench.window.presenter()->errorView();
    QCOMPARE(errors->errorPlot()->referenceCount(), 3);
    errors->setGrouping(ErrorGrouping::Layers);
    QCOMPARE(errors->errorPlot()->referenceCount(), 3);

    bench.window.actions()->clearSnapshot()->trigger();
    QVERIFY(view->isColumnHidden(AdapterTreeModel::DeltaColumn));
    QCOMPARE(errors->errorPlot()->referenceCount(), 2);
    QVERIFY(!statusText(bench).contains(QStringLiteral("pinned")));
}

void CompareSessionTest::copiesGetDistinctNames()
{
    // Two copies of one adapter in folders of the same name read apart by their parents.
    const QString first = m_scratch.filePath(QStringLiteral("run1/example"));
    const QString second = m_scratch.filePath(QStringLiteral("run2/example"));
    copyAdapter(lq::gui::exampleAdapterPath(), first);
    copyAdapter(lq::gui::exampleAdapterPath(), second);
    Bench bench;
    AdapterDocument* one = openThroughMenu(bench, first);
    QVERIFY(one);
    AdapterTreeModel* model = bench.window.presenter()->treeModel();
    QCOMPARE(model->indexOf(one).data().toString(), QStringLiteral("example"));
    AdapterDocument* two = openThroughMenu(bench, second);
    QVERIFY(two);
    QCOMPARE(model->indexOf(one).data().toString(), QStringLiteral("run1/example"));
    QCOMPARE(model->indexOf(two).data().toString(), QStringLiteral("run2/example"));
    QVERIFY2(bench.window.windowTitle().startsWith(QStringLiteral("run2/example")),
             qPrintable(bench.window.windowTitle()));
    // Closing one gives the other its plain name back.
    bench.window.workspace()->close(two);
    QTRY_COMPARE(model->indexOf(one).data().toString(), QStringLiteral("example"));
}

void CompareSessionTest::sessionRoundTrip()
{
    // Choices by hand on three layers (refinement, width, h), a group size, the Error view by
    // kind and a module of layer 3 current: saved, then reopened in a new window, everything is
    // back and quantizes to the same errors; the modules that followed the rule still do.
    const QString file = m_scratch.filePath(QStringLiteral("work.lqsession.json"));
    std::vector<double> errors;
    lq::QuantSettings saved;
    QString currentName;
    {
        Bench bench;
        AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
        QVERIFY(document);
        lq::QuantSettings settings = document->settings();
        settings.groupSize = 64;
        document->undoStack()->push(new lq::gui::ChangeSettingsCommand(
            document, settings, QStringLiteral("Set group size to 64")));
        document->undoStack()->push(SetModuleChoicesCommand::setBitsHigh(
            document, modulesOfLayer(*document, 1), 3, QStringLiteral("layer 1")));
        document->undoStack()->push(SetModuleChoicesCommand::setH(
            document, modulesOfLayer(*document, 2), 1, QStringLiteral("layer 2")));
        document->undoStack()->push(SetModuleChoicesCommand::setRefinement(
            document, modulesOfLayer(*document, 0), lq::Refinement::Best,
            QStringLiteral("layer 0")));
        QVERIFY(waitIdle(document));
        const int current = modulesOfLayer(*document, 3).at(2);
        bench.window.presenter()->selectModule(document, current);
        currentName = QString::fromStdString(document->module(current).name);
        bench.window.showView(MainWindow::View::Error);
        bench.window.presenter()->errorView()->setGrouping(ErrorGrouping::Kinds);
        QVERIFY(bench.window.sessions()->hasUnsavedChoices());

        bench.chooser->next = file;
        bench.window.actions()->saveSession()->trigger();
        QVERIFY2(QFile::exists(file), qPrintable(bench.reporter->errors.join('\n')));
        QVERIFY(!bench.window.sessions()->hasUnsavedChoices());
        // No temporary file is left beside it.
        QCOMPARE(QDir(m_scratch.path()).entryList(QDir::Files | QDir::Hidden).size(), 1);
        saved = document->settings();
        for (int i = 0; i < document->moduleCount(); ++i)
            errors.push_back(document->shownError(i));
    }

    Bench bench;
    QSignalSpy opened(bench.window.sessions(), &lq::gui::SessionController::sessionOpened);
    bench.window.sessions()->setOpenAsker([&] { return file; });
    bench.window.actions()->openSession()->trigger();
    QVERIFY(opened.wait(kJobTimeoutMs));
    QCOMPARE(bench.window.workspace()->documents().size(), 1);
    AdapterDocument* document = bench.window.workspace()->current();
    QVERIFY(document);
    QVERIFY(waitIdle(document));
    QCOMPARE(document->settings().groupSize, 64);
    QCOMPARE(document->settings().hOverride, saved.hOverride);
    QCOMPARE(document->settings().bitsHighOverride, saved.bitsHighOverride);
    QCOMPARE(document->settings().refineOverride, saved.refineOverride);
    QCOMPARE(int(document->settings().refineOverride.size()), 7);
    QCOMPARE(document->settings().rho, saved.rho);
    QCOMPARE(int(document->settings().split), int(saved.split));
    for (int i = 0; i < document->moduleCount(); ++i) {
        QVERIFY(std::abs(document->shownError(i) - errors[std::size_t(i)]) <= kSameErrorTolerance);
        QCOMPARE(document->setByHand(i), document->module(i).layer <= 2);
    }
    QCOMPARE(int(bench.window.currentView()), int(MainWindow::View::Error));
    QCOMPARE(int(bench.window.presenter()->errorView()->grouping()), int(ErrorGrouping::Kinds));
    QCOMPARE(
        QString::fromStdString(document->module(bench.window.presenter()->currentModule()).name),
        currentName);
    // Reopened is saved: nothing to ask on quitting; the restore is no undo step.
    QVERIFY(!bench.window.sessions()->hasUnsavedChoices());
    QCOMPARE(document->undoStack()->count(), 0);
    QCOMPARE(bench.window.sessions()->path(), file);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void CompareSessionTest::sessionRefusesOtherFiles()
{
    // A file that is not a session is refused with its name and the reason; nothing opens.
    const QString file = m_scratch.filePath(QStringLiteral("not-a-session.json"));
    QFile out(file);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(R"({"format": "something else"})");
    out.close();
    Bench bench;
    bench.window.sessions()->openPath(file);
    QCOMPARE(bench.reporter->errors.size(), 1);
    QVERIFY2(bench.reporter->errors.front().contains(file),
             qPrintable(bench.reporter->errors.front()));
    QVERIFY2(bench.reporter->errors.front().contains(
                 QStringLiteral("not a LoRAQuant Workbench session")),
             qPrintable(bench.reporter->errors.front()));
    QVERIFY(bench.window.workspace()->documents().isEmpty());
}

void CompareSessionTest::quittingWithUnsavedChoicesAsks()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QStringList asked;
    QMessageBox::StandardButton answer = QMessageBox::Cancel;
    bench.window.sessions()->setUnsavedAsker([&](const QString& message) {
        asked << message;
        return answer;
    });
    // Nothing chosen yet: quitting does not ask.
    QVERIFY(bench.window.sessions()->confirmClose());
    QVERIFY(asked.isEmpty());

    document->undoStack()->push(SetModuleChoicesCommand::setBitsHigh(
        document, modulesOfLayer(*document, 0), 3, QStringLiteral("layer 0")));
    QVERIFY(waitIdle(document));
    QVERIFY(!bench.window.close()); // Cancel: the window stays
    QCOMPARE(asked.size(), 1);
    QVERIFY(bench.window.isVisible());

    // Save: the session is written where the person says, then the window closes.
    const QString file = m_scratch.filePath(QStringLiteral("on-quit.lqsession.json"));
    answer = QMessageBox::Save;
    bench.chooser->next = file;
    QVERIFY(bench.window.close());
    QCOMPARE(asked.size(), 2);
    QVERIFY(QFile::exists(file));
    const lq::gui::Session session = lq::gui::Session::read(file);
    QCOMPARE(int(session.adapters.size()), 1);
    QCOMPARE(session.adapters.front().bitsByHand.size(), qsizetype(7));

    // Undo after saving is a change again; Discard closes without writing.
    bench.window.show();
    document->undoStack()->undo();
    QVERIFY(waitIdle(document));
    answer = QMessageBox::Discard;
    const QDateTime written = QFileInfo(file).lastModified();
    QVERIFY(bench.window.close());
    QCOMPARE(asked.size(), 3);
    QCOMPARE(QFileInfo(file).lastModified(), written);
}

void CompareSessionTest::clearRecent()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    lq::gui::WindowActions* actions = bench.window.actions();
    actions->fillRecentMenu();
    QMenu* menu = actions->recentMenu();
    QVERIFY(menu->actions().size() >= 2);
    auto* clear = menu->findChild<QAction*>(QStringLiteral("actionClearRecent"));
    QVERIFY(clear && clear->isEnabled());
    clear->trigger();
    actions->fillRecentMenu();
    QCOMPARE(menu->actions().size(), 1);
    QVERIFY(!menu->actions().front()->isEnabled()); // "(none)"
    QVERIFY(!menu->findChild<QAction*>(QStringLiteral("actionClearRecent")));
    // And it stays cleared in the settings the next window reads.
    bench.settings.sync();
    QVERIFY(bench.settings.value(QStringLiteral("recentFiles")).toStringList().isEmpty());
}

QTEST_MAIN(CompareSessionTest)
#include "comparesessiontest.moc"
