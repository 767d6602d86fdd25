#pragma once

#include <QString>
#include <QWidget>
#include <memory>
#include <optional>

class QCustomPlot;

namespace lq::widgets {

enum class PlotFormat
{
    Png,
    Pdf,
    Svg
};

// Base of every plot: owns a QCustomPlot that no public header exposes (only widgets/ sees its
// API), batches replots, and exports what it shows.
//
// Replots: subclasses call scheduleReplot() after changing data; many changes within one pass of
// the event loop cost one replot (a short single-shot timer), so a burst of updates (a drag, a
// whole-adapter result) never replots per item. replotNow() flushes a pending replot.
class PlotWidget : public QWidget
{
    Q_OBJECT

public:
    explicit PlotWidget(QWidget* parent = nullptr);
    ~PlotWidget() override;

    // Writes the plot to `path`: PNG (raster, `size` pixels times `scale`), PDF or SVG (vector,
    // `size` points). An empty size means the widget's current size. The file appears complete or
    // not at all (written to a temporary file beside it, then renamed). Returns an empty string on
    // success, else the reason, naming the file.
    QString exportTo(const QString& path, PlotFormat format, QSize size = {}, double scale = 1.0);
    // The format a file name asks for by its extension (.png, .pdf, .svg), if any.
    static std::optional<PlotFormat> formatForPath(const QString& path);

    // The widget that receives mouse events (for QTest and event filters); its coordinates are
    // the ones subclasses report positions in.
    QWidget* canvas() const;

    // Flushes a pending replot (before grabbing or exporting).
    void replotNow();

    // Tick labels drawn over one another, on every axis of the plot as it is now, one line per
    // pair naming the axis and both labels. A crowded axis cannot be read; tests check that
    // none is.
    QStringList overlappingTickLabels();
    // The tick labels shown on the axis titled `axisLabel`, in axis order (for tests).
    QStringList tickLabels(const QString& axisLabel);

    // A short name of what is shown, for export file names ("spectrum", "errors", ...).
    virtual QString exportName() const { return QStringLiteral("plot"); }

    // A line of text in the middle of the plot area (why it is empty, what to do to fill it);
    // an empty text hides it.
    void setMessage(const QString& message);
    QString message() const;

protected:
    QCustomPlot* plot() const;
    void scheduleReplot();
    // Puts `widget` to the right of the plot (explanatory text, legends that are not plots).
    void setSidePanel(QWidget* widget);

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace lq::widgets
