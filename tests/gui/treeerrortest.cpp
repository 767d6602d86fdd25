// The Adapters tree and the Error view at many modules (issue 27): sorting (layer 2 before 10),
// filtering by name or layer, several rows selected and changed as one undo step, the context
// menu's edits of a layer or every module of a kind, and the Error view's bars per layer and per
// projection kind, energy-weighted as the adapter's total.
#include "errorgroups.h"
#include "setmodulechoicescommand.h"
#include "widgets/errorbarplot.h"
#include "widgets/errorlegend.h"
#include "widgets/settingspanel.h"
#include "workbenchharness.h"

#include <QHeaderView>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>
#include <QTreeView>
#include <QUndoStack>
#include <numeric>

using namespace lqtest;
using lq::gui::AdapterTree;
using lq::gui::ErrorGrouping;

namespace {

// The aggregate and a sum done here differ by rounding only.
constexpr double kAggregateTolerance = 1e-12;

AdapterTree* treeOf(Bench& bench)
{
    return bench.window.presenter()->adapterTree();
}

// The text of column `column` of every child row of `parent` (view indices), top to bottom.
QStringList childTexts(QTreeView* view, const QModelIndex& parent, int column = 0)
{
    QStringList texts;
    for (int row = 0; row < view->model()->rowCount(parent); ++row)
        texts << view->model()->index(row, column, parent).data().toString();
    return texts;
}

// Clicks the view row of module `module` with `modifiers` (ctrl: add to the selection).
void clickModule(Bench& bench, AdapterDocument* document, int module,
                 Qt::KeyboardModifiers modifiers = {})
{
    QTreeView* view = treeOf(bench)->view();
    const QModelIndex index =
        shownRow(bench, bench.window.presenter()->treeModel()->indexOf(document, module));
    QVERIFY(index.isValid());
    view->expand(index.parent());
    view->scrollTo(index);
    QTest::mouseClick(view->viewport(), Qt::LeftButton, modifiers,
                      view->visualRect(index).center());
}

// The energy-weighted error of `modules`, from the result's own figures (as updateTotals sums).
double weighted(const AdapterDocument& document, const std::vector<int>& modules)
{
    double errSq = 0, normSq = 0;
    for (int i : modules) {
        errSq += document.moduleResult(i)->errSq;
        normSq += document.moduleResult(i)->normSq;
    }
    return std::sqrt(errSq / normSq);
}

QAction* menuAction(QMenu* menu, const QString& target, const QString& action)
{
    auto* sub = menu->findChild<QMenu*>(target);
    return sub ? sub->findChild<QAction*>(action) : nullptr;
}

} // namespace

class TreeErrorTest : public QObject
{
    Q_OBJECT

private slots:
    void sortsLayersNumerically();
    void sortsByError();
    void filterKeepsParents_data();
    void filterKeepsParents();
    void multiSelectionIsOneUndoStep();
    void contextMenuSetsKindAndLayer();
    void contextMenuRefinesAKind();
    void legendShowsTheScale();
    void errorViewAggregates_data();
    void errorViewAggregates();
    void errorViewNamesBarsWithoutHover();

private:
    QTemporaryDir m_scratch;
};

