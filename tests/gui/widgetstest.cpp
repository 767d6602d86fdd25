// The workbench's widgets on their own: what a person does with the mouse and keyboard reaches
// the signals, and exports produce files that read back. (The bit-budget allocation is the
// engine's, tests/engine/bitbudgettest.cpp; the workbench's use of it, tests/gui/budgettest.cpp.)
#include "widgets/errorbarplot.h"
#include "widgets/heatmapview.h"
#include "widgets/paretoplot.h"
#include "widgets/plotstyle.h"
#include "widgets/settingspanel.h"
#include "widgets/spectrumplot.h"

#include <QFile>
#include <QImage>
#include <QSignalSpy>
#include <QSlider>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QTest>
#include <random>

using lq::widgets::ErrorBarPlot;
using lq::widgets::PlotFormat;
using lq::widgets::PlotWidget;
using lq::widgets::SettingsPanel;
using lq::widgets::SpectrumPlot;

namespace {

// A spectrum that decays like a real adapter's (s_i ~ i^-2), rank 8.
const std::vector<double> kSpectrum = {1.0, 0.25, 0.11, 0.0625, 0.04, 0.028, 0.02, 0.0156};

// The canvas position halfway between the markers for h and h + 1: the drag snaps to the nearer.
QPoint between(const SpectrumPlot& plot, int h, double fraction)
{
    const QPoint a = plot.positionForSplit(h), b = plot.positionForSplit(h + 1);
    return QPoint(a.x() + int(fraction * (b.x() - a.x())), a.y());
}

// Shows `view` at `size`; whether all its tick labels stand clear of one another (a failure
// lists the ones that do not).
bool readableAt(PlotWidget& view, QSize size)
{
    view.resize(size);
    view.show();
    if (!QTest::qWaitForWindowExposed(&view))
        return false;
    const QStringList overlaps = view.overlappingTickLabels();
    if (!overlaps.isEmpty())
        qWarning("overlapping tick labels: %s", qPrintable(overlaps.join(QStringLiteral("; "))));
    return overlaps.isEmpty();
}

} // namespace

class WidgetsTest : public QObject
{
    Q_OBJECT

private slots:
    void dragSnapsToWholeComponents_data();
    void dragSnapsToWholeComponents();
    void pressOutsidePlotAreaDoesNothing();
    void keysMoveTheSplit();
    void zeroSpectrumSaysWhy();
    void clickOnErrorBarSelectsModule();
    void paretoHighlightsCurrent();
    void plotExportReadsBack_data();
    void plotExportReadsBack();
    void plotExportToMissingFolderFails();
    void settingsPanelShowsWithoutEmitting();
    void budgetSliderReportsOnRelease();
    void escapeCancelsBudgetDrag();
    void axesStayReadable_data();
    void axesStayReadable();
    void errorBarsStayReadable_data();
    void errorBarsStayReadable();
    void paretoStaysReadable_data();
    void paretoStaysReadable();
};

void WidgetsTest::dragSnapsToWholeComponents_data()
{
    QTest::addColumn<int>("from");
    QTest::addColumn<int>("toward");      // drag to between the markers for toward and toward + 1
    QTest::addColumn<double>("fraction"); // how far toward the next marker
    QTest::addColumn<int>("expected");
    QTest::newRow("right, just past a marker") << 2 << 5 << 0.3 << 5;
    QTest::newRow("right, nearer the next") << 2 << 5 << 0.7 << 6;
    QTest::newRow("left to h = 0") << 3 << 0 << 0.2 << 0;
    QTest::newRow("to the last component") << 1 << 8 << 0.0 << 8;
    QTest::newRow("past the right edge clamps to r") << 1 << 10 << 0.0 << 8;
}

