#pragma once

#include "core/engine/quantsettings.h"

#include <QMainWindow>
#include <QPointer>
#include <memory>
#include <vector>

class QAction;
class QLabel;
class QMenu;
class QPushButton;
class QSettings;
class QTabWidget;
class QTreeView;

namespace lq::widgets {
class ErrorBarPlot;
class HeatMapView;
class ParetoPlot;
class PlotWidget;
class SettingsPanel;
class SpectrumPlot;
} // namespace lq::widgets

namespace lq::gui {

class AdapterDocument;
class AdapterTreeModel;
class AppSettings;
class ErrorReporter;
class ErrorView;
class ExportJob;
class FileChooser;
class Job;
class SpectrumView;
class StatusPanel;
class Workspace;

// The workbench window: wires the workspace (documents, jobs) to the views and the actions. It
// holds no quantization logic: edits become undo commands on the current document, exports and
// whole-adapter work run as jobs, and the views show what the document holds.
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

    // Opens an adapter as File > Open does after its dialog.
    void openPath(const QString& path);

    Workspace* workspace() const { return m_workspace; }
    AdapterTreeModel* treeModel() const { return m_treeModel; }
    QTreeView* tree() const { return m_tree; }
    AdapterDocument* currentDocument() const;
    int currentModule() const { return m_module; }
    void selectModule(AdapterDocument* document, int module);

    void showView(View view);
    View currentView() const;
    widgets::PlotWidget* plotOf(View view) const;
    widgets::SpectrumPlot* spectrumPlot() const;
    widgets::ErrorBarPlot* errorPlot() const;
    // The error view's trade-off plot and the button that starts its sweep.
    widgets::ParetoPlot* paretoPlot() const;
    QPushButton* sweepButton() const;
    widgets::HeatMapView* learnView() const { return m_learn; }
    widgets::SettingsPanel* settingsPanel() const { return m_panel; }
    QLabel* moduleSummaryLabel() const;
    StatusPanel* statusPanel() const { return m_status; }
    // The export running or last started, until it finishes.
    ExportJob* activeExport() const;

    // Actions, for menus, tool bars and tests.
    QAction* openAction() const { return m_openAction; }
    QAction* exportPackedAction() const { return m_exportPackedAction; }
    QAction* exportPeftAction() const { return m_exportPeftAction; }
    QAction* exportReportAction() const { return m_exportReportAction; }
    QAction* exportPlotAction() const { return m_exportPlotAction; }
    QAction* quantizeAction() const { return m_quantizeAction; }
    QAction* applyPlanAction() const { return m_applyPlanAction; }
    QAction* undoAction() const { return m_undoAction; }
    QAction* redoAction() const { return m_redoAction; }

signals:
    // An export job finished (successfully or not); `message` is the reason of a failure.
    void exportFinished(bool succeeded, const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createActions();
    void createMenus();
    void createViews();
    void connectDocument(AdapterDocument* document);
    void onCurrentDocumentChanged(AdapterDocument* document);
    void onTreeSelection();
    void updateModuleViews();
    void updateErrorView();
    void updateLearnView();
    void updateTotals();
    void updatePanel();
    // The modules "Apply to selected" changes: the module row's, or every module of a layer row;
    // none for an adapter row. `label` names them.
    std::vector<int> selectedModules(QString* label = nullptr) const;
    void updateActions();
    void updateRecentMenu();

    void openAdapter();
    void openAdapterFolder();
    void closeAdapter();
    void exportPacked();
    void exportPeft();
    void exportReport();
    void exportPlot();
    void quantize();
    void applyPlan();
    void startExport(int kind, const QString& path);
    // Where an export dialog starts: the adapter's base name followed by `tail` ("-report.json"),
    // in the folder of the last export, or before any beside the adapter.
    QString suggestedExportPath(const AdapterDocument& document, const QString& tail) const;
    void showAbout();
    void showSvdHelp();

    void onSplitDragged(int h);
    void onSplitChosen(int h);
    void applyToSelected();
    void applyToAll();
    void applyAdapterWide();
    void applyBudget(double bits);
    void previewBudget(double bits);

    void reportError(const QString& title, const QString& message);

    std::unique_ptr<AppSettings> m_settings;
    std::unique_ptr<FileChooser> m_chooser;
    std::unique_ptr<ErrorReporter> m_reporter;
    Workspace* m_workspace = nullptr;
    AdapterTreeModel* m_treeModel = nullptr;
    QTreeView* m_tree = nullptr;
    QTabWidget* m_tabs = nullptr;
    SpectrumView* m_spectrumView = nullptr;
    ErrorView* m_errorView = nullptr;
    widgets::HeatMapView* m_learn = nullptr;
    widgets::SettingsPanel* m_panel = nullptr;
    StatusPanel* m_status = nullptr;
    ExportJob* m_export = nullptr;
    int m_module = -1;
    bool m_layoutRestored = false;
    // The document settings the panel last showed: its split and bits group keeps what the
    // person typed (and applied to a selection) until the document's own rule changes.
    QPointer<const AdapterDocument> m_panelDocument;
    lq::QuantSettings m_panelShown;
    // Whose module the learn view holds, so that it is drawn once per module. A guarded pointer:
    // the next document opened may get a closed one's address.
    QPointer<const AdapterDocument> m_shownLearn;
    int m_shownLearnModule = -1;

    QAction* m_openAction = nullptr;
    QAction* m_openFolderAction = nullptr;
    QAction* m_closeAction = nullptr;
    QAction* m_exportPackedAction = nullptr;
    QAction* m_exportPeftAction = nullptr;
    QAction* m_exportReportAction = nullptr;
    QAction* m_exportPlotAction = nullptr;
    QAction* m_quitAction = nullptr;
    QAction* m_undoAction = nullptr;
    QAction* m_redoAction = nullptr;
    QAction* m_quantizeAction = nullptr;
    QAction* m_cancelAction = nullptr;
    QAction* m_applyPlanAction = nullptr;
    QAction* m_viewActions[3] = {};
    QAction* m_svdHelpAction = nullptr;
    QAction* m_aboutAction = nullptr;
    QMenu* m_recentMenu = nullptr;
    QMenu* m_viewMenu = nullptr;
};

} // namespace lq::gui