void TreeErrorTest::sortsLayersNumerically()
{
    // PEFT writes names sorted as text (layers.10 before layers.2): sorting by the Module column
    // must still read 0, 1, 2, ..., 11, and the modules outside any layer stay last.
    const QString folder = m_scratch.filePath(QStringLiteral("text-sorted"));
    writeTextSortedAdapter(folder);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, folder);
    QVERIFY(document);
    QTreeView* view = treeOf(bench)->view();
    const QModelIndex adapter = view->model()->index(0, 0);

    QStringList ascending;
    for (int layer = 0; layer < 12; ++layer)
        ascending << QStringLiteral("layer %1").arg(layer);
    ascending << QStringLiteral("other modules");

    view->sortByColumn(AdapterTreeModel::NameColumn, Qt::AscendingOrder);
    QCOMPARE(childTexts(view, adapter), ascending);
    view->sortByColumn(AdapterTreeModel::NameColumn, Qt::DescendingOrder);
    QStringList descending = ascending;
    std::reverse(descending.begin(), descending.end());
    QCOMPARE(childTexts(view, adapter), descending);
    // A click on the header sorts too.
    const int x = view->header()->sectionViewportPosition(AdapterTreeModel::NameColumn) + 5;
    QTest::mouseClick(view->header()->viewport(), Qt::LeftButton, {},
                      QPoint(x, view->header()->height() / 2));
    QCOMPARE(view->header()->sortIndicatorSection(), int(AdapterTreeModel::NameColumn));
    QCOMPARE(childTexts(view, adapter),
             view->header()->sortIndicatorOrder() == Qt::AscendingOrder ? ascending : descending);
}

void TreeErrorTest::sortsByError()
{
    // Sorted by Error, the layers come by their energy-weighted error, and within each layer
    // the modules by theirs: the worst at the bottom.
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QTreeView* view = treeOf(bench)->view();
    view->sortByColumn(AdapterTreeModel::ErrorColumn, Qt::AscendingOrder);
    const QModelIndex adapter = view->model()->index(0, 0);
    const auto numbers = [](const QStringList& texts) {
        std::vector<double> values;
        for (const QString& text : texts)
            values.push_back(text.toDouble());
        return values;
    };
    const std::vector<double> layers =
        numbers(childTexts(view, adapter, AdapterTreeModel::ErrorColumn));
    QCOMPARE(int(layers.size()), 4);
    QVERIFY(std::is_sorted(layers.begin(), layers.end()));
    for (int row = 0; row < view->model()->rowCount(adapter); ++row) {
        const std::vector<double> modules = numbers(
            childTexts(view, view->model()->index(row, 0, adapter), AdapterTreeModel::ErrorColumn));
        QCOMPARE(int(modules.size()), 7);
        QVERIFY(std::is_sorted(modules.begin(), modules.end()));
    }
    // The selection follows its module through a re-sort: what the views show stays.
    const int module = document->displayOrder().at(5);
    bench.window.presenter()->selectModule(document, module);
    view->sortByColumn(AdapterTreeModel::RankColumn, Qt::DescendingOrder);
    QCOMPARE(bench.window.presenter()->currentModule(), module);
    QCOMPARE(treeOf(bench)->selectedModules(document), std::vector<int>{module});
}

void TreeErrorTest::filterKeepsParents_data()
{
    QTest::addColumn<QString>("filter");
    QTest::addColumn<int>("layer");    // -1: any
    QTest::addColumn<QString>("kind"); // empty: any
    QTest::addColumn<int>("modules");
    QTest::newRow("kind") << "q_proj" << -1 << "q_proj" << 4;
    QTest::newRow("kind, other case") << "V_PROJ" << -1 << "v_proj" << 4;
    QTest::newRow("part of a name") << "mlp" << -1 << QString() << 12;
    QTest::newRow("layer number") << "2" << 2 << QString() << 7;
    QTest::newRow("layer word") << "layer 3" << 3 << QString() << 7;
    QTest::newRow("short layer") << "l1 up_proj" << 1 << "up_proj" << 1;
    QTest::newRow("nothing") << "lm_head" << -1 << QString() << 0;
}

