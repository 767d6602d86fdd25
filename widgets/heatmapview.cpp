#include "heatmapview.h"

#include "plotstyle.h"

#include <QLabel>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

namespace lq::widgets {

// One of the four maps. Outside the anonymous namespace because HeatMapView::Items, which has
// external linkage, holds four of them.
struct HeatMapCell
{
    QCPAxisRect* rect = nullptr;
    QCPColorMap* map = nullptr;
    QCPTextElement* title = nullptr;
};

namespace {

// Viridis-like stops (perceptually uniform, readable in grey and for colour-blind readers).
QCPColorGradient magnitudeGradient()
{
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.0, QColor(0x44, 0x01, 0x54));
    gradient.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
    gradient.setColorStopAt(0.5, QColor(0x21, 0x90, 0x8d));
    gradient.setColorStopAt(0.75, QColor(0x5d, 0xc9, 0x63));
    gradient.setColorStopAt(1.0, QColor(0xfd, 0xe7, 0x25));
    gradient.setLevelCount(256);
    return gradient;
}

// Ticks on an axis of `count` components (numbered 1..count): whole numbers only, every `step`
// components for the smallest step of 1, 2, 5, 10, 20, 50, ... that leaves at most `maxTicks` of
// them, so that a rank-64 axis reads 10, 20, ... instead of 64 labels run together.
QSharedPointer<QCPAxisTickerFixed> componentTicker(int count, int maxTicks)
{
    double step = 1;
    for (double decade = 1; count / step > maxTicks; decade *= 10)
        for (double multiple : {1.0, 2.0, 5.0}) {
            step = multiple * decade;
            if (count / step <= maxTicks)
                break;
        }
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(step);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssNone);
    return ticker;
}

// |M| / q on a grid of at most maxCells per side, max-pooled, where q is the 99th percentile of
// |M| (cells above it show as 1): scaling by the largest entry lets a single outlier darken the
// whole map. Column c of M is x, row r is y (the y axis is reversed, so the map reads like the
// matrix).
void fillMap(QCPColorMap* map, const Eigen::MatrixXf& matrix, int maxCells)
{
    const int rows = int(matrix.rows()), cols = int(matrix.cols());
    const int nx = std::min(cols, maxCells), ny = std::min(rows, maxCells);
    QCPColorMapData* data = map->data();
    if (rows == 0 || cols == 0) {
        data->clear();
        map->keyAxis()->setRange(0.5, 1.5);
        map->valueAxis()->setRange(0.5, 1.5);
        return;
    }
    data->setSize(nx, ny);
    // Cell i covers columns [i cols / nx, (i + 1) cols / nx); its centre in matrix coordinates
    // (column j at j + 1, so that component numbers read 1..r).
    data->setRange(QCPRange(0.5 + 0.5 * cols / nx, 0.5 + cols - 0.5 * cols / nx),
                   QCPRange(0.5 + 0.5 * rows / ny, 0.5 + rows - 0.5 * rows / ny));
    std::vector<float> magnitudes(matrix.data(), matrix.data() + matrix.size());
    for (float& value : magnitudes)
        value = std::fabs(value);
    const auto rank = magnitudes.begin() + std::ptrdiff_t(0.99 * double(magnitudes.size() - 1));
    std::nth_element(magnitudes.begin(), rank, magnitudes.end());
    const float top = *rank > 0 ? *rank : matrix.cwiseAbs().maxCoeff();
    const float norm = top > 0 ? 1.0f / top : 0.0f;
    for (int x = 0; x < nx; ++x) {
        const int c0 = int(std::int64_t(x) * cols / nx), c1 = int(std::int64_t(x + 1) * cols / nx);
        for (int y = 0; y < ny; ++y) {
            const int r0 = int(std::int64_t(y) * rows / ny),
                      r1 = int(std::int64_t(y + 1) * rows / ny);
            const float cell = matrix.block(r0, c0, r1 - r0, c1 - c0).cwiseAbs().maxCoeff();
            data->setCell(x, y, std::min(cell * norm, 1.0f));
        }
    }
    map->setDataRange(QCPRange(0, 1));
    map->keyAxis()->setRange(0.5, cols + 0.5);
    map->valueAxis()->setRange(0.5, rows + 0.5);
}

} // namespace

struct HeatMapView::Items
{
    QCPTextElement* title = nullptr;
    HeatMapCell b, a, bp, ap;
    QCPColorScale* scale = nullptr;
    QCPAxisRect* energyRect = nullptr;
    QCPBars* before = nullptr;
    QCPBars* after = nullptr;
};

