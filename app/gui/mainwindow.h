#pragma once

#include <QMainWindow>
#include <memory>

class QSettings;
class QTabWidget;

namespace lq::widgets {
class PlotWidget;
}

namespace lq::gui {

class AdapterDocument;
class AppSettings;
class DocumentPresenter;
class ErrorReporter;
class ExportController;
class FileChooser;
class FleetPresenter;
class SessionController;
class WindowActions;
class Workspace;

// The workbench window: the frame that makes the views and docks, owns the workspace (documents,
// jobs), and wires the actions (windowactions.h) to what carries them out: the presenter of the
// current document (documentpresenter.h), the exports (exportcontroller.h), and its own opening
// of files, help and window events. It holds no quantization logic.
//
// Threads: UI thread only.
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    enum class View
    {
        Spectrum,
        Error,
        Learn
    };

    // `settings` must outlive the window.
    explicit MainWindow(QSettings* settings, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Replace how the window asks for paths and reports errors (tests).
    void setFileChooser(std::unique_ptr<FileChooser> chooser);
    void setErrorReporter(std::unique_ptr<ErrorReporter> reporter);

    // Opens an adapter as File > Open does after its dialog; a folder holding many adapters or
    // a batch's output folder opens in a Fleet tab (fleetpresenter.h).
    void openPath(const QString& path);

    Workspace* workspace() const { return m_workspace; }
    WindowActions* actions() const { return m_actions; }
    ExportController* exports() const { return m_exports; }
    DocumentPresenter* presenter() const { return m_presenter; }
    FleetPresenter* fleets() const { return m_fleets; }
    SessionController* sessions() const { return m_sessions; }

    void showView(View view);
    View currentView() const;
    widgets::PlotWidget* plotOf(View view) const;

protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createViews();
    void wireActions();
    void onCurrentDocumentChanged(AdapterDocument* document);
    void showAbout();
    void showSvdHelp();
    void reportError(const QString& title, const QString& message);

    std::unique_ptr<AppSettings> m_settings;
    std::unique_ptr<FileChooser> m_chooser;
    std::unique_ptr<ErrorReporter> m_reporter;
    Workspace* m_workspace = nullptr;
    WindowActions* m_actions = nullptr;
    QTabWidget* m_tabs = nullptr;
    DocumentPresenter* m_presenter = nullptr;
    ExportController* m_exports = nullptr;
    FleetPresenter* m_fleets = nullptr;
    SessionController* m_sessions = nullptr;
    bool m_layoutRestored = false;
};

} // namespace lq::gui
