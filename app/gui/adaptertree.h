#pragma once

#include "core/engine/quantsettings.h"

#include <QModelIndex>
#include <QWidget>
#include <functional>
#include <memory>
#include <vector>

class QLineEdit;
class QMenu;
class QTreeView;

namespace lq::widgets {
class ErrorLegend;
}

namespace lq::gui {

class AdapterDocument;
class AdapterTreeModel;
class AdapterTreeProxy;
class Snapshots;
class Workspace;

// The Adapters dock: a filter line above the tree of open adapters (adaptertreemodel.h) seen
// through a sorting, filtering proxy (adaptertreeproxy.h), several rows selectable at once
// (ctrl/shift), a context menu that sets h, the high part's width or the panel's rule for the
// selection, the clicked row's layer or every module of its kind (each one undo step,
// setmodulechoicescommand.h), and the legend of the rows' error colours below.
//
// Indices: view() shows proxy indices, model() makes source indices; toSource / toView convert.
// Threads: UI thread only.
class AdapterTree : public QWidget
{
    Q_OBJECT

public:
    explicit AdapterTree(Workspace* workspace, QWidget* parent = nullptr);
    ~AdapterTree() override;

    QTreeView* view() const { return m_view; }
    AdapterTreeModel* model() const { return m_model; }
    AdapterTreeProxy* proxy() const { return m_proxy; }
    QLineEdit* filterEdit() const { return m_filter; }
    widgets::ErrorLegend* legend() const { return m_legend; }

    void clearFilter();
    // The Δ pin column shows while a snapshot is pinned (resultsnapshot.h).
    void setSnapshots(Snapshots* snapshots);

    QModelIndex toSource(const QModelIndex& viewIndex) const;
    QModelIndex toView(const QModelIndex& sourceIndex) const;
    // The current row as a source index.
    QModelIndex currentSource() const;

    // The modules of `document` the selected rows stand for, in display order: a module row's
    // module, every module a layer row shows (under the filter). Adapter rows stand for none.
    std::vector<int> selectedModules(const AdapterDocument* document) const;
    // Names them for undo texts and the panel: "layer 3 · q_proj", "layer 3 (7 modules)",
    // "12 selected modules".
    QString selectionLabel(const AdapterDocument* document) const;

    // Where the context menu's "Apply the panel's split and bits" takes its rule from (the
    // Quantization panel's settings for that document).
    void setRuleSource(std::function<lq::QuantSettings(const AdapterDocument&)> source);
    // The context menu for the row at `viewIndex` (what a right click there opens), not shown.
    std::unique_ptr<QMenu> contextMenu(const QModelIndex& viewIndex);

private:
    void sizeColumns();
    void showContextMenu(const QPoint& position);
    // One submenu of edits for `modules`, named `title`; `target` names them in undo texts.
    void addTargetMenu(QMenu* menu, AdapterDocument* document, const QString& title,
                       const QString& objectName, const std::vector<int>& modules,
                       const QString& target);

    AdapterTreeModel* m_model = nullptr;
    AdapterTreeProxy* m_proxy = nullptr;
    QLineEdit* m_filter = nullptr;
    QTreeView* m_view = nullptr;
    widgets::ErrorLegend* m_legend = nullptr;
    std::function<lq::QuantSettings(const AdapterDocument&)> m_ruleSource;
};

} // namespace lq::gui