void WidgetsTest::dragSnapsToWholeComponents()
{
    QFETCH(int, from);
    QFETCH(int, toward);
    QFETCH(double, fraction);
    QFETCH(int, expected);

    SpectrumPlot plot;
    plot.resize(800, 500);
    plot.setSpectrum(QStringLiteral("test module"), kSpectrum);
    plot.setRho(0.8);
    plot.setSplit(from);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.replotNow();

    QSignalSpy dragged(&plot, &SpectrumPlot::splitDragged);
    QSignalSpy chosen(&plot, &SpectrumPlot::splitChosen);
    QWidget* canvas = plot.canvas();
    QTest::mousePress(canvas, Qt::LeftButton, {}, plot.positionForSplit(from));
    QVERIFY(plot.isDragging());
    // Move in small steps as a hand would; past the right edge the position leaves the plot.
    const QPoint target = between(plot, toward, fraction);
    const QPoint start = plot.positionForSplit(from);
    for (int step = 1; step <= 10; ++step)
        QTest::mouseMove(canvas, start + (target - start) * step / 10);
    QCOMPARE(plot.split(), expected);
    QVERIFY(chosen.isEmpty()); // nothing is chosen before the release
    QVERIFY(!dragged.isEmpty());
    QCOMPARE(dragged.last().at(0).toInt(), expected);
    // h changes one whole component at a time, never twice to the same value in a row.
    for (int i = 1; i < dragged.size(); ++i)
        QVERIFY(dragged.at(i).at(0).toInt() != dragged.at(i - 1).at(0).toInt());
    QTest::mouseRelease(canvas, Qt::LeftButton, {}, target);
    QVERIFY(!plot.isDragging());
    QCOMPARE(chosen.size(), 1);
    QCOMPARE(chosen.at(0).at(0).toInt(), expected);
}

void WidgetsTest::pressOutsidePlotAreaDoesNothing()
{
    // Guards against a click on the axis labels moving the split.
    SpectrumPlot plot;
    plot.resize(800, 500);
    plot.setSpectrum(QStringLiteral("test module"), kSpectrum);
    plot.setSplit(2);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.replotNow();
    QSignalSpy dragged(&plot, &SpectrumPlot::splitDragged);
    QSignalSpy chosen(&plot, &SpectrumPlot::splitChosen);
    const QPoint onAxisLabels(3, plot.canvas()->height() / 2);
    QTest::mousePress(plot.canvas(), Qt::LeftButton, {}, onAxisLabels);
    QTest::mouseMove(plot.canvas(), plot.positionForSplit(6));
    QTest::mouseRelease(plot.canvas(), Qt::LeftButton, {}, plot.positionForSplit(6));
    QCOMPARE(plot.split(), 2);
    QVERIFY(dragged.isEmpty());
    QVERIFY(chosen.isEmpty());
}

void WidgetsTest::keysMoveTheSplit()
{
    SpectrumPlot plot;
    plot.setSpectrum(QStringLiteral("test module"), kSpectrum);
    plot.setSplit(7);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    QSignalSpy chosen(&plot, &SpectrumPlot::splitChosen);
    QTest::keyClick(plot.canvas(), Qt::Key_Right);
    QTest::keyClick(plot.canvas(), Qt::Key_Right); // already at r: no signal
    QTest::keyClick(plot.canvas(), Qt::Key_Left);
    QCOMPARE(chosen.size(), 2);
    QCOMPARE(chosen.at(0).at(0).toInt(), 8);
    QCOMPARE(chosen.at(1).at(0).toInt(), 7);
}

void WidgetsTest::zeroSpectrumSaysWhy()
{
    // An untrained module (B = 0) has no bar to draw on a log scale: the plot says why it is
    // empty, and stops saying it once a module with a spectrum is shown.
    SpectrumPlot plot;
    plot.setSpectrum(QStringLiteral("untrained"), std::vector<double>(8, 0.0));
    QVERIFY2(plot.message().contains(QStringLiteral("zero")), qPrintable(plot.message()));
    plot.setSpectrum(QStringLiteral("trained"), kSpectrum);
    QVERIFY(plot.message().isEmpty());
    plot.clear();
    QVERIFY(plot.message().isEmpty());
}

void WidgetsTest::clickOnErrorBarSelectsModule()
{
    ErrorBarPlot plot;
    plot.resize(800, 500);
    plot.setModules(QStringLiteral("errors"), {"a", "b", "c", "d", "e"}, {0.5, 0.4, 0.7, 0.2, 0.6},
                    {{0, "L0"}, {3, "L1"}});
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.replotNow();
    QSignalSpy clicked(&plot, &ErrorBarPlot::moduleClicked);
    QTest::mouseClick(plot.canvas(), Qt::LeftButton, {}, plot.barPosition(3));
    QCOMPARE(clicked.size(), 1);
    QCOMPARE(clicked.at(0).at(0).toInt(), 3);
}

