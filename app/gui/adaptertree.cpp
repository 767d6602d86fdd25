#include "adaptertree.h"

#include "adapterdocument.h"
#include "adaptertreemodel.h"
#include "adaptertreeproxy.h"
#include "resultsnapshot.h"
#include "setmodulechoicescommand.h"
#include "widgets/errorlegend.h"

#include <QFontMetrics>
#include <QHeaderView>
#include <QLineEdit>
#include <QMenu>
#include <QPointer>
#include <QTreeView>
#include <QUndoStack>
#include <QVBoxLayout>
#include <algorithm>

namespace lq::gui {

namespace {

// More h entries than this make the menu taller than a screen; a module of higher rank gets
// the rest from the Spectrum view's marker.
constexpr int kMaxHEntries = 16;

QString modulesText(int count)
{
    return count == 1 ? AdapterTree::tr("1 module") : AdapterTree::tr("%1 modules").arg(count);
}

} // namespace

AdapterTree::AdapterTree(Workspace* workspace, QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("adapterTreePane"));
    m_model = new AdapterTreeModel(workspace, this);
    m_proxy = new AdapterTreeProxy(this);
    m_proxy->setSourceModel(m_model);

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("treeFilter"));
    m_filter->setPlaceholderText(tr("Filter: q_proj, mlp, layer 3, 12 v_proj…"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setToolTip(tr("Show only the modules whose name holds every word; a number (or "
                            "l3, layer3) is a layer. Layers and adapters stay while a module "
                            "of theirs is shown."));
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterText(text);
        if (!text.trimmed().isEmpty())
            m_view->expandAll(); // the matches are what the person is after
    });

    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("adapterTree"));
    m_view->setModel(m_proxy);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(false);
    m_view->setIndentation(14);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSortingEnabled(true);
    // Unsorted until a header is clicked: the file's layers in numeric order.
    m_view->header()->setSortIndicator(-1, Qt::AscendingOrder);
    m_view->header()->setSortIndicatorShown(true);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QWidget::customContextMenuRequested, this, &AdapterTree::showContextMenu);
    sizeColumns();
    m_view->setColumnHidden(AdapterTreeModel::DeltaColumn, true); // until a snapshot is pinned

    m_legend = new widgets::ErrorLegend(&AdapterTreeModel::errorColor, this);
    m_legend->setObjectName(QStringLiteral("errorLegend"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(m_filter);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_legend);
}

AdapterTree::~AdapterTree() = default;

void AdapterTree::sizeColumns()
{
    QHeaderView* header = m_view->header();
    header->setStretchLastSection(false);
    // Fixed widths from the widest text each column can hold. ResizeToContents would measure
    // every row of every column on each change, and a whole-adapter result changes all of them
    // (about 100 ms per update for 224 modules on a busy machine, in bench_gui).
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(AdapterTreeModel::NameColumn, QHeaderView::Stretch);
    const QFontMetrics metrics(m_view->font());
    QFont bold = m_view->font();
    bold.setBold(true);
    const QFontMetrics boldMetrics(bold); // the adapter rows are bold
    const QString widest[AdapterTreeModel::ColumnCount] = {QString(),
                                                           tr("%n module(s)", nullptr, 288),
                                                           QStringLiteral("888"),
                                                           QStringLiteral("888"),
                                                           QStringLiteral("b_h"),
                                                           QStringLiteral("8.88 / 8.88"),
                                                           QStringLiteral("0.0000"),
                                                           QStringLiteral("+0.0000")};
    // The sort arrow may elide a sorted column's header: the module names keep the room.
    constexpr int kPadding = 10; // the cell's margins
    for (int column = 1; column < AdapterTreeModel::ColumnCount; ++column) {
        const QString title =
            m_model->headerData(column, Qt::Horizontal, Qt::DisplayRole).toString();
        const int width = std::max({boldMetrics.horizontalAdvance(widest[column]),
                                    metrics.horizontalAdvance(title),
                                    column == AdapterTreeModel::ShapeColumn
                                        ? metrics.horizontalAdvance(QStringLiteral("11008×4096"))
                                        : 0});
        header->resizeSection(column, width + kPadding);
    }
}

void AdapterTree::setSnapshots(Snapshots* snapshots)
{
    m_model->setSnapshots(snapshots);
    const auto follow = [this, snapshots] {
        m_view->setColumnHidden(AdapterTreeModel::DeltaColumn, !snapshots->any());
    };
    connect(snapshots, &Snapshots::changed, this, follow);
    follow();
}

