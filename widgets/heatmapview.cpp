#include "heatmapview.h"

#include "plotstyle.h"
#include "reconstructionpanel.h"

#include <QLabel>
#include <algorithm>
#include <cmath>
#include <limits>
#include <qcustomplot.h>

namespace lq::widgets {

// One of the six maps. Outside the anonymous namespace because HeatMapView::Items, which has
// external linkage, holds six of them.
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
// whole map. `scale` > 0 replaces q (a quantized map on its exact map's scale). Returns the q
// used. Column c of M is x, row r is y (the y axis is reversed, so the map reads like the
// matrix).
float fillMap(QCPColorMap* map, const Eigen::MatrixXf& matrix, int maxCells, float scale = 0)
{
    const int rows = int(matrix.rows()), cols = int(matrix.cols());
    const int nx = std::min(cols, maxCells), ny = std::min(rows, maxCells);
    QCPColorMapData* data = map->data();
    if (rows == 0 || cols == 0) {
        data->clear();
        map->keyAxis()->setRange(0.5, 1.5);
        map->valueAxis()->setRange(0.5, 1.5);
        return 0;
    }
    data->setSize(nx, ny);
    // Cell i covers columns [i cols / nx, (i + 1) cols / nx); its centre in matrix coordinates
    // (column j at j + 1, so that component numbers read 1..r).
    data->setRange(QCPRange(0.5 + 0.5 * cols / nx, 0.5 + cols - 0.5 * cols / nx),
                   QCPRange(0.5 + 0.5 * rows / ny, 0.5 + rows - 0.5 * rows / ny));
    float top = scale;
    if (top <= 0) {
        std::vector<float> magnitudes(matrix.data(), matrix.data() + matrix.size());
        for (float& value : magnitudes)
            value = std::fabs(value);
        const auto rank = magnitudes.begin() + std::ptrdiff_t(0.99 * double(magnitudes.size() - 1));
        std::nth_element(magnitudes.begin(), rank, magnitudes.end());
        top = *rank > 0 ? *rank : matrix.cwiseAbs().maxCoeff();
    }
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
    return top;
}

const char* const kGeneralText = QT_TRANSLATE_NOOP(
    "lq::widgets::HeatMapView",
    "<h3>What the SVD does</h3>"
    "<p>A LoRA module changes a weight by ΔW = B A. Training does not order the r columns of B "
    "and rows of A by importance. The SVD rewrites the same product as ΔW = B′ A′ with "
    "B′ = U S<sup>½</sup> and A′ = S<sup>½</sup> V<sup>T</sup>: nothing is lost, but component i "
    "now carries energy s<sub>i</sub><sup>2</sup>, in decreasing order.</p>"
    "<p>LoRAQuant keeps the first h components at 2-3 bits and stores the rest with 1 bit each "
    "(sign times the group's mean |value|). Select a module to see its numbers.</p>");

} // namespace

struct HeatMapView::Items
{
    QCPTextElement* title = nullptr;
    HeatMapCell b, a, bp, ap, bq, aq;
    QCPColorScale* scale = nullptr;
    QCPAxisRect* energyRect = nullptr;
    QCPBars* before = nullptr;
    QCPBars* after = nullptr;
    QCPItemStraightLine* split = nullptr;
    QCPItemText* splitLabel = nullptr;
    std::unique_ptr<ReconstructionPanel> reconstruction;

    const HeatMapCell* cell(int index) const
    {
        const HeatMapCell* cells[] = {&b, &a, &bp, &ap, &bq, &aq};
        return index >= 0 && index < 6 ? cells[index] : nullptr;
    }
};

