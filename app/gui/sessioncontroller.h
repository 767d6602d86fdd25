#pragma once

#include "session.h"

#include <QMessageBox>
#include <QObject>
#include <QString>
#include <functional>

namespace lq::gui {

class AdapterDocument;
class AppSettings;
class ErrorReporter;
class FileChooser;
class MainWindow;

// File > Open Session, Save Session, Save Session As, and the question on quitting with choices
// not saved. A session (session.h) is written atomically; opening one opens its adapters (those
// already open are reused), gives each its saved settings and by-hand choices once it has
// loaded, then makes the saved document current and shows the saved view. Saving marks every
// document's undo stack clean: a later edit is what "unsaved" means.
//
// Threads: UI thread only.
class SessionController : public QObject
{
    Q_OBJECT

public:
    // `settings` (the last folder) must outlive the controller.
    SessionController(MainWindow* window, AppSettings* settings);

    // How the controller asks (tests answer themselves); not owned.
    void setFileChooser(FileChooser* chooser) { m_chooser = chooser; }
    void setErrorReporter(ErrorReporter* reporter) { m_reporter = reporter; }
    // The session file to open (default: a file dialog), and Save / Discard / Cancel on quitting
    // with unsaved choices (default: a message box).
    void setOpenAsker(std::function<QString()> ask) { m_askOpen = std::move(ask); }
    void setUnsavedAsker(std::function<QMessageBox::StandardButton(const QString&)> ask)
    {
        m_askUnsaved = std::move(ask);
    }

    // The menu's actions. Save writes where the session was last saved or opened, else asks.
    void open();
    bool save();
    bool saveAs();
    // Opens the session at `path`; sessionOpened() when every adapter is there.
    void openPath(const QString& path);
    bool saveTo(const QString& path);
    QString path() const { return m_path; }

    // Whether some open document has choices made since it was opened or last saved.
    bool hasUnsavedChoices() const;
    // Before the window closes: true to go on (saved, discarded or nothing to save), false to
    // stay open (cancelled, or the save failed).
    bool confirmClose();

    Session current() const;

signals:
    void sessionOpened(const QString& path);

private:
    void applyPending(AdapterDocument* document);
    void finishOpening();
    void reportError(const QString& title, const QString& message);

    MainWindow* m_window;
    AppSettings* m_settings;
    FileChooser* m_chooser = nullptr;
    ErrorReporter* m_reporter = nullptr;
    std::function<QString()> m_askOpen;
    std::function<QMessageBox::StandardButton(const QString&)> m_askUnsaved;
    QString m_path;
    // The session being opened: its entries not yet applied to their documents.
    Session m_opening;
    std::vector<bool> m_applied;
    QString m_openingPath;
};

} // namespace lq::gui