void TreeErrorTest::filterKeepsParents()
{
    QFETCH(QString, filter);
    QFETCH(int, layer);
    QFETCH(QString, kind);
    QFETCH(int, modules);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QTreeView* view = treeOf(bench)->view();
    QLineEdit* edit = treeOf(bench)->filterEdit();
    QVERIFY(edit->isVisible());
    QTest::keyClicks(edit, filter);
    QAbstractItemModel* model = view->model();

    int shown = 0;
    QCOMPARE(model->rowCount(), modules > 0 ? 1 : 0); // the adapter stays while a module shows
    for (int a = 0; a < model->rowCount(); ++a) {
        const QModelIndex adapter = model->index(a, 0);
        for (int l = 0; l < model->rowCount(adapter); ++l) {
            const QModelIndex layerRow = model->index(l, 0, adapter);
            QVERIFY2(model->rowCount(layerRow) > 0, "a layer without a match is hidden");
            for (int m = 0; m < model->rowCount(layerRow); ++m) {
                const int module = treeOf(bench)->model()->moduleOf(
                    treeOf(bench)->toSource(model->index(m, 0, layerRow)));
                QVERIFY(module >= 0);
                if (layer >= 0)
                    QCOMPARE(document->module(module).layer, layer);
                if (!kind.isEmpty())
                    QCOMPARE(QString::fromStdString(document->module(module).kind), kind);
                ++shown;
            }
        }
    }
    QCOMPARE(shown, modules);

    // Cleared, every module is back.
    edit->clear();
    const QModelIndex adapter = model->index(0, 0);
    int all = 0;
    for (int l = 0; l < model->rowCount(adapter); ++l)
        all += model->rowCount(model->index(l, 0, adapter));
    QCOMPARE(all, document->moduleCount());
}

void TreeErrorTest::multiSelectionIsOneUndoStep()
{
    // Ctrl-click three modules in two layers, Apply to selected with 3 bits: the three change
    // together as one undo step, nothing else does, and one undo restores all three.
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QVERIFY(QTest::qWaitForWindowExposed(&bench.window));
    const std::vector<int>& order = document->displayOrder();
    const std::vector<int> chosen = {order[1], order[3], order[9]};
    clickModule(bench, document, chosen[0]);
    clickModule(bench, document, chosen[1], Qt::ControlModifier);
    clickModule(bench, document, chosen[2], Qt::ControlModifier);
    QCOMPARE(treeOf(bench)->selectedModules(document), chosen);
    QCOMPARE(bench.window.presenter()->currentModule(), chosen[2]);

    auto* panel = bench.window.presenter()->settingsPanel();
    auto* bits = panel->findChild<QSpinBox*>(QStringLiteral("bitsHigh"));
    auto* apply = panel->findChild<QPushButton*>(QStringLiteral("applySelected"));
    QVERIFY(bits && apply);
    QVERIFY2(apply->toolTip().contains(QStringLiteral("3 selected modules")),
             qPrintable(apply->toolTip()));
    std::vector<double> errorsBefore;
    for (int i = 0; i < document->moduleCount(); ++i)
        errorsBefore.push_back(document->moduleResult(i)->relErr);
    bits->setValue(3);
    apply->click();
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->undoStack()->count(), 1);
    QVERIFY2(document->undoStack()->undoText().contains(QStringLiteral("3 selected modules")),
             qPrintable(document->undoStack()->undoText()));
    for (int i = 0; i < document->moduleCount(); ++i) {
        const bool picked = std::find(chosen.begin(), chosen.end(), i) != chosen.end();
        QCOMPARE(document->effectiveBitsHigh(i), picked ? 3 : 2);
        QCOMPARE(document->moduleResult(i)->bitsHigh, picked ? 3 : 2);
        QCOMPARE(document->setByHand(i), picked);
        if (picked) // 3 bits beat 2 on every module of the example
            QVERIFY(document->moduleResult(i)->relErr < errorsBefore[std::size_t(i)]);
    }
    QCOMPARE(bits->value(), 3); // the panel keeps what was typed (bug 6)

    document->undoStack()->undo();
    QVERIFY(waitCurrent(document));
    for (int i = 0; i < document->moduleCount(); ++i) {
        QVERIFY(!document->setByHand(i));
        QCOMPARE(document->moduleResult(i)->relErr, errorsBefore[std::size_t(i)]);
    }
    document->undoStack()->redo();
    QVERIFY(waitCurrent(document));
    for (int module : chosen)
        QCOMPARE(document->moduleResult(module)->bitsHigh, 3);
}

