#pragma once

#include <QElapsedTimer>
#include <QObject>

namespace lq::gui {

class MainWindow;

// `loraquant-workbench --startup-time`: measures from the start of main() (the timer it is
// given) to the first time the spectrum view has been painted showing a quantized adapter, prints
// "startup: painted after N ms" and reports done. The figure of the issue's "start to a painted
// window" target; the process start before main() (dynamic loading) is measured by timing the
// whole process from outside.
class StartupProbe : public QObject
{
    Q_OBJECT

public:
    StartupProbe(MainWindow* window, QElapsedTimer sinceStart, QObject* parent = nullptr);

signals:
    void done(int exitCode);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    MainWindow* m_window;
    QElapsedTimer m_sinceStart;
    bool m_reported = false;
};

} // namespace lq::gui
