#pragma once

#include "plotwidget.h"

#include <QPoint>
#include <QString>
#include <optional>
#include <vector>

namespace lq::widgets {

// One module's choices: every (h, b_h) the module can take as a point of its error against its
// bits per weight, without refinement (hollow) and with it (filled), one curve per high bit width
// joined in order of h, the current choice as a star, and reference points (the whole-adapter
// baselines on this module) with a dashed line at their error, so that a choice under the line
// beats that baseline on this module.
//
// Display only: a click on (or near) a point reports choiceClicked(h, bitsHigh); what that does is
// the receiver's business.
class TradeOffPlot : public PlotWidget
{
    Q_OBJECT

public:
    struct Choice
    {
        int h = 0;
        int bitsHigh = 2;
        double bits = 0;  // bits per weight, in the count the x-axis names
        double error = 0; // the module's relative error
    };
    struct Reference
    {
        QString name; // "RTN-2 (whole adapter)"
        double bits = 0;
        double error = 0;
    };

    explicit TradeOffPlot(QWidget* parent = nullptr);
    ~TradeOffPlot() override;

    // `title` names the module, `xLabel` the bit count. Replaces every point; `refined` may be
    // empty (not measured yet) or hold only some choices (measured so far); `refinedName` names
    // the refinement in the legend ("Best"). h = 0 (every component in 1 bit) starts every
    // width's curve.
    void setChoices(const QString& title, const QString& xLabel,
                    const std::vector<Choice>& unrefined, const std::vector<Choice>& refined,
                    const QString& refinedName);
    void setReferences(const std::vector<Reference>& references);
    // The current choice's star and its legend text; none hides it.
    void setCurrent(const std::optional<Choice>& current, const QString& label);
    void clear();

    const std::vector<Choice>& unrefined() const { return m_unrefined; }
    const std::vector<Choice>& refined() const { return m_refined; }
    const std::vector<Reference>& references() const { return m_references; }
    const std::optional<Choice>& current() const { return m_current; }
    QString currentLabel() const { return m_currentLabel; }
    // Canvas position of the point of (h, bitsHigh), refined or not, as drawn; none when there
    // is no such point (for tests and the benchmark).
    std::optional<QPoint> positionOf(int h, int bitsHigh, bool refined) const;

    QString exportName() const override { return QStringLiteral("tradeoff"); }

signals:
    void choiceClicked(int h, int bitsHigh);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    struct Hit
    {
        const Choice* choice = nullptr;
        bool refined = false;
    };
    Hit nearest(const QPointF& position) const;
    void rebuild();
    void updateRange();

    struct Items;
    std::unique_ptr<Items> m_items;
    std::vector<Choice> m_unrefined;
    std::vector<Choice> m_refined;
    QString m_refinedName;
    std::vector<Reference> m_references;
    std::optional<Choice> m_current;
    QString m_currentLabel;
    bool m_pressed = false; // a press chose a point; its release is ours
};

} // namespace lq::widgets