void AdapterTree::clearFilter()
{
    m_filter->clear();
}

QModelIndex AdapterTree::toSource(const QModelIndex& viewIndex) const
{
    return viewIndex.model() == m_proxy ? m_proxy->mapToSource(viewIndex) : viewIndex;
}

QModelIndex AdapterTree::toView(const QModelIndex& sourceIndex) const
{
    return sourceIndex.model() == m_model ? m_proxy->mapFromSource(sourceIndex) : sourceIndex;
}

QModelIndex AdapterTree::currentSource() const
{
    return toSource(m_view->currentIndex());
}

std::vector<int> AdapterTree::selectedModules(const AdapterDocument* document) const
{
    std::vector<int> modules;
    if (!document)
        return modules;
    for (const QModelIndex& row : m_view->selectionModel()->selectedRows(0)) {
        const QModelIndex source = toSource(row);
        if (m_model->documentOf(source) != document)
            continue;
        const auto kind = AdapterTreeModel::Kind(source.data(AdapterTreeModel::KindRole).toInt());
        if (kind == AdapterTreeModel::Kind::Module) {
            modules.push_back(m_model->moduleOf(source));
        } else if (kind == AdapterTreeModel::Kind::Layer) {
            for (int child = 0; child < m_proxy->rowCount(row); ++child)
                modules.push_back(m_model->moduleOf(toSource(m_proxy->index(child, 0, row))));
        }
    }
    std::sort(modules.begin(), modules.end(), [document](int a, int b) {
        return document->displayPosition(a) < document->displayPosition(b);
    });
    modules.erase(std::unique(modules.begin(), modules.end()), modules.end());
    return modules;
}

QString AdapterTree::selectionLabel(const AdapterDocument* document) const
{
    const std::vector<int> modules = selectedModules(document);
    if (modules.empty())
        return {};
    const QModelIndexList rows = m_view->selectionModel()->selectedRows(0);
    if (modules.size() == 1 && rows.size() == 1 &&
        m_model->moduleOf(toSource(rows.front())) == modules.front())
        return document->moduleLabel(modules.front());
    if (rows.size() == 1) // one layer row
        return tr("%1 (%2)").arg(rows.front().data().toString(), modulesText(int(modules.size())));
    return modules.size() == 1 ? tr("1 selected module")
                               : tr("%1 selected modules").arg(modules.size());
}

void AdapterTree::setRuleSource(std::function<lq::QuantSettings(const AdapterDocument&)> source)
{
    m_ruleSource = std::move(source);
}

void AdapterTree::showContextMenu(const QPoint& position)
{
    const std::unique_ptr<QMenu> menu = contextMenu(m_view->indexAt(position));
    if (menu && !menu->isEmpty())
        menu->exec(m_view->viewport()->mapToGlobal(position));
}

std::unique_ptr<QMenu> AdapterTree::contextMenu(const QModelIndex& viewIndex)
{
    const QModelIndex source = toSource(viewIndex);
    AdapterDocument* document = m_model->documentOf(source);
    if (!document)
        return nullptr;
    auto menu = std::make_unique<QMenu>(this);
    const std::vector<int> selection = selectedModules(document);
    if (!selection.empty())
        addTargetMenu(menu.get(), document,
                      tr("Selection (%1)").arg(modulesText(int(selection.size()))),
                      QStringLiteral("targetSelection"), selection, selectionLabel(document));

    const auto kind = AdapterTreeModel::Kind(source.data(AdapterTreeModel::KindRole).toInt());
    if (kind == AdapterTreeModel::Kind::Adapter)
        return menu;
    const int clicked = kind == AdapterTreeModel::Kind::Module
                            ? m_model->moduleOf(source)
                            : m_model->moduleOf(m_model->index(0, 0, source.siblingAtColumn(0)));
    if (clicked < 0)
        return menu;
    const lq::LoraModule& module = document->module(clicked);
    std::vector<int> layer, sameKind;
    for (int i : document->displayOrder()) {
        if (document->module(i).layer == module.layer)
            layer.push_back(i);
        if (kind == AdapterTreeModel::Kind::Module && !module.kind.empty() &&
            document->module(i).kind == module.kind)
            sameKind.push_back(i);
    }
    const QString layerName =
        module.layer >= 0 ? tr("layer %1").arg(module.layer) : tr("the other modules");
    const QString layerTarget = tr("%1 (%2)").arg(layerName, modulesText(int(layer.size())));
    addTargetMenu(menu.get(), document, layerTarget.at(0).toUpper() + layerTarget.mid(1),
                  QStringLiteral("targetLayer"), layer, layerTarget);
    if (!sameKind.empty()) {
        const QString kindTarget =
            tr("every %1 (%2)")
                .arg(QString::fromStdString(module.kind), modulesText(int(sameKind.size())));
        addTargetMenu(menu.get(), document, kindTarget.at(0).toUpper() + kindTarget.mid(1),
                      QStringLiteral("targetKind"), sameKind, kindTarget);
    }
    return menu;
}