HeatMapView::HeatMapView(QWidget* parent) : PlotWidget(parent), m_items(std::make_unique<Items>())
{
    QCustomPlot* p = plot();
    Items& it = *m_items;
    const QFont titleFont(font().family(), 11, QFont::Bold);
    const QFont cellFont(font().family(), 9, QFont::Bold);

    // Layout: title / [maps 2 x 3 | colour scale] / [energy bars over their legend |
    // reconstruction]. The default axis rect (with the default legend) becomes the energy plot.
    it.energyRect = p->axisRect();
    p->plotLayout()->take(it.energyRect);
    p->plotLayout()->simplify();
    it.title = new QCPTextElement(p, QString(), titleFont);
    p->plotLayout()->addElement(0, 0, it.title);
    auto* mapsRow = new QCPLayoutGrid;
    p->plotLayout()->addElement(1, 0, mapsRow);
    auto* bottomRow = new QCPLayoutGrid;
    p->plotLayout()->addElement(2, 0, bottomRow);
    bottomRow->addElement(0, 0, it.energyRect);
    it.reconstruction = std::make_unique<ReconstructionPanel>(p);
    bottomRow->addElement(0, 1, it.reconstruction->rect());
    bottomRow->setColumnStretchFactors({1.0, 1.0});
    // One legend under both plots, three entries a row.
    it.energyRect->insetLayout()->take(p->legend);
    p->plotLayout()->addElement(3, 0, p->legend);
    p->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    p->legend->setWrap(3);
    p->legend->setBorderPen(Qt::NoPen);
    p->legend->setFont(QFont(font().family(), 8));
    p->legend->setMargins(QMargins(4, 0, 4, 2));
    p->plotLayout()->setRowStretchFactors({0.001, 2.0, 1.0, 0.001});

    auto* maps = new QCPLayoutGrid;
    mapsRow->addElement(0, 0, maps);
    it.scale = new QCPColorScale(p);
    it.scale->setType(QCPAxis::atRight);
    it.scale->setGradient(magnitudeGradient());
    it.scale->setDataRange(QCPRange(0, 1));
    it.scale->axis()->setLabel(tr("|value| / 99th percentile of |value| in B, A, B′ or A′"));
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
    // |B| maps in the top row, |A| maps below: exact and quantized side by side.
    makeCell(it.b, 0, 0, tr("column of B"), tr("row of B"));
    makeCell(it.bp, 0, 1, tr("component"), tr("row of B′"));
    makeCell(it.bq, 0, 2, tr("component"), QString());
    makeCell(it.a, 1, 0, tr("column of A"), tr("row of A"));
    makeCell(it.ap, 1, 1, tr("column of A′"), tr("component"));
    makeCell(it.aq, 1, 2, tr("column of Â′"), QString());
    maps->setRowStretchFactors({1.4, 1.0});
    maps->setColumnStretchFactors({1.0, 1.0, 1.0});

    QCPAxis* ex = it.energyRect->axis(QCPAxis::atBottom);
    QCPAxis* ey = it.energyRect->axis(QCPAxis::atLeft);
    ex->setLabel(tr("component i"));
    ey->setLabel(tr("share of ‖BA‖²_F (%)"));
    auto* group = new QCPBarsGroup(p);
    it.before = new QCPBars(ex, ey);
    it.before->setName(tr("before SVD: ‖b_i a_iᵀ‖²"));
    it.before->setBrush(style::lowPrecision());
    it.before->setPen(Qt::NoPen);
    it.before->setWidth(0.38);
    it.before->setBarsGroup(group);
    it.after = new QCPBars(ex, ey);
    it.after->setName(tr("after SVD: s_i²"));
    it.after->setBrush(style::energy());
    it.after->setPen(Qt::NoPen);
    it.after->setWidth(0.38);
    it.after->setBarsGroup(group);
    p->legend->setVisible(true);
    // The split: components left of it are kept at b_h bits, right of it in 1 bit.
    it.split = new QCPItemStraightLine(p);
    it.split->setClipAxisRect(it.energyRect);
    for (QCPItemPosition* position : {it.split->point1, it.split->point2}) {
        position->setAxes(ex, ey);
        position->setAxisRect(it.energyRect);
    }
    it.split->setPen(QPen(style::highPrecision(), 2, Qt::DashLine));
    it.splitLabel = new QCPItemText(p);
    it.splitLabel->setClipAxisRect(it.energyRect);
    it.splitLabel->position->setAxes(ex, ey);
    it.splitLabel->position->setAxisRect(it.energyRect);
    it.splitLabel->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    it.splitLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    it.splitLabel->setColor(style::highPrecision());
    it.splitLabel->setFont(QFont(font().family(), 9, QFont::Bold));
    it.splitLabel->setPadding(QMargins(4, 2, 4, 2));

    m_text = new QLabel;
    m_text->setObjectName(QStringLiteral("learnText"));
    m_text->setWordWrap(true);
    m_text->setTextFormat(Qt::RichText);
    m_text->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_text->setMargin(10);
    m_text->setFixedWidth(270);
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
    return {it.title->text(),    it.b.title->text(),  it.a.title->text(), it.bp.title->text(),
            it.ap.title->text(), it.bq.title->text(), it.aq.title->text()};
}

std::vector<double> HeatMapView::mapCells(int index) const
{
    std::vector<double> cells;
    const HeatMapCell* cell = m_items->cell(index);
    if (!cell)
        return cells;
    QCPColorMapData* data = cell->map->data(); // cell() is not const
    for (int x = 0; x < data->keySize(); ++x)
        for (int y = 0; y < data->valueSize(); ++y)
            cells.push_back(data->cell(x, y));
    return cells;
}

double HeatMapView::splitMarkerPosition() const
{
    const Items& it = *m_items;
    return it.split->visible() ? it.split->point1->key() : std::numeric_limits<double>::quiet_NaN();
}

QVector<QPointF> HeatMapView::truncationPoints() const
{
    return m_items->reconstruction->truncationPoints();
}