void TreeErrorTest::contextMenuSetsKindAndLayer()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    int qProj = -1;
    for (int i : document->displayOrder())
        if (document->module(i).kind == "q_proj" && document->module(i).layer == 1)
            qProj = i;
    QVERIFY(qProj >= 0);
    bench.window.presenter()->selectModule(document, qProj);
    const QModelIndex row =
        shownRow(bench, bench.window.presenter()->treeModel()->indexOf(document, qProj));

    // Every q_proj to 3 bits: one step; every other module as it was.
    {
        const std::unique_ptr<QMenu> menu = treeOf(bench)->contextMenu(row);
        QVERIFY(menu);
        QAction* action =
            menuAction(menu.get(), QStringLiteral("targetKind"), QStringLiteral("setBits3"));
        QVERIFY(action);
        QVERIFY2(menu->findChild<QMenu*>(QStringLiteral("targetKind"))
                     ->title()
                     .contains(QStringLiteral("q_proj (4 modules)")),
                 qPrintable(menu->findChild<QMenu*>(QStringLiteral("targetKind"))->title()));
        action->trigger();
    }
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->undoStack()->count(), 1);
    QVERIFY2(document->undoStack()->undoText().contains(QStringLiteral("every q_proj")),
             qPrintable(document->undoStack()->undoText()));
    for (int i = 0; i < document->moduleCount(); ++i) {
        const bool isQ = document->module(i).kind == "q_proj";
        QCOMPARE(document->moduleResult(i)->bitsHigh, isQ ? 3 : 2);
        QCOMPARE(document->setByHand(i), isQ);
    }

    // The whole of layer 1 to h = 1: a second step that keeps the q_proj's width.
    {
        const std::unique_ptr<QMenu> menu = treeOf(bench)->contextMenu(row);
        QAction* action =
            menuAction(menu.get(), QStringLiteral("targetLayer"), QStringLiteral("setH1"));
        QVERIFY(action);
        action->trigger();
    }
    QVERIFY(waitCurrent(document));
    QCOMPARE(document->undoStack()->count(), 2);
    for (int i = 0; i < document->moduleCount(); ++i)
        if (document->module(i).layer == 1)
            QCOMPARE(document->moduleResult(i)->h, 1);
    QCOMPARE(document->moduleResult(qProj)->bitsHigh, 3);

    // Undo twice: every module follows the rule again, as at the start.
    document->undoStack()->undo();
    document->undoStack()->undo();
    QVERIFY(waitCurrent(document));
    for (int i = 0; i < document->moduleCount(); ++i)
        QVERIFY(!document->setByHand(i));

    // "Follow the rule again" on a layer row's menu.
    document->undoStack()->redo();
    QVERIFY(waitCurrent(document));
    {
        const std::unique_ptr<QMenu> menu = treeOf(bench)->contextMenu(row.parent());
        QVERIFY(!menu->findChild<QMenu*>(QStringLiteral("targetKind"))); // a layer has no kind
        QAction* action =
            menuAction(menu.get(), QStringLiteral("targetLayer"), QStringLiteral("reset"));
        QVERIFY(action);
        action->trigger();
    }
    QVERIFY(waitCurrent(document));
    QVERIFY(!document->setByHand(qProj));
    QCOMPARE(document->moduleResult(qProj)->bitsHigh, 2);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void TreeErrorTest::contextMenuRefinesAKind()
{
    // Best refinement for every v_proj only: their errors drop, every other module's stays to
    // the bit, as one undo step; undo brings the exact errors back.
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    QCOMPARE(int(document->settings().refine), int(lq::Refinement::None));
    int vProj = -1;
    for (int i : document->displayOrder())
        if (document->module(i).kind == "v_proj")
            vProj = i;
    QVERIFY(vProj >= 0);
    std::vector<double> before;
    for (int i = 0; i < document->moduleCount(); ++i)
        before.push_back(document->moduleResult(i)->relErr);
    {
        const std::unique_ptr<QMenu> menu = treeOf(bench)->contextMenu(
            shownRow(bench, bench.window.presenter()->treeModel()->indexOf(document, vProj)));
        auto* kind = menu->findChild<QMenu*>(QStringLiteral("targetKind"));
        QVERIFY(kind);
        auto* best = kind->findChild<QAction*>(QStringLiteral("refine-best"));
        QVERIFY(best);
        best->trigger();
    }
    QVERIFY(waitIdle(document));
    QCOMPARE(document->undoStack()->count(), 1);
    for (int i = 0; i < document->moduleCount(); ++i) {
        const bool isV = document->module(i).kind == "v_proj";
        QCOMPARE(int(document->effectiveRefinement(i)),
                 int(isV ? lq::Refinement::Best : lq::Refinement::None));
        if (isV)
            QVERIFY2(document->moduleResult(i)->relErr < before[std::size_t(i)],
                     qPrintable(document->moduleLabel(i)));
        else
            QCOMPARE(document->moduleResult(i)->relErr, before[std::size_t(i)]);
        QCOMPARE(document->setByHand(i), isV);
    }
    document->undoStack()->undo();
    QVERIFY(waitIdle(document));
    for (int i = 0; i < document->moduleCount(); ++i) {
        QVERIFY(!document->refineOverride(i));
        QCOMPARE(document->moduleResult(i)->relErr, before[std::size_t(i)]);
    }
}