void WidgetsTest::paretoHighlightsCurrent()
{
    using lq::widgets::ParetoPlot;
    ParetoPlot plot;
    plot.resize(800, 500);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    ParetoPlot::Series rtn{QStringLiteral("RTN"), {1, 2, 3}, {0.9, 0.5, 0.2}, {}};
    ParetoPlot::Series lq{QStringLiteral("LoRAQuant"), {1.4, 1.2, 1.8}, {0.3, 0.45, 0.15}, {}};
    plot.setSeries(QStringLiteral("sweep"), QStringLiteral("bits (true)"), {rtn, lq});
    QCOMPARE(plot.seriesCount(), 2);

    // Orange pixels of the current-setting star near its position, and none without it.
    const auto orangeNear = [&](QPoint centre) {
        plot.replotNow();
        const QImage image = plot.canvas()->grab().toImage();
        const double ratio = image.devicePixelRatio();
        int count = 0;
        const QColor want = lq::widgets::style::selected();
        for (int dy = -8; dy <= 8; ++dy)
            for (int dx = -8; dx <= 8; ++dx) {
                const QPoint p((centre.x() + dx) * ratio, (centre.y() + dy) * ratio);
                if (!image.rect().contains(p))
                    continue;
                const QColor c = image.pixelColor(p);
                if (std::abs(c.red() - want.red()) + std::abs(c.green() - want.green()) +
                        std::abs(c.blue() - want.blue()) <
                    60)
                    ++count;
            }
        return count;
    };
    plot.replotNow(); // lays out the axes that positionOf() reads
    const QPoint at = plot.positionOf(1.5, 0.25);
    QCOMPARE(orangeNear(at), 0);
    plot.setCurrent(1.5, 0.25, QStringLiteral("current: 1.50 bits"));
    plot.replotNow();
    QVERIFY(plot.hasCurrent());
    QVERIFY(orangeNear(plot.positionOf(1.5, 0.25)) > 10);
    // Inside the axes: both curves and the star fit the range.
    QVERIFY(plot.canvas()->rect().contains(plot.positionOf(1.5, 0.25)));
    QVERIFY(plot.canvas()->rect().contains(plot.positionOf(3, 0.2)));
    QVERIFY(plot.canvas()->rect().contains(plot.positionOf(1, 0.9)));
    plot.setCurrent(0, 0, QString());
    QVERIFY(!plot.hasCurrent());
    QCOMPARE(orangeNear(plot.positionOf(1.5, 0.25)), 0);
}

void WidgetsTest::plotExportReadsBack_data()
{
    QTest::addColumn<QString>("file");
    QTest::newRow("png") << QStringLiteral("spectrum.png");
    QTest::newRow("pdf") << QStringLiteral("spectrum.pdf");
    QTest::newRow("svg") << QStringLiteral("spectrum.svg");
}

void WidgetsTest::plotExportReadsBack()
{
    QFETCH(QString, file);
    QTemporaryDir dir;
    SpectrumPlot plot;
    plot.resize(640, 400);
    plot.setSpectrum(QStringLiteral("test module"), kSpectrum);
    plot.setSplit(2);
    const QString path = dir.filePath(file);
    const auto format = PlotWidget::formatForPath(path);
    QVERIFY(format);
    QCOMPARE(plot.exportTo(path, *format), QString());
    QFile written(path);
    QVERIFY(written.open(QIODevice::ReadOnly));
    const QByteArray bytes = written.readAll();
    switch (*format) {
    case PlotFormat::Png: {
        const QImage image = QImage::fromData(bytes, "PNG");
        QCOMPARE(image.size(), QSize(640, 400));
        // A blank image would mean nothing was drawn: the bars' orange must be there.
        bool orange = false;
        for (int y = 0; y < image.height() && !orange; y += 2)
            for (int x = 0; x < image.width() && !orange; x += 2)
                orange = image.pixelColor(x, y) == QColor(0xd9, 0x5f, 0x02);
        QVERIFY(orange);
        break;
    }
    case PlotFormat::Pdf:
        QVERIFY(bytes.startsWith("%PDF-"));
        QVERIFY(bytes.trimmed().endsWith("%%EOF"));
        break;
    case PlotFormat::Svg: {
        QSvgRenderer renderer(bytes);
        QVERIFY(renderer.isValid());
        QCOMPARE(renderer.viewBox(), QRect(0, 0, 640, 400));
        break;
    }
    }
    // Only the file itself: no temporary left beside it.
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{file});
}

void WidgetsTest::plotExportToMissingFolderFails()
{
    QTemporaryDir dir;
    SpectrumPlot plot;
    plot.setSpectrum(QStringLiteral("test module"), kSpectrum);
    const QString path = dir.filePath(QStringLiteral("missing/spectrum.png"));
    const QString error = plot.exportTo(path, PlotFormat::Png);
    QVERIFY(!error.isEmpty());
    QVERIFY2(error.contains(path), qPrintable(error));
    QVERIFY(QDir(dir.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries).isEmpty());
}

