#pragma once

// Internal to lq_widgets (it names QCustomPlot types): the Learn view's rank-k reconstruction
// plot, one axis rect inside the view's QCustomPlot so that an export shows it with the maps.

#include "learnmodule.h"

#include <QPointF>
#include <QVector>

class QCPAxisRect;
class QCPGraph;
class QCustomPlot;

namespace lq::widgets {

// Relative error against bits per LoRA parameter (codes only, the paper's count): truncation to
// rank k at 16 bits per kept value (16 k / r; the top axis reads k) beside LoRAQuant's choices
// for the same module and the current result.
class ReconstructionPanel
{
public:
    explicit ReconstructionPanel(QCustomPlot* plot);

    QCPAxisRect* rect() const { return m_rect; }
    void setModule(const LearnModule& module);

    // (bits, error) of each drawn point, in order (for tests).
    QVector<QPointF> truncationPoints() const;
    QVector<QPointF> loraQuantPoints() const;

private:
    QCPAxisRect* m_rect = nullptr;
    QCPGraph* m_truncation = nullptr;
    QCPGraph* m_loraQuant = nullptr;
    QCPGraph* m_current = nullptr;
};

} // namespace lq::widgets
