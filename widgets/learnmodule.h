#pragma once

#include <Eigen/Core>
#include <QString>
#include <vector>

namespace lq::widgets {

// One point of the Learn view's reconstruction plot: a way to store the module, what it costs
// (bits per LoRA parameter, codes only) and its relative error ||BA - B_hat A_hat||_F / ||BA||_F.
struct ReconstructionPoint
{
    double bits = 0;
    double error = 0;
    int h = 0;        // kept components (truncation: k)
    int bitsHigh = 0; // LoRAQuant's high width; 0 for truncation
};

// What the Learn view shows of one module; plain numbers and text, computed in app/gui.
struct LearnModule
{
    QString title;
    QString origin;         // how |B| and |A| are titled ("as trained", "decoded")
    Eigen::MatrixXf B, A;   // as stored, m x r and r x n
    Eigen::MatrixXf Bp, Ap; // B' = U S^(1/2), A' = S^(1/2) V^T
    Eigen::MatrixXf Bq, Aq; // B' and A' after quantization (decoded codes); empty without a result
    QString quantizedLabel; // e.g. "h = 1, 2 + 1 bits"
    std::vector<double> energyBefore, energyAfter; // shares of ||BA||_F^2, r entries each
    int h = -1;                                    // the module's split; -1: none shown
    // Error of truncation to rank k, k = 0..r, at 16 k / r bits per parameter.
    std::vector<ReconstructionPoint> truncation;
    // LoRAQuant's choices for the module (every h and b_h when the budget curves are known),
    // and the current result's point (bitsHigh 0 when there is none).
    std::vector<ReconstructionPoint> loraQuant;
    ReconstructionPoint current;
    QString text; // the explanatory text (rich text), with this module's numbers
};

} // namespace lq::widgets
