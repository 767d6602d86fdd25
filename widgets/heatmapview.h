#pragma once

#include "learnmodule.h"
#include "plotwidget.h"

#include <Eigen/Core>
#include <QPointF>
#include <QStringList>
#include <QVector>
#include <vector>

class QLabel;

namespace lq::widgets {

// The Learn view: what the SVD reparameterization does to one module. Heat maps of |B| (top row)
// and |A| (bottom row): as trained, then B' = U S^(1/2) and A' = S^(1/2) V^T, then B' and A'
// after quantization (the decoded codes). Each exact map is scaled to its own 99th percentile
// of |value|; a quantized map uses its exact map's scale, so that what quantization changed shows
// as a change of colour. Below them: bars of each component's share of the update's energy
// ||B A||_F^2 before (||b_i a_i^T||_F^2, b_i column i of B, a_i row i of A) and after (s_i^2)
// with the module's split h marked, and the rank-k reconstruction plot (reconstructionpanel.h).
// Beside it the explanatory text the presenter computed for the module.
//
// Matrices larger than the screen are shown max-pooled (each cell the largest |value| of the
// entries it covers), so that a single large entry never disappears.
class HeatMapView : public PlotWidget
{
    Q_OBJECT

public:
    explicit HeatMapView(QWidget* parent = nullptr);
    ~HeatMapView() override;

    // B m x r, A r x n, Bp m x r, Ap r x n; energies have r entries each (shares, 0..1).
    // Without quantized factors, h, reconstruction or text (the general text stays).
    void setModule(const QString& title, const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                   const Eigen::MatrixXf& Bp, const Eigen::MatrixXf& Ap,
                   const std::vector<double>& energyBefore, const std::vector<double>& energyAfter);
    void setModule(const LearnModule& module);
    void clear();
    // How the titles of |B| and |A| say where the factors come from ("as trained", the
    // default; "decoded"); for the next setModule().
    void setFactorsOrigin(const QString& origin);

    // The view's title, then the maps' titles, |B|, |A|, |B'|, |A'|, quantized |B'|, |A'|
    // (for tests).
    QStringList titles() const;
    // The cell values (0..1 of the colour scale) of map `index` in titles() order less one
    // (0 |B| ... 5 quantized |A'|), column by column (for tests).
    std::vector<double> mapCells(int index) const;
    // Where the split marker stands on the energy plot's component axis (h + 0.5); NaN when
    // none is shown (for tests).
    double splitMarkerPosition() const;
    // The reconstruction plot's points (bits, error) (for tests).
    QVector<QPointF> truncationPoints() const;
    QVector<QPointF> loraQuantPoints() const;
    QString text() const;

    QString exportName() const override { return QStringLiteral("learn"); }

    // The largest number of cells a heat map shows along one dimension.
    static constexpr int kMaxCells = 768;

private:
    struct Items;
    std::unique_ptr<Items> m_items;
    QLabel* m_text = nullptr;
    QString m_origin;
};

} // namespace lq::widgets