void WidgetsTest::settingsPanelShowsWithoutEmitting()
{
    SettingsPanel panel;
    panel.setDocumentOpen(true);
    QSignalSpy wide(&panel, &SettingsPanel::adapterWideChanged);
    QSignalSpy budget(&panel, &SettingsPanel::budgetChosen);
    lq::QuantSettings settings;
    settings.rho = 0.9;
    settings.split = lq::SplitRule::RatioCount;
    settings.bitsHigh = 3;
    settings.groupSize = 64;
    settings.refine = lq::Refinement::Paper;
    settings.hOverride["x"] = 3;
    panel.setSettings(settings);
    panel.setBudgetRange(1.0, 3.0);
    panel.setBudget(1.7);
    QVERIFY(wide.isEmpty());
    QVERIFY(budget.isEmpty());
    const lq::QuantSettings shown = panel.settings(settings);
    QCOMPARE(shown.rho, 0.9);
    QVERIFY(shown.split == lq::SplitRule::RatioCount);
    QCOMPARE(shown.bitsHigh, 3);
    QCOMPARE(shown.groupSize, 64);
    QVERIFY(shown.refine == lq::Refinement::Paper);
    QCOMPARE(shown.hOverride.at("x"), 3); // the base's overrides pass through
    QCOMPARE(panel.budget(), 1.7);
}

void WidgetsTest::budgetSliderReportsOnRelease()
{
    SettingsPanel panel;
    panel.setDocumentOpen(true);
    panel.setBudgetRange(1.0, 2.0);
    panel.setBudget(1.2);
    auto* slider = panel.findChild<QSlider*>(QStringLiteral("budgetSlider"));
    QVERIFY(slider);
    QSignalSpy budget(&panel, &SettingsPanel::budgetChosen);
    // A drag: positions while the slider is down report nothing; the release reports once.
    slider->setSliderDown(true);
    for (int value = 20; value <= 55; value += 5)
        slider->setSliderPosition(value);
    QVERIFY(budget.isEmpty());
    slider->setSliderDown(false);
    QCOMPARE(budget.size(), 1);
    QCOMPARE(budget.at(0).at(0).toDouble(), 1.55);
}

void WidgetsTest::escapeCancelsBudgetDrag()
{
    SettingsPanel panel;
    panel.setDocumentOpen(true);
    panel.setBudgetRange(1.0, 2.0);
    panel.setBudget(1.2);
    auto* slider = panel.findChild<QSlider*>(QStringLiteral("budgetSlider"));
    QVERIFY(slider);
    QSignalSpy budget(&panel, &SettingsPanel::budgetChosen);
    slider->setSliderDown(true);
    for (int value = 20; value <= 55; value += 5)
        slider->setSliderPosition(value);
    panel.setBudgetPrediction(QStringLiteral("Buys 1.55 bits"));
    // Escape wherever the keyboard focus is: the slider goes back, nothing is chosen.
    QTest::keyClick(&panel, Qt::Key_Escape);
    QVERIFY(!slider->isSliderDown());
    QCOMPARE(slider->sliderPosition(), 20);
    QCOMPARE(panel.budget(), 1.2);
    QVERIFY(panel.budgetPrediction().isEmpty());
    slider->setSliderDown(false); // the mouse button let go afterwards
    QVERIFY(budget.isEmpty());
    QCOMPARE(panel.budget(), 1.2);
    // Escape with no drag going on changes nothing; the next drag reports as before.
    QTest::keyClick(&panel, Qt::Key_Escape);
    slider->setSliderDown(true);
    slider->setSliderPosition(40);
    slider->setSliderDown(false);
    QCOMPARE(budget.size(), 1);
    QCOMPARE(budget.at(0).at(0).toDouble(), 1.4);
}

void WidgetsTest::axesStayReadable_data()
{
    QTest::addColumn<int>("rank");
    for (int rank : {1, 8, 16, 64, 128, 256})
        QTest::addRow("rank %d", rank) << rank;
}