QVector<QPointF> HeatMapView::loraQuantPoints() const
{
    return m_items->reconstruction->loraQuantPoints();
}

QString HeatMapView::text() const
{
    return m_text->text();
}

void HeatMapView::clear()
{
    setModule(LearnModule{});
}

void HeatMapView::setModule(const QString& title, const Eigen::MatrixXf& B,
                            const Eigen::MatrixXf& A, const Eigen::MatrixXf& Bp,
                            const Eigen::MatrixXf& Ap, const std::vector<double>& energyBefore,
                            const std::vector<double>& energyAfter)
{
    LearnModule module;
    module.title = title;
    module.origin = m_origin;
    module.B = B;
    module.A = A;
    module.Bp = Bp;
    module.Ap = Ap;
    module.energyBefore = energyBefore;
    module.energyAfter = energyAfter;
    setModule(module);
}

void HeatMapView::setModule(const LearnModule& module)
{
    Items& it = *m_items;
    it.title->setText(module.title.isEmpty() ? tr("What SVD does (no module selected)")
                                             : tr("What SVD does to %1").arg(module.title));
    const auto shape = [](const Eigen::MatrixXf& m) {
        return QStringLiteral("%1 × %2").arg(m.rows()).arg(m.cols());
    };
    const QString origin = module.origin.isEmpty()
                               ? (m_origin.isEmpty() ? tr("as trained") : m_origin)
                               : module.origin;
    it.b.title->setText(tr("|B| %1, %2").arg(origin, shape(module.B)));
    it.a.title->setText(tr("|A| %1, %2").arg(origin, shape(module.A)));
    it.bp.title->setText(tr("|B′| = |U S½|"));
    it.ap.title->setText(tr("|A′| = |S½ Vᵀ|"));
    const bool quantized = module.Bq.size() > 0 && module.Aq.size() > 0;
    const QString quantizedLabel =
        quantized ? tr("quantized, %1").arg(module.quantizedLabel) : tr("quantized: none yet");
    it.bq.title->setText(tr("|B̂′| %1").arg(quantizedLabel));
    it.aq.title->setText(tr("|Â′| %1").arg(quantizedLabel));
    fillMap(it.b.map, module.B, kMaxCells);
    fillMap(it.a.map, module.A, kMaxCells);
    const float bScale = fillMap(it.bp.map, module.Bp, kMaxCells);
    const float aScale = fillMap(it.ap.map, module.Ap, kMaxCells);
    // On the exact maps' scales: a changed colour is what quantization changed.
    fillMap(it.bq.map, quantized ? module.Bq : Eigen::MatrixXf(), kMaxCells, bScale);
    fillMap(it.aq.map, quantized ? module.Aq : Eigen::MatrixXf(), kMaxCells, aScale);
    // The component axes: B's columns in narrow maps, A's rows in wide ones.
    // The other axes (m rows, n columns) get two or three round ticks: three maps share a row.
    const int rank = int(module.Bp.cols());
    const int m = std::max(1, int(module.Bp.rows())), n = std::max(1, int(module.Ap.cols()));
    for (HeatMapCell* cell : {&it.b, &it.bp, &it.bq}) {
        // Narrow maps: three-digit component numbers fit only two to an axis.
        cell->rect->axis(QCPAxis::atBottom)->setTicker(componentTicker(rank, rank < 100 ? 4 : 2));
        cell->rect->axis(QCPAxis::atLeft)->setTicker(componentTicker(m, 2));
    }
    for (HeatMapCell* cell : {&it.a, &it.ap, &it.aq}) {
        cell->rect->axis(QCPAxis::atLeft)->setTicker(componentTicker(rank, 4));
        cell->rect->axis(QCPAxis::atBottom)->setTicker(componentTicker(n, 2));
    }

    const std::vector<double>& energyBefore = module.energyBefore;
    const std::vector<double>& energyAfter = module.energyAfter;
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
    ex->setTicker(componentTicker(int(keys.size()), 8));
    it.energyRect->axis(QCPAxis::atLeft)->setRange(0, top > 0 ? top * 1.15 : 100.0);

    const bool showSplit = module.h >= 0 && !keys.isEmpty();
    it.split->setVisible(showSplit);
    it.splitLabel->setVisible(showSplit);
    if (showSplit) {
        const double x = module.h + 0.5;
        it.split->point1->setCoords(x, 0);
        it.split->point2->setCoords(x, 1);
        it.splitLabel->position->setCoords(x, 0.0);
        it.splitLabel->setText(tr("h = %1").arg(module.h));
        // Near the right end the label goes left of the line, where there is room.
        it.splitLabel->setPositionAlignment(
            (module.h > keys.size() / 2 ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
    }

    it.reconstruction->setModule(module);
    m_text->setText(module.text.isEmpty() ? tr(kGeneralText) : module.text);
    scheduleReplot();
}

} // namespace lq::widgets
