#include "errorlegend.h"

#include <QLinearGradient>
#include <QPainter>
#include <algorithm>

namespace lq::widgets {

namespace {

constexpr int kMargin = 4;
constexpr int kStripHeight = 8;

} // namespace

ErrorLegend::ErrorLegend(ColorOf colorOf, QWidget* parent)
    : QWidget(parent), m_colorOf(std::move(colorOf))
{
    setToolTip(tr("Row colour: relative error of the module (energy-weighted for layers and "
                  "adapters). Green is exact, yellow loses half of the update, red all of it "
                  "or more. The same scale for every adapter, so colours compare across them."));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

QSize ErrorLegend::sizeHint() const
{
    return {240, minimumSizeHint().height()};
}

QSize ErrorLegend::minimumSizeHint() const
{
    return {160, kStripHeight + fontMetrics().height() + 3 * kMargin};
}

void ErrorLegend::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    const QFontMetrics metrics = fontMetrics();
    const QString caption = tr("error");
    const int left = kMargin + metrics.horizontalAdvance(caption) + 2 * kMargin;
    // Room for the last tick's label ("≥ 1") to the right of the strip's end.
    const int right = width() - kMargin - metrics.horizontalAdvance(QStringLiteral("≥1")) / 2;
    const QRect strip(left, kMargin, std::max(right - left, 10), kStripHeight);

    painter.drawText(QRect(kMargin, 0, left - kMargin, height()), Qt::AlignLeft | Qt::AlignVCenter,
                     caption);
    QLinearGradient gradient(strip.topLeft(), strip.topRight());
    constexpr int kStops = 12;
    for (int i = 0; i <= kStops; ++i)
        gradient.setColorAt(double(i) / kStops, m_colorOf(double(i) / kStops));
    painter.fillRect(strip, gradient);
    painter.setPen(palette().color(QPalette::Mid));
    painter.drawRect(strip.adjusted(0, 0, -1, -1));

    painter.setPen(palette().color(QPalette::WindowText));
    for (double tick : kTicks) {
        const int x = strip.left() + int(tick * (strip.width() - 1));
        painter.drawLine(x, strip.bottom(), x, strip.bottom() + 2);
        const QString label = tick >= 1.0 ? QStringLiteral("≥1") : QString::number(tick);
        const int w = metrics.horizontalAdvance(label);
        painter.drawText(QRect(x - w / 2 - 1, strip.bottom() + 2, w + 2, metrics.height()),
                         Qt::AlignCenter, label);
    }
}

} // namespace lq::widgets