void TreeErrorTest::legendShowsTheScale()
{
    Bench bench;
    auto* legend = treeOf(bench)->legend();
    QVERIFY(legend && legend->isVisible());
    QVERIFY(legend->height() >= legend->minimumSizeHint().height());
    QVERIFY(!legend->toolTip().isEmpty());
    // The legend's ends are the colours of an exact and of a lost module.
    const QImage image = legend->grab().toImage();
    QVERIFY(!image.isNull());
}

void TreeErrorTest::errorViewAggregates_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("grouping");
    QTest::newRow("example, by layer")
        << lq::gui::exampleAdapterPath() << int(ErrorGrouping::Layers);
    QTest::newRow("example, by kind") << lq::gui::exampleAdapterPath() << int(ErrorGrouping::Kinds);
    for (const QString& name : lqtest::sharedAdapterNames()) {
        const QString path = lqtest::adaptersDir() + QLatin1Char('/') + name;
        QTest::newRow(qPrintable(name + ", by layer")) << path << int(ErrorGrouping::Layers);
        QTest::newRow(qPrintable(name + ", by kind")) << path << int(ErrorGrouping::Kinds);
    }
}

void TreeErrorTest::errorViewAggregates()
{
    // Each bar of a layer or a kind is its modules' error weighted by their energy, as the
    // adapter's total is: sqrt(sum err^2 / sum ||dW||^2); the groups hold every module once, so
    // combining the bars' figures gives the total back. The baselines are grouped alike.
    QFETCH(QString, path);
    QFETCH(int, grouping);
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, path);
    QVERIFY(document);
    lq::gui::ErrorView* view = bench.window.presenter()->errorView();
    bench.window.showView(MainWindow::View::Error);
    auto* button = view->findChild<QToolButton*>(grouping == int(ErrorGrouping::Layers)
                                                     ? QStringLiteral("groupLayers")
                                                     : QStringLiteral("groupKinds"));
    QVERIFY(button);
    button->click();
    QCOMPARE(int(view->grouping()), grouping);

    const std::vector<lq::gui::ErrorGroup>& groups = view->groups();
    const std::vector<double>& bars = view->errorPlot()->errors();
    QCOMPARE(bars.size(), groups.size());
    std::vector<int> seen;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        for (int module : groups[g].modules) {
            seen.push_back(module);
            const lq::LoraModule& m = document->module(module);
            if (grouping == int(ErrorGrouping::Layers))
                QCOMPARE(m.layer, document->module(groups[g].modules.front()).layer);
            else
                QCOMPARE(m.kind, document->module(groups[g].modules.front()).kind);
        }
        QVERIFY2(std::abs(bars[g] - weighted(*document, groups[g].modules)) <= kAggregateTolerance,
                 qPrintable(groups[g].label));
    }
    std::sort(seen.begin(), seen.end());
    QCOMPARE(int(seen.size()), document->moduleCount());
    QVERIFY(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    std::vector<int> all(std::size_t(document->moduleCount()));
    std::iota(all.begin(), all.end(), 0);
    QVERIFY(std::abs(weighted(*document, all) - document->result().relErrTotal) <=
            kAggregateTolerance);
    QCOMPARE(view->errorPlot()->referenceCount(), 2);

    // Clicking a group's bar selects its worst module; the selected bar is that group's.
    view->errorPlot()->replotNow();
    QTest::mouseClick(view->errorPlot()->canvas(), Qt::LeftButton, {},
                      view->errorPlot()->barPosition(0));
    const int module = bench.window.presenter()->currentModule();
    QVERIFY(std::find(groups[0].modules.begin(), groups[0].modules.end(), module) !=
            groups[0].modules.end());
    for (int other : groups[0].modules)
        QVERIFY(document->shownError(other) <= document->shownError(module));
    QCOMPARE(view->errorPlot()->selected(), 0);

    // Back to modules: one bar per module, in the tree's order.
    view->findChild<QToolButton*>(QStringLiteral("groupModules"))->click();
    QCOMPARE(view->errorPlot()->moduleCount(), document->moduleCount());
    QCOMPARE(view->errorPlot()->selected(), document->displayPosition(module));
}

