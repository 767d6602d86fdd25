#pragma once

#include <QWidget>
#include <functional>

namespace lq::widgets {

// What the tree's row colours mean: a strip from error 0 to 1 in the colours rows get, with
// ticks. It draws whatever colour function it is given.
class ErrorLegend : public QWidget
{
    Q_OBJECT

public:
    using ColorOf = std::function<QColor(double relativeError)>;

    explicit ErrorLegend(ColorOf colorOf, QWidget* parent = nullptr);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    // The errors the ticks name, left to right (the last one stands for it and above).
    static constexpr double kTicks[] = {0.0, 0.25, 0.5, 0.75, 1.0};

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    ColorOf m_colorOf;
};

} // namespace lq::widgets
