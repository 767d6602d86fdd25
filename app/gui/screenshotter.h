#pragma once

#include <QObject>
#include <QString>

namespace lq::gui {

class AdapterDocument;
class MainWindow;

// `loraquant-workbench --screenshot DIR`: waits until the first adapter has opened and its
// result is current, runs the error view's trade-off sweep (paretosweep.h), then shows each view
// in turn and writes the whole window as
// DIR/workbench-<view>.png (the window's size, 1280 x 800 when started so), and the Spectrum
// view's trade-off plot alone, once its points (refined ones included) are measured, as
// DIR/workbench-tradeoff.png; then reports done.
class Screenshotter : public QObject
{
    Q_OBJECT

public:
    Screenshotter(MainWindow* window, QString folder, QObject* parent = nullptr);

signals:
    // 0 when every picture was written; a message went to stderr otherwise.
    void done(int exitCode);

private:
    void onDocument(AdapterDocument* document);
    void takeNext();
    // Writes the view shown, then shows the next one.
    void grabShown();

    MainWindow* m_window;
    QString m_folder;
    int m_next = 0;
    bool m_started = false;
    int m_waits = 0; // for the trade-off plot's points
};

} // namespace lq::gui