HeatMapView::HeatMapView(QWidget* parent) : PlotWidget(parent), m_items(std::make_unique<Items>())
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    const QFont titleFont(font().family(), 11, QFont::Bold);
    const QFont cellFont(font().family(), 9, QFont::Bold);

    // Layout: title / [maps 2 x 2 | colour scale] / energy bars. The default axis rect (with the
    // default legend in its inset) becomes the energy plot.
    it.energyRect = p->axisRect();
    p->plotLayout()->take(it.energyRect);
    p->plotLayout()->simplify();
    it.title = new QCPTextElement(p, QString(), titleFont);
    p->plotLayout()->addElement(0, 0, it.title);
    auto* mapsRow = new QCPLayoutGrid;
    p->plotLayout()->addElement(1, 0, mapsRow);
    // The energy bars with their legend to the right, where it hides none of them.
    auto* energyRow = new QCPLayoutGrid;
    p->plotLayout()->addElement(2, 0, energyRow);
    energyRow->addElement(0, 0, it.energyRect);
    it.energyRect->insetLayout()->take(p->legend);
    energyRow->addElement(0, 1, p->legend);
    energyRow->setColumnStretchFactors({1.0, 0.001});
    p->legend->setFillOrder(QCPLayoutGrid::foRowsFirst);
    p->legend->setBorderPen(Qt::NoPen);
    p->plotLayout()->setRowStretchFactors({0.001, 2.2, 1.0});

    auto* maps = new QCPLayoutGrid;
    mapsRow->addElement(0, 0, maps);
    it.scale = new QCPColorScale(p);
    it.scale->setType(QCPAxis::atRight);
    it.scale->setGradient(magnitudeGradient());
    it.scale->setDataRange(QCPRange(0, 1));
    it.scale->axis()->setLabel(tr("|value| / 99th percentile of |value| in that matrix"));
    it.scale->setBarWidth(12);
    mapsRow->addElement(0, 1, it.scale);
    mapsRow->setColumnStretchFactors({1.0, 0.001});

    auto* margins = new QCPMarginGroup(p);
    const auto makeCell = [&](HeatMapCell& cell, int row, int column, const QString& xLabel,
                              const QString& yLabel) {
        auto* grid = new QCPLayoutGrid;
        maps->addElement(row, column, grid);
        cell.title = new QCPTextElement(p, QString(), cellFont);
        grid->addElement(0, 0, cell.title);
        cell.rect = new QCPAxisRect(p);
        grid->addElement(1, 0, cell.rect);
        grid->setRowStretchFactors({0.001, 1.0});
        grid->setRowSpacing(0);
        cell.rect->axis(QCPAxis::atBottom)->setLabel(xLabel);
        cell.rect->axis(QCPAxis::atLeft)->setLabel(yLabel);
        cell.rect->axis(QCPAxis::atLeft)->setRangeReversed(true);
        cell.rect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
        cell.map =
            new QCPColorMap(cell.rect->axis(QCPAxis::atBottom), cell.rect->axis(QCPAxis::atLeft));
        cell.map->setInterpolate(false);
        cell.map->setTightBoundary(true);
        cell.map->setColorScale(it.scale);
    };
    makeCell(it.b, 0, 0, tr("column of B"), tr("row of B"));
    makeCell(it.a, 0, 1, tr("column of A"), tr("row of A"));
    makeCell(it.bp, 1, 0, tr("column of B′ = component"), tr("row of B′"));
    makeCell(it.ap, 1, 1, tr("column of A′"), tr("row of A′ = component"));
    maps->setColumnStretchFactors({1.0, 1.6});
    // One margin group: the maps of a column share their width, so B and B' line up.
    it.energyRect->setMarginGroup(QCP::msLeft, margins);

    QCPAxis* ex = it.energyRect->axis(QCPAxis::atBottom);
    QCPAxis* ey = it.energyRect->axis(QCPAxis::atLeft);
    ex->setLabel(tr("component i"));
    ey->setLabel(tr("share of ‖BA‖²_F (%)"));
    auto* group = new QCPBarsGroup(p);
    it.before = new QCPBars(ex, ey);
    it.before->setName(tr("before SVD: ‖b_i a_iᵀ‖²_F\n(column i of B, row i of A)"));
    it.before->setBrush(style::lowPrecision());
    it.before->setPen(Qt::NoPen);
    it.before->setWidth(0.38);
    it.before->setBarsGroup(group);
    it.after = new QCPBars(ex, ey);
    it.after->setName(tr("after SVD: s_i²\n(column i of B′, row i of A′)"));
    it.after->setBrush(style::energy());
    it.after->setPen(Qt::NoPen);
    it.after->setWidth(0.38);
    it.after->setBarsGroup(group);
    p->legend->setVisible(true);

    m_text = new QLabel(this);
    m_text->setObjectName(QStringLiteral("learnText"));
    m_text->setWordWrap(true);
    m_text->setTextFormat(Qt::RichText);
    m_text->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_text->setMargin(10);
    m_text->setFixedWidth(250);
    m_text->setText(
        tr("<h3>What the SVD does</h3>"
           "<p>A LoRA module changes a weight by ΔW = B A. Training spreads the update over the "
           "r columns of B and rows of A in no particular order: the bright columns and rows in "
           "the top row, and the tall grey bars below (each column–row pair on its own), can be "
           "anywhere.</p>"
           "<p>The SVD rewrites the same product as ΔW = B′ A′ with B′ = U S<sup>½</sup> and "
           "A′ = S<sup>½</sup> V<sup>T</sup>. Nothing is lost: B′ A′ = B A exactly. But now "
           "component i carries energy s<sub>i</sub><sup>2</sup>, in decreasing order, so the "
           "first columns of B′ and the first rows of A′ hold most of the update (bright stripes "
           "on the left and at the top; the green bars fall off quickly).</p>"
           "<p>LoRAQuant keeps those first h components at 2-3 bits and stores the rest with "
           "1 bit each (sign times the group's mean |value|). Drag the split in the Spectrum view "
           "to see how h trades bits for error.</p>"));
    setSidePanel(m_text);
    clear();
}

