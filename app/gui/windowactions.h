#pragma once

#include <QObject>

class QAction;
class QMainWindow;
class QMenu;
class QUndoGroup;

namespace lq::gui {

class AppSettings;

// The window's actions, its menus and tool bar, and the Open Recent menu. It owns what the
// actions are (text, shortcut, icon, object name) and which are enabled; what they do is wired
// by MainWindow, which connects each action's triggered() to the class that carries it out.
//
// Threads: UI thread only. The actions are children of the window, so that their shortcuts work
// wherever the window has focus.
class WindowActions : public QObject
{
    Q_OBJECT

public:
    // `settings` (the recent files) and `window` must outlive this object.
    WindowActions(QMainWindow* window, QUndoGroup* undoGroup, AppSettings* settings);

    // Fills the menu bar and the tool bar. The window's docks must exist: the View menu lists
    // them.
    void installMenus();
    // The actions that need an open adapter.
    void setDocumentOpen(bool open);

    QAction* open() const { return m_open; }
    QAction* openFolder() const { return m_openFolder; }
    QAction* openBatch() const { return m_openBatch; }
    QAction* close() const { return m_close; }
    QAction* openSession() const { return m_openSession; }
    QAction* saveSession() const { return m_saveSession; }
    QAction* saveSessionAs() const { return m_saveSessionAs; }
    QAction* exportPacked() const { return m_exportPacked; }
    QAction* exportPeft() const { return m_exportPeft; }
    QAction* exportReport() const { return m_exportReport; }
    QAction* exportPlot() const { return m_exportPlot; }
    QAction* quit() const { return m_quit; }
    QAction* undo() const { return m_undo; }
    QAction* redo() const { return m_redo; }
    QAction* quantize() const { return m_quantize; }
    QAction* cancel() const { return m_cancel; }
    QAction* applyPlan() const { return m_applyPlan; }
    QAction* pinSnapshot() const { return m_pinSnapshot; }
    QAction* clearSnapshot() const { return m_clearSnapshot; }
    // View > Spectrum, Error, Learn: index 0, 1, 2 as MainWindow::View.
    QAction* view(int index) const { return m_views[index]; }
    QAction* svdHelp() const { return m_svdHelp; }
    QAction* about() const { return m_about; }
    QMenu* recentMenu() const { return m_recentMenu; }
    // Builds File > Open Recent as it is about to show (tests): the files, then Clear Menu.
    void fillRecentMenu();

signals:
    // A file chosen in File > Open Recent.
    void recentFileChosen(const QString& path);

private:
    void updateRecentMenu();

    QMainWindow* m_window;
    AppSettings* m_settings;
    QAction* m_open = nullptr;
    QAction* m_openFolder = nullptr;
    QAction* m_openBatch = nullptr;
    QAction* m_close = nullptr;
    QAction* m_openSession = nullptr;
    QAction* m_saveSession = nullptr;
    QAction* m_saveSessionAs = nullptr;
    QAction* m_exportPacked = nullptr;
    QAction* m_exportPeft = nullptr;
    QAction* m_exportReport = nullptr;
    QAction* m_exportPlot = nullptr;
    QAction* m_quit = nullptr;
    QAction* m_undo = nullptr;
    QAction* m_redo = nullptr;
    QAction* m_quantize = nullptr;
    QAction* m_cancel = nullptr;
    QAction* m_applyPlan = nullptr;
    QAction* m_pinSnapshot = nullptr;
    QAction* m_clearSnapshot = nullptr;
    QAction* m_views[3] = {};
    QAction* m_svdHelp = nullptr;
    QAction* m_about = nullptr;
    QMenu* m_recentMenu = nullptr;
};

} // namespace lq::gui