void WidgetsTest::axesStayReadable()
{
    // The module views at the size the workbench gives them (1280 x 800 window) for a module of
    // this rank: no tick labels drawn over one another.
    QFETCH(int, rank);
    std::mt19937 random{unsigned(rank)};
    std::normal_distribution<float> normal;
    const auto randomMatrix = [&](int rows, int columns) {
        return Eigen::MatrixXf(
            Eigen::MatrixXf::NullaryExpr(rows, columns, [&] { return normal(random); }));
    };
    std::vector<double> spectrum(static_cast<std::size_t>(rank)), shares(spectrum.size());
    double energy = 0;
    for (int i = 0; i < rank; ++i) {
        spectrum[std::size_t(i)] = 1.0 / ((i + 1.0) * (i + 1.0));
        energy += spectrum[std::size_t(i)] * spectrum[std::size_t(i)];
    }
    for (int i = 0; i < rank; ++i)
        shares[std::size_t(i)] = spectrum[std::size_t(i)] * spectrum[std::size_t(i)] / energy;

    // The learn view after a module of another rank: its axes follow the new one.
    lq::widgets::HeatMapView learn;
    learn.setModule(QStringLiteral("layer 0 · q_proj"), randomMatrix(4096, 8),
                    randomMatrix(8, 4096), randomMatrix(4096, 8), randomMatrix(8, 4096),
                    std::vector<double>(8, 0.125), std::vector<double>(8, 0.125));
    learn.replotNow();
    learn.setModule(QStringLiteral("layer 0 · q_proj"), randomMatrix(4096, rank),
                    randomMatrix(rank, 4096), randomMatrix(4096, rank), randomMatrix(rank, 4096),
                    shares, shares);
    QVERIFY(readableAt(learn, QSize(800, 700)));

    SpectrumPlot spectrumPlot;
    spectrumPlot.setSpectrum(QStringLiteral("layer 0 · q_proj"), spectrum);
    spectrumPlot.setRho(0.8);
    spectrumPlot.setSplit(1);
    QVERIFY(readableAt(spectrumPlot, QSize(790, 620)));
}

void WidgetsTest::errorBarsStayReadable_data()
{
    QTest::addColumn<int>("layers");
    for (int layers : {1, 4, 32, 80})
        QTest::addRow("%d layers", layers) << layers;
}

void WidgetsTest::errorBarsStayReadable()
{
    // Seven modules per layer, one tick per layer, in the error view's share of the window.
    QFETCH(int, layers);
    ErrorBarPlot errors;
    QStringList names;
    std::vector<double> values;
    std::vector<std::pair<int, QString>> groups;
    for (int layer = 0; layer < layers; ++layer) {
        groups.emplace_back(7 * layer, QStringLiteral("L%1").arg(layer));
        for (int module = 0; module < 7; ++module) {
            names << QStringLiteral("layer %1 · module %2").arg(layer).arg(module);
            values.push_back(0.5 + 0.01 * module);
        }
    }
    errors.setModules(QStringLiteral("errors"), names, values, groups);
    QVERIFY(readableAt(errors, QSize(790, 330)));
}

void WidgetsTest::paretoStaysReadable_data()
{
    QTest::addColumn<double>("lowest"); // the smallest error on the plot; the largest is 1
    for (double lowest : {0.5, 0.2, 0.05, 0.01, 1e-4})
        QTest::addRow("errors down to %g", lowest) << lowest;
}

void WidgetsTest::paretoStaysReadable()
{
    // The trade-off below the error bars: 1 to 4.2 bits, errors on a log axis over a part of a
    // decade to four decades.
    QFETCH(double, lowest);
    lq::widgets::ParetoPlot pareto;
    const double ratio = std::pow(lowest, 1.0 / 3.0);
    pareto.setSeries(
        QStringLiteral("Total error against bits, every method"),
        QStringLiteral("average bits per weight, true count"),
        {{QStringLiteral("RTN"), {1.16, 2.16, 3.17, 4.18}, {1.0, ratio, ratio * ratio, lowest}, {}},
         {QStringLiteral("LoRAQuant"), {1.28, 1.4, 1.55}, {0.9, 0.8 * ratio, 1.1 * lowest}, {}}});
    pareto.setCurrent(1.28, 0.9, QStringLiteral("current"));
    QVERIFY(readableAt(pareto, QSize(790, 300)));
    // At least two labels on the log axis, so that a reader can tell its scale.
    const QStringList errorTicks =
        pareto.tickLabels(QStringLiteral("total relative error (energy-weighted, log)"));
    QVERIFY2(errorTicks.size() >= 2, qPrintable(errorTicks.join(QStringLiteral(", "))));
}

QTEST_MAIN(WidgetsTest)
#include "widgetstest.moc"