void AdapterTree::addTargetMenu(QMenu* menu, AdapterDocument* document, const QString& title,
                                const QString& objectName, const std::vector<int>& modules,
                                const QString& target)
{
    QMenu* sub = menu->addMenu(title);
    sub->setObjectName(objectName);
    const QPointer<AdapterDocument> guarded(document);
    const auto push = [guarded](QUndoCommand* command) {
        if (guarded)
            guarded->undoStack()->push(command);
        else
            delete command;
    };

    QAction* rule = sub->addAction(tr("Apply the Quantization panel's split and bits"));
    rule->setObjectName(QStringLiteral("applyRule"));
    rule->setEnabled(bool(m_ruleSource));
    connect(rule, &QAction::triggered, this, [this, guarded, modules, target, push] {
        if (guarded && m_ruleSource)
            push(SetModuleChoicesCommand::applyRule(guarded, modules, m_ruleSource(*guarded),
                                                    target));
    });

    int maxRank = 0;
    for (int module : modules)
        maxRank = std::max(maxRank, document->module(module).r);
    QMenu* hMenu = sub->addMenu(tr("Split h"));
    hMenu->setObjectName(QStringLiteral("hMenu"));
    hMenu->setToolTipsVisible(true);
    for (int h = 0; h <= std::min(maxRank, kMaxHEntries); ++h) {
        QAction* action = hMenu->addAction(tr("h = %1").arg(h));
        action->setObjectName(QStringLiteral("setH%1").arg(h));
        if (h == 0)
            action->setToolTip(tr("Every component 1 bit"));
        connect(action, &QAction::triggered, this, [guarded, modules, target, h, push] {
            if (guarded)
                push(SetModuleChoicesCommand::setH(guarded, modules, h, target));
        });
    }
    QMenu* bitsMenu = sub->addMenu(tr("High part bits"));
    bitsMenu->setObjectName(QStringLiteral("bitsMenu"));
    for (int bits = 1; bits <= 8; ++bits) {
        QAction* action = bitsMenu->addAction(bits == 1 ? tr("1 bit") : tr("%1 bits").arg(bits));
        action->setObjectName(QStringLiteral("setBits%1").arg(bits));
        connect(action, &QAction::triggered, this, [guarded, modules, target, bits, push] {
            if (guarded)
                push(SetModuleChoicesCommand::setBitsHigh(guarded, modules, bits, target));
        });
    }
    QMenu* refineMenu = sub->addMenu(tr("Refinement"));
    refineMenu->setObjectName(QStringLiteral("refineMenu"));
    const std::pair<std::optional<lq::Refinement>, QString> refinements[] = {
        {lq::Refinement::None, tr("None")},
        {lq::Refinement::Paper, tr("Paper (SGD)")},
        {lq::Refinement::Best, tr("Best")},
        {std::nullopt, tr("As the Adapter")}};
    for (const auto& entry : refinements) {
        // A copy, not a structured binding: clang 14 (the sanitizer build) cannot capture those.
        const std::optional<lq::Refinement> refine = entry.first;
        QAction* action = refineMenu->addAction(entry.second);
        action->setObjectName(
            refine ? QStringLiteral("refine-%1").arg(QString::fromStdString(lq::toString(*refine)))
                   : QStringLiteral("refine-adapter"));
        connect(action, &QAction::triggered, this, [guarded, modules, target, refine, push] {
            if (guarded)
                push(SetModuleChoicesCommand::setRefinement(guarded, modules, refine, target));
        });
    }
    sub->addSeparator();
    QAction* reset = sub->addAction(tr("Follow the Adapter's Rule Again"));
    reset->setObjectName(QStringLiteral("reset"));
    connect(reset, &QAction::triggered, this, [guarded, modules, target, push] {
        if (guarded)
            push(SetModuleChoicesCommand::reset(guarded, modules, target));
    });
}

} // namespace lq::gui