void TreeErrorTest::errorViewNamesBarsWithoutHover()
{
    // The selected module's name and error are written above the bars, and bars wide enough for
    // it (seven kinds, four layers) carry their names and values.
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Error);
    QVERIFY(QTest::qWaitForWindowExposed(&bench.window));
    lq::gui::ErrorView* view = bench.window.presenter()->errorView();
    const int module = document->displayOrder().at(4);
    bench.window.presenter()->selectModule(document, module);
    const QString readout = view->errorPlot()->readout();
    QVERIFY2(readout.contains(document->moduleLabel(module)), qPrintable(readout));
    QVERIFY2(readout.contains(QString::number(document->shownError(module), 'f', 4)),
             qPrintable(readout));
    QVERIFY2(readout.contains(QStringLiteral("RTN 2-bit")), qPrintable(readout));

    view->setGrouping(ErrorGrouping::Kinds);
    view->errorPlot()->replotNow();
    QCOMPARE(view->errorPlot()->visibleLabelCount(), 7);
    QVERIFY2(view->errorPlot()->readout().contains(
                 QString::fromStdString(document->module(module).kind)),
             qPrintable(view->errorPlot()->readout()));
    view->setGrouping(ErrorGrouping::Layers);
    view->errorPlot()->replotNow();
    QCOMPARE(view->errorPlot()->visibleLabelCount(), 4);
    // A bar narrower than its value's text gets no label rather than overlapping ones.
    view->setGrouping(ErrorGrouping::Modules);
    bench.window.resize(700, 600);
    QTest::qWait(50);
    view->errorPlot()->replotNow();
    QCOMPARE(view->errorPlot()->visibleLabelCount(), 0);
    QVERIFY(view->errorPlot()->readout().contains(document->moduleLabel(module)));
}

QTEST_MAIN(TreeErrorTest)
#include "treeerrortest.moc"
