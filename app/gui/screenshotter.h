#pragma once

#include <QObject>
#include <QString>
#include <QTemporaryDir>

namespace lq::gui {

class AdapterDocument;
class MainWindow;

// `loraquant-workbench --screenshot DIR`: waits until the first adapter has opened and its
// result is current, runs the error view's trade-off sweep (paretosweep.h), then shows each view
// in turn and writes the whole window as
// DIR/workbench-<view>.png (the window's size, 1280 x 800 when started so), and the Spectrum
// view's trade-off plot alone, once its points (refined ones included) are measured, as
// DIR/workbench-tradeoff.png; then DIR/workbench-tree.png: the tree sorted by error with three
// modules of the worst layer selected, beside the Error view's bars per layer; last it opens a
// generated batch summary of 200 synthetic adapters (fleetexample.h, a few failed) and writes
// the Fleet tab as DIR/workbench-fleet.png. Then it reports done.
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
    void takeFleet();
    // Sorts and multi-selects the tree, shows the errors per layer (for workbench-tree.png).
    void arrangeTree();
    bool save(const QString& name);
    QString fleetFolder() const;

    MainWindow* m_window;
    QString m_folder;
    int m_next = 0;
    bool m_started = false;
    QTemporaryDir m_fleetFolder;
    int m_waits = 0; // for the trade-off plot's points
};

} // namespace lq::gui
