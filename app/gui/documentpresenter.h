#pragma once

#include "core/engine/quantsettings.h"
#include "job.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <vector>

class QStatusBar;
class QTabWidget;
class QTreeView;
class QWidget;

namespace lq::widgets {
class HeatMapView;
class SettingsPanel;
} // namespace lq::widgets

namespace lq::gui {

class AdapterDocument;
class AdapterTree;
class AdapterTreeModel;
class AppSettings;
class ErrorReporter;
class ErrorView;
class Snapshots;
class SpectrumView;
class StatusPanel;
class TradeOffController;
class Workspace;

// Shows the current document in the window's views and turns what a person does in them into
// edits. It owns the selection (the current module, and the modules a layer row stands for), what
// the views last showed, the reactions to each open document's signals (results, baselines,
// sweeps, jobs, and the kernel validation's messages), and the edits the settings panel and the
// spectrum plot ask for (each an undo command on the document). The widgets are the window's;
// the presenter only fills them.
//
// Threads: UI thread only. Documents signal on the UI thread (their jobs report back there).
class DocumentPresenter : public QObject
{
    Q_OBJECT

public:
    // The window's widgets the presenter fills and listens to; all must outlive it.
    struct Views
    {
        AdapterTree* adapterTree = nullptr; // tree and treeModel are its view and source model
        QTreeView* tree = nullptr;
        AdapterTreeModel* treeModel = nullptr;
        QTabWidget* tabs = nullptr;
        SpectrumView* spectrum = nullptr;
        ErrorView* error = nullptr;
        widgets::HeatMapView* learn = nullptr;
        widgets::SettingsPanel* panel = nullptr;
        StatusPanel* status = nullptr;
        QStatusBar* statusBar = nullptr;
    };

    // `workspace` and `settings` must outlive the presenter; `dialogParent` is the window.
    DocumentPresenter(Workspace* workspace, AppSettings* settings, const Views& views,
                      QWidget* dialogParent);

    // How the presenter reports errors; not owned.
    void setErrorReporter(ErrorReporter* reporter) { m_reporter = reporter; }

    // Follows a document the workspace has just opened: its signals, its row in the tree, and
    // its load warnings in the status bar.
    void documentOpened(AdapterDocument* document);
    // Shows `document` (null: none) after the workspace made it current.
    void showDocument(AdapterDocument* document);

    int currentModule() const { return m_module; }
    // Selects module `module` of `document` in the tree (and so in the views).
    void selectModule(AdapterDocument* document, int module);

    // Adapter > Quantize & Validate on the current document.
    void quantize();
    // Adapter > Pin Snapshot / Clear Snapshot on the current document: the tree's Δ pin column,
    // the Error view's overlay and the status line compare against it.
    void pinSnapshot();
    void clearSnapshot();
    Snapshots* snapshots() const { return m_snapshots; }

    AdapterTree* adapterTree() const { return m_views.adapterTree; }
    QTreeView* tree() const { return m_views.tree; }
    AdapterTreeModel* treeModel() const { return m_views.treeModel; }
    SpectrumView* spectrumView() const { return m_views.spectrum; }
    ErrorView* errorView() const { return m_views.error; }
    widgets::HeatMapView* learnView() const { return m_views.learn; }
    widgets::SettingsPanel* settingsPanel() const { return m_views.panel; }
    StatusPanel* statusPanel() const { return m_views.status; }
    TradeOffController* tradeOff() const { return m_tradeOff; }

private:
    AdapterDocument* currentDocument() const;
    void connectDocument(AdapterDocument* document);
    // A quantization job's end: its failure, its cancel, or the kernel validation's verdict.
    void onJobFinished(const AdapterDocument& document, Job::Outcome outcome,
                       const QString& message);
    void onTreeSelection();
    void updateModuleViews();
    void updateErrorView();
    void updateLearnView();
    void updateTotals();
    void updatePanel();
    // The modules "Apply to selected" changes: those of the selected rows (a module row's, every
    // module a layer row shows); none for adapter rows. `label` names them.
    std::vector<int> selectedModules(QString* label = nullptr) const;
    bool learnShown() const;

    void onSplitDragged(int h);
    void onSplitChosen(int h);
    void applyToSelected();
    void applyToAll();
    void applyAdapterWide();
    void applyBudget(double bits);
    void previewBudget(double bits);

    void reportError(const QString& title, const QString& message);

    Workspace* m_workspace;
    AppSettings* m_settings;
    Views m_views;
    QWidget* m_dialogParent;
    ErrorReporter* m_reporter = nullptr;
    Snapshots* m_snapshots = nullptr;
    TradeOffController* m_tradeOff = nullptr;
    int m_module = -1;
    // The document settings the panel last showed: its split and bits group keeps what the
    // person typed (and applied to a selection) until the document's own rule changes.
    QPointer<const AdapterDocument> m_panelDocument;
    lq::QuantSettings m_panelShown;
    // Whose module the learn view holds, so that it is drawn once per module. A guarded pointer:
    // the next document opened may get a closed one's address.
    QPointer<const AdapterDocument> m_shownLearn;
    int m_shownLearnModule = -1;
};

} // namespace lq::gui
