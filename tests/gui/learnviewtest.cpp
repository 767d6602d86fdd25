// The Learn view (issue 27, "Teaching"): the split marked on the energy plot, quantized factors
// beside the exact ones, the rank-k reconstruction plot, and text with the shown module's numbers.
#include "budgetcurves.h"
#include "learndata.h"
#include "setmodulesplitcommand.h"
#include "viewdata.h"
#include "widgets/heatmapview.h"
#include "workbenchharness.h"

#include <QUndoStack>
#include <cmath>

using namespace lqtest;

namespace {

// The truncation error is a sum of r squares and one square root: double rounding only.
constexpr double kCurveTolerance = 1e-12;

lq::widgets::HeatMapView* learnView(Bench& bench)
{
    return bench.window.presenter()->learnView();
}

// sqrt(sum_{i>k} s_i^2 / sum_i s_i^2), summed plainly, for comparison.
double expectedTruncation(const std::vector<double>& s, int k)
{
    double tail = 0, total = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        total += s[i] * s[i];
        if (int(i) >= k)
            tail += s[i] * s[i];
    }
    return total > 0 ? std::sqrt(tail / total) : 0.0;
}

} // namespace

class LearnViewTest : public QObject
{
    Q_OBJECT

private slots:
    void truncationCurveIsTheTailEnergy();
    void splitMarkedAndFollowsH();
    void reconstructionPlotShowsTheModulesSpectrum();
    void textNamesTheShownModulesNumbers();
    void quantizedMapsDifferFromExact();
};

void LearnViewTest::truncationCurveIsTheTailEnergy()
{
    // A synthetic spectrum: energies 16, 4, 1, 0.25 of 21.25.
    const std::vector<double> s{4, 2, 1, 0.5};
    const auto curve = lq::gui::truncationCurve(s);
    QCOMPARE(int(curve.size()), 5);
    for (int k = 0; k <= 4; ++k) {
        QCOMPARE(curve[std::size_t(k)].h, k);
        QCOMPARE(curve[std::size_t(k)].bits, 16.0 * k / 4);
        QVERIFY(std::fabs(curve[std::size_t(k)].error - expectedTruncation(s, k)) <
                kCurveTolerance);
    }
    QCOMPARE(curve.front().error, 1.0);
    QCOMPARE(curve.back().error, 0.0);
    QVERIFY(std::fabs(curve[1].error - std::sqrt(5.25 / 21.25)) < kCurveTolerance);
    // A zero update has no error to show.
    for (const auto& point : lq::gui::truncationCurve({0, 0}))
        QCOMPARE(point.error, 0.0);
}

void LearnViewTest::splitMarkedAndFollowsH()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Learn);
    const int module = bench.window.presenter()->currentModule();
    const int h = document->effectiveH(module);
    QCOMPARE(learnView(bench)->splitMarkerPosition(), h + 0.5);

    const int newH = h == 3 ? 4 : 3;
    document->undoStack()->push(
        new lq::gui::SetModuleSplitCommand(document, module, newH, std::nullopt));
    QVERIFY(waitCurrent(document));
    QTRY_COMPARE(learnView(bench)->splitMarkerPosition(), newH + 0.5);
    QVERIFY2(learnView(bench)->titles().at(5).contains(QStringLiteral("h = %1").arg(newH)),
             qPrintable(learnView(bench)->titles().at(5)));
    QVERIFY2(learnView(bench)->text().contains(QStringLiteral("h = %1").arg(newH)),
             qPrintable(learnView(bench)->text()));
    document->undoStack()->undo();
    QVERIFY(waitCurrent(document));
    QTRY_COMPARE(learnView(bench)->splitMarkerPosition(), h + 0.5);
    QVERIFY(bench.reporter->errors.isEmpty());
}

void LearnViewTest::reconstructionPlotShowsTheModulesSpectrum()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Learn);
    const int module = bench.window.presenter()->currentModule();
    const std::vector<double>& s = document->singularValues(module);
    const QVector<QPointF> points = learnView(bench)->truncationPoints();
    QCOMPARE(int(points.size()), int(s.size()) + 1);
    for (int k = 0; k < points.size(); ++k) {
        QCOMPARE(points[k].x(), 16.0 * k / double(s.size()));
        QVERIFY2(std::fabs(points[k].y() - expectedTruncation(s, k)) < kCurveTolerance,
                 qPrintable(QStringLiteral("k = %1: %2").arg(k).arg(points[k].y())));
    }
    // Once the budget curves are known, LoRAQuant's every (h, b_h) joins the plot: 1 + 3 r.
    QVERIFY(learnView(bench)->loraQuantPoints().isEmpty());
    document->budgetCurves()->apply(2.0);
    QTRY_VERIFY_WITH_TIMEOUT(document->budgetCurves()->curves(), kJobTimeoutMs);
    QVERIFY(waitCurrent(document));
    QTRY_COMPARE(int(learnView(bench)->loraQuantPoints().size()), 1 + 3 * int(s.size()));
    // h = 0 stores every value in 1 bit.
    QCOMPARE(learnView(bench)->loraQuantPoints().front().x(), 1.0);
}

void LearnViewTest::textNamesTheShownModulesNumbers()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Learn);
    const auto share = [](double value) {
        return QStringLiteral("%1%").arg(100 * value, 0, 'f', 1);
    };
    QStringList texts;
    for (int position : {0, 1}) {
        const int module = document->displayOrder()[std::size_t(position)];
        bench.window.presenter()->selectModule(document, module);
        const QString text = learnView(bench)->text();
        const std::vector<double>& s = document->singularValues(module);
        double total = 0;
        for (double value : s)
            total += value * value;
        QVERIFY2(text.contains(share(s[0] * s[0] / total)), qPrintable(text));
        // The cross terms: 100% less what the grey bars add to.
        const auto energies =
            lq::gui::componentEnergies(document->factors(module), document->singularValues(module));
        double before = 0;
        for (double value : energies.before)
            before += value;
        QVERIFY2(text.contains(share(before)), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("cross terms")), qPrintable(text));
        QVERIFY2(!text.contains(QStringLiteral("tall grey")), qPrintable(text));
        texts << text;
    }
    QVERIFY(texts.at(0) != texts.at(1));
}

void LearnViewTest::quantizedMapsDifferFromExact()
{
    Bench bench;
    AdapterDocument* document = openThroughMenu(bench, lq::gui::exampleAdapterPath());
    QVERIFY(document);
    bench.window.showView(MainWindow::View::Learn);
    lq::widgets::HeatMapView* view = learnView(bench);
    for (const auto& [exact, quantized] : {std::pair{2, 4}, std::pair{3, 5}}) {
        const std::vector<double> a = view->mapCells(exact), b = view->mapCells(quantized);
        QCOMPARE(a.size(), b.size());
        QVERIFY(!a.empty());
        double difference = 0;
        for (std::size_t i = 0; i < a.size(); ++i)
            difference = std::max(difference, std::fabs(a[i] - b[i]));
        // 1-bit codes put one magnitude on a whole group: colours change visibly.
        QVERIFY2(difference > 0.1, qPrintable(QString::number(difference)));
    }
    QVERIFY(view->titles().at(5).contains(QStringLiteral("quantized")));
    // In the picture --screenshot takes, at the window's default size, no axis is crowded.
    view->replotNow();
    const QStringList overlaps = view->overlappingTickLabels();
    QVERIFY2(overlaps.isEmpty(), qPrintable(overlaps.join(QLatin1Char('\n'))));
}

QTEST_MAIN(LearnViewTest)
#include "learnviewtest.moc"
