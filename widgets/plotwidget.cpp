#include "plotwidget.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QTimer>
#include <algorithm>
#include <qcustomplot.h>
#include <vector>

namespace lq::widgets {

namespace {

// Replots wait this long for more changes to arrive; short enough to feel immediate while
// dragging (one frame at 60 Hz is 16 ms), long enough to merge a burst of signals.
constexpr int kReplotDelayMs = 4;

} // namespace

struct PlotWidget::Private
{
    QCustomPlot* plot = nullptr;
    QTimer replotTimer;
    QHBoxLayout* layout = nullptr;
    QCPItemText* message = nullptr; // made on first use
};

PlotWidget::PlotWidget(QWidget* parent) : QWidget(parent), d(std::make_unique<Private>())
{
    d->plot = new QCustomPlot(this);
    d->plot->setObjectName(QStringLiteral("plotCanvas"));
    d->plot->setAntialiasedElements(QCP::aeAll);
    d->plot->setNotAntialiasedElements(QCP::aeNone);
    d->layout = new QHBoxLayout(this);
    d->layout->setContentsMargins(0, 0, 0, 0);
    d->layout->addWidget(d->plot, 1);

    d->replotTimer.setSingleShot(true);
    d->replotTimer.setInterval(kReplotDelayMs);
    connect(&d->replotTimer, &QTimer::timeout, this,
            [this] { d->plot->replot(QCustomPlot::rpQueuedReplot); });
}

PlotWidget::~PlotWidget() = default;

QCustomPlot* PlotWidget::plot() const
{
    return d->plot;
}

QWidget* PlotWidget::canvas() const
{
    return d->plot;
}

void PlotWidget::setMessage(const QString& message)
{
    if (!d->message) {
        if (message.isEmpty())
            return;
        d->message = new QCPItemText(d->plot);
        d->message->position->setType(QCPItemPosition::ptAxisRectRatio);
        d->message->position->setCoords(0.5, 0.5);
        d->message->setPositionAlignment(Qt::AlignCenter);
        d->message->setFont(QFont(font().family(), 10));
        d->message->setColor(palette().color(QPalette::PlaceholderText));
    }
    d->message->setText(message);
    d->message->setVisible(!message.isEmpty());
    scheduleReplot();
}

QString PlotWidget::message() const
{
    return d->message && d->message->visible() ? d->message->text() : QString();
}

void PlotWidget::scheduleReplot()
{
    if (!d->replotTimer.isActive())
        d->replotTimer.start();
}

void PlotWidget::replotNow()
{
    d->replotTimer.stop();
    d->plot->replot(QCustomPlot::rpImmediateRefresh);
}

namespace {

struct ShownTick
{
    double pixel; // the tick's position along its axis
    QString label;
};

// The labelled ticks a person sees on `axis` as last drawn, in the axis's order; none when the
// axis or its labels are hidden.
std::vector<ShownTick> shownTicks(const QCPAxis* axis)
{
    std::vector<ShownTick> shown;
    if (!axis->visible() || !axis->tickLabels())
        return shown;
    const QVector<double> ticks = axis->tickVector();
    const QVector<QString> labels = axis->tickVectorLabels();
    for (int i = 0; i < ticks.size() && i < labels.size(); ++i)
        if (axis->range().contains(ticks[i]) && !labels[i].isEmpty())
            shown.push_back({axis->coordToPixel(ticks[i]), labels[i]});
    return shown;
}

} // namespace

QStringList PlotWidget::overlappingTickLabels()
{
    replotNow();
    QStringList overlaps;
    for (QCPAxisRect* rect : d->plot->axisRects()) {
        for (QCPAxis* axis : rect->axes()) {
            const QFontMetrics metrics(axis->tickLabelFont());
            const bool horizontal = axis->orientation() == Qt::Horizontal;
            const auto halfExtent = [&](const ShownTick& tick) {
                return 0.5 *
                       (horizontal ? metrics.horizontalAdvance(tick.label) : metrics.height());
            };
            std::vector<ShownTick> ticks = shownTicks(axis);
            // In drawing order: a reversed axis lists its ticks from the far end.
            std::sort(ticks.begin(), ticks.end(),
                      [](const ShownTick& x, const ShownTick& y) { return x.pixel < y.pixel; });
            for (std::size_t k = 1; k < ticks.size(); ++k) {
                const ShownTick &previous = ticks[k - 1], &next = ticks[k];
                if (next.pixel - halfExtent(next) < previous.pixel + halfExtent(previous))
                    overlaps << QStringLiteral("%1: '%2' and '%3'")
                                    .arg(axis->label().isEmpty() ? QStringLiteral("(unlabelled)")
                                                                 : axis->label(),
                                         previous.label, next.label);
            }
        }
    }
    return overlaps;
}

QStringList PlotWidget::tickLabels(const QString& axisLabel)
{
    replotNow();
    QStringList shown;
    for (QCPAxisRect* rect : d->plot->axisRects())
        for (QCPAxis* axis : rect->axes())
            if (axis->label() == axisLabel)
                for (const ShownTick& tick : shownTicks(axis))
                    shown << tick.label;
    return shown;
}

void PlotWidget::setSidePanel(QWidget* widget)
{
    d->layout->addWidget(widget, 0);
}

std::optional<PlotFormat> PlotWidget::formatForPath(const QString& path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png"))
        return PlotFormat::Png;
    if (suffix == QLatin1String("pdf"))
        return PlotFormat::Pdf;
    if (suffix == QLatin1String("svg"))
        return PlotFormat::Svg;
    return std::nullopt;
}

QString PlotWidget::exportTo(const QString& path, PlotFormat format, QSize size, double scale)
{
    // A widget that was never shown has had no layout pass: the canvas would still have its
    // initial size.
    d->layout->activate();
    replotNow();
    if (size.isEmpty())
        size = d->plot->size();
    const int width = size.width(), height = size.height();

    // QSaveFile writes a temporary file in the same folder and renames it on commit(), so a
    // failed export leaves nothing behind and never truncates an existing file.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return tr("%1: cannot write: %2").arg(path, file.errorString());

    bool painted = true;
    switch (format) {
    case PlotFormat::Png: {
        const QPixmap pixmap = d->plot->toPixmap(width, height, scale);
        painted = pixmap.save(&file, "PNG");
        break;
    }
    case PlotFormat::Pdf: {
        // QCustomPlot's own savePdf goes through QPrinter and a file name; QPdfWriter on the
        // save file keeps the write atomic. One point per widget pixel.
        QPdfWriter writer(&file);
        writer.setResolution(72);
        writer.setPageSize(QPageSize(QSizeF(width, height), QPageSize::Point));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        writer.setCreator(QStringLiteral("LoRAQuant Workbench"));
        writer.setTitle(exportName());
        QCPPainter painter;
        painted = painter.begin(&writer);
        if (painted) {
            painter.setMode(QCPPainter::pmVectorized);
            painter.setMode(QCPPainter::pmNoCaching);
            d->plot->toPainter(&painter, width, height);
            painted = painter.end();
        }
        break;
    }
    case PlotFormat::Svg: {
        QSvgGenerator generator;
        generator.setOutputDevice(&file);
        generator.setSize(QSize(width, height));
        generator.setViewBox(QRect(0, 0, width, height));
        generator.setTitle(exportName());
        generator.setDescription(QStringLiteral("LoRAQuant Workbench"));
        QCPPainter painter;
        painted = painter.begin(&generator);
        if (painted) {
            painter.setMode(QCPPainter::pmVectorized);
            painter.setMode(QCPPainter::pmNoCaching);
            d->plot->toPainter(&painter, width, height);
            painted = painter.end();
        }
        break;
    }
    }
    if (!painted) {
        file.cancelWriting();
        return tr("%1: the plot could not be rendered in this format").arg(path);
    }
    if (!file.commit())
        return tr("%1: cannot write: %2").arg(path, file.errorString());
    return {};
}

} // namespace lq::widgets
