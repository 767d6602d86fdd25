#pragma once

#include "plotwidget.h"

#include <Eigen/Core>
#include <QStringList>
#include <vector>

class QLabel;

namespace lq::widgets {

// The Learn view: what the SVD reparameterization does to one module. Heat maps of |B| and |A|
// (as trained) above |B'| and |A'| (B' = U S^(1/2), A' = S^(1/2) V^T), each scaled to its own
// largest |value|, so that the concentration of B' in its first columns and of A' in its first
// rows shows; below them bars of each component's share of the update's energy ||B A||_F^2
// before (||b_i a_i^T||_F^2, b_i column i of B, a_i row i of A) and after (s_i^2); a short
// explanatory text beside it.
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
    void setModule(const QString& title, const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                   const Eigen::MatrixXf& Bp, const Eigen::MatrixXf& Ap,
                   const std::vector<double>& energyBefore, const std::vector<double>& energyAfter);
    void clear();
    // How the titles of |B| and |A| say where the factors come from ("as trained", the
    // default; "decoded"); for the next setModule().
    void setFactorsOrigin(const QString& origin);

    // The view's title, then the four maps' titles, |B|, |A|, |B'|, |A'| (for tests).
    QStringList titles() const;

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