HeatMapView::~HeatMapView() = default;

void HeatMapView::setFactorsOrigin(const QString& origin)
{
    m_origin = origin;
}

QStringList HeatMapView::titles() const
{
    const Items& it = *m_items;
    return {it.title->text(), it.b.title->text(), it.a.title->text(), it.bp.title->text(),
            it.ap.title->text()};
}

void HeatMapView::clear()
{
    setModule(QString(), {}, {}, {}, {}, {}, {});
}

void HeatMapView::setModule(const QString& title, const Eigen::MatrixXf& B,
                            const Eigen::MatrixXf& A, const Eigen::MatrixXf& Bp,
                            const Eigen::MatrixXf& Ap, const std::vector<double>& energyBefore,
                            const std::vector<double>& energyAfter)
{
    Items& it = *m_items;
    it.title->setText(title.isEmpty() ? tr("What SVD does (no module selected)")
                                      : tr("What SVD does to %1").arg(title));
    const auto shape = [](const Eigen::MatrixXf& m) {
        return QStringLiteral("%1 × %2").arg(m.rows()).arg(m.cols());
    };
    const QString origin = m_origin.isEmpty() ? tr("as trained") : m_origin;
    it.b.title->setText(tr("|B| %1, %2").arg(origin, shape(B)));
    it.a.title->setText(tr("|A| %1, %2").arg(origin, shape(A)));
    it.bp.title->setText(tr("|B′| = |U S½|, %1").arg(shape(Bp)));
    it.ap.title->setText(tr("|A′| = |S½ Vᵀ|, %1").arg(shape(Ap)));
    fillMap(it.b.map, B, kMaxCells);
    fillMap(it.a.map, A, kMaxCells);
    fillMap(it.bp.map, Bp, kMaxCells);
    fillMap(it.ap.map, Ap, kMaxCells);
    // The component axes: B's and B′'s columns side by side in a narrow map, A's and A′'s rows
    // in a taller one.
    const int rank = int(Bp.cols());
    for (HeatMapCell* cell : {&it.b, &it.bp})
        cell->rect->axis(QCPAxis::atBottom)->setTicker(componentTicker(rank, 4));
    for (HeatMapCell* cell : {&it.a, &it.ap})
        cell->rect->axis(QCPAxis::atLeft)->setTicker(componentTicker(rank, 6));

    QVector<double> keys, before, after;
    double top = 0;
    for (std::size_t i = 0; i < std::max(energyBefore.size(), energyAfter.size()); ++i) {
        keys.push_back(double(i + 1));
        before.push_back(i < energyBefore.size() ? 100 * energyBefore[i] : 0.0);
        after.push_back(i < energyAfter.size() ? 100 * energyAfter[i] : 0.0);
        top = std::max({top, before.back(), after.back()});
    }
    it.before->setData(keys, before, true);
    it.after->setData(keys, after, true);
    QCPAxis* ex = it.energyRect->axis(QCPAxis::atBottom);
    ex->setRange(0.4, std::max<double>(double(keys.size()), 1.0) + 0.6);
    ex->setTicker(componentTicker(int(keys.size()), 12));
    it.energyRect->axis(QCPAxis::atLeft)->setRange(0, top > 0 ? top * 1.1 : 100.0);
    scheduleReplot();
}

} // namespace lq::widgets
