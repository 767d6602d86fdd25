#include "adaptertreemodel.h"

#include "adapterdocument.h"
#include "documentnames.h"
#include "resultsnapshot.h"
#include "workspace.h"

#include <QApplication>
#include <QColor>
#include <QFont>
#include <QPalette>
#include <QStyle>
#include <cmath>

namespace lq::gui {

namespace {

// internalId() of an index names its parent: 0 for adapter rows, the adapter's serial for layer
// rows, serial << 32 | (layer row + 1) for module rows.
constexpr quint64 kLayerShift = 32;

struct Aggregate
{
    double errSq = 0, normSq = 0, bitsPaper = 0, bitsTrue = 0, weights = 0;
    bool any = false;
    // `error` is the one shown for the module (a packed file's recorded error, see
    // AdapterDocument::shownError), weighed by the module's energy.
    void add(const lq::ModuleResult& result, double error)
    {
        errSq += error * error * result.normSq;
        normSq += result.normSq;
        bitsPaper += result.bitsPaper;
        bitsTrue += result.bitsTrue;
        weights += double(result.r) * (result.m + result.n);
        any = true;
    }
    double error() const { return normSq > 0 ? std::sqrt(errSq / normSq) : 0.0; }
};

constexpr double kUnchanged = 5e-5; // below the 4 digits shown

QString deltaText(std::optional<double> delta)
{
    if (!delta)
        return {};
    if (std::abs(*delta) < kUnchanged)
        return QStringLiteral("0.0000");
    QString text = QString::number(*delta, 'f', 4);
    if (*delta > 0)
        text.prepend(QLatin1Char('+'));
    return text.replace(QLatin1Char('-'), QStringLiteral("−"));
}

// Better than the snapshot reads green, worse red; no change stays plain.
QVariant deltaColor(std::optional<double> delta)
{
    if (!delta || std::abs(*delta) < kUnchanged)
        return {};
    return *delta < 0 ? QColor(0, 120, 0) : QColor(180, 0, 0);
}

QString bitsText(double paper, double trueBits)
{
    return QStringLiteral("%1 / %2").arg(paper, 0, 'f', 2).arg(trueBits, 0, 'f', 2);
}

} // namespace

AdapterTreeModel::AdapterTreeModel(Workspace* workspace, QObject* parent)
    : QAbstractItemModel(parent), m_workspace(workspace)
{
    for (AdapterDocument* document : workspace->documents())
        addDocument(document);
    connect(workspace, &Workspace::documentOpened, this, &AdapterTreeModel::addDocument);
    connect(workspace, &Workspace::documentAboutToClose, this, &AdapterTreeModel::removeDocument);
}

void AdapterTreeModel::setSnapshots(Snapshots* snapshots)
{
    m_snapshots = snapshots;
    connect(snapshots, &Snapshots::changed, this,
            [this](AdapterDocument* document) { refreshDocument(document); });
}

QColor AdapterTreeModel::errorColor(double relativeError)
{
    // Hue 120 (green) at 0 to 0 (red) at 1 and above; light tints keep the text readable.
    // Absolute, not relative to the adapter, so that colours compare across adapters: at
    // ~1.1-1.7 bits real adapters land between 0.3 and 0.8 (../shared/reference).
    const double t = std::clamp(relativeError, 0.0, 1.0);
    return QColor::fromHsvF(float((1.0 - t) * 120.0 / 360.0), 0.28f, 1.0f);
}

int AdapterTreeModel::entryOf(const AdapterDocument* document) const
{
    for (std::size_t i = 0; i < m_entries.size(); ++i)
        if (m_entries[i].document == document)
            return int(i);
    return -1;
}

int AdapterTreeModel::entryOfSerial(quint32 serial) const
{
    for (std::size_t i = 0; i < m_entries.size(); ++i)
        if (m_entries[i].serial == serial)
            return int(i);
    return -1;
}

void AdapterTreeModel::addDocument(AdapterDocument* document)
{
    Entry entry;
    entry.document = document;
    entry.serial = m_nextSerial++;
    for (int i : document->displayOrder()) {
        const int layer = document->module(i).layer;
        if (entry.layers.empty() || entry.layers.back().layer != layer)
            entry.layers.push_back({layer, {}});
        entry.layers.back().modules.push_back(i);
    }
    entry.rowOfModule.resize(std::size_t(document->moduleCount()));
    for (std::size_t l = 0; l < entry.layers.size(); ++l)
        for (std::size_t row = 0; row < entry.layers[l].modules.size(); ++row)
            entry.rowOfModule[std::size_t(entry.layers[l].modules[row])] = {int(l), int(row)};

    const int row = int(m_entries.size());
    beginInsertRows({}, row, row);
    m_entries.push_back(std::move(entry));
    endInsertRows();
    // A second copy of an adapter renames the first (distinctName).
    if (row > 0)
        emit dataChanged(index(0, NameColumn), index(row - 1, NameColumn));

    connect(document, &AdapterDocument::resultChanged, this,
            [this, document] { refreshDocument(document); });
    connect(document, &AdapterDocument::settingsChanged, this,
            [this, document] { refreshDocument(document); });
    connect(document, &AdapterDocument::moduleChanged, this,
            [this, document](int module) { refreshModule(document, module); });
}

void AdapterTreeModel::removeDocument(AdapterDocument* document)
{
    const int row = entryOf(document);
    if (row < 0)
        return;
    disconnect(document, nullptr, this, nullptr);
    beginRemoveRows({}, row, row);
    m_entries.erase(m_entries.begin() + row);
    endRemoveRows();
    // The closed one's twin may take its plain name back; the workspace lists it until now.
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (!m_entries.empty())
                emit dataChanged(index(0, NameColumn),
                                 index(int(m_entries.size()) - 1, NameColumn));
        },
        Qt::QueuedConnection);
}

void AdapterTreeModel::refreshDocument(AdapterDocument* document)
{
    const int row = entryOf(document);
    if (row < 0)
        return;
    const Entry& entry = m_entries[std::size_t(row)];
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
    const QModelIndex adapter = index(row, 0);
    for (std::size_t l = 0; l < entry.layers.size(); ++l) {
        emit dataChanged(index(int(l), 0, adapter), index(int(l), ColumnCount - 1, adapter));
        const QModelIndex layer = index(int(l), 0, adapter);
        const int count = int(entry.layers[l].modules.size());
        if (count > 0)
            emit dataChanged(index(0, 0, layer), index(count - 1, ColumnCount - 1, layer));
    }
}

void AdapterTreeModel::refreshModule(AdapterDocument* document, int module)
{
    const QModelIndex moduleIndex = indexOf(document, module);
    if (!moduleIndex.isValid())
        return;
    emit dataChanged(moduleIndex, moduleIndex.siblingAtColumn(ColumnCount - 1));
    const QModelIndex layer = moduleIndex.parent();
    emit dataChanged(layer, layer.siblingAtColumn(ColumnCount - 1));
    const QModelIndex adapter = layer.parent();
    emit dataChanged(adapter, adapter.siblingAtColumn(ColumnCount - 1));
}

QModelIndex AdapterTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid())
        return row < int(m_entries.size()) ? createIndex(row, column, quintptr(0)) : QModelIndex();
    const quint64 id = parent.internalId();
    if (id == 0) { // parent is an adapter: a layer row
        const Entry& entry = m_entries[std::size_t(parent.row())];
        if (row >= int(entry.layers.size()))
            return {};
        return createIndex(row, column, quintptr(entry.serial));
    }
    if (id >> kLayerShift)
        return {}; // modules have no children
    const int e = entryOfSerial(quint32(id));
    if (e < 0)
        return {};
    const Entry& entry = m_entries[std::size_t(e)];
    const int layer = parent.row();
    if (layer >= int(entry.layers.size()) ||
        row >= int(entry.layers[std::size_t(layer)].modules.size()))
        return {};
    return createIndex(row, column,
                       quintptr((quint64(entry.serial) << kLayerShift) | quint64(layer + 1)));
}

QModelIndex AdapterTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid())
        return {};
    const quint64 id = child.internalId();
    if (id == 0)
        return {};
    if (!(id >> kLayerShift)) {
        const int e = entryOfSerial(quint32(id));
        return e < 0 ? QModelIndex() : createIndex(e, 0, quintptr(0));
    }
    const int e = entryOfSerial(quint32(id >> kLayerShift));
    if (e < 0)
        return {};
    const int layer = int(id & 0xffffffffu) - 1;
    return createIndex(layer, 0, quintptr(m_entries[std::size_t(e)].serial));
}

int AdapterTreeModel::rowCount(const QModelIndex& parent) const
{
    if (!parent.isValid())
        return int(m_entries.size());
    if (parent.column() != 0)
        return 0;
    const quint64 id = parent.internalId();
    if (id == 0)
        return int(m_entries[std::size_t(parent.row())].layers.size());
    if (id >> kLayerShift)
        return 0;
    const int e = entryOfSerial(quint32(id));
    if (e < 0)
        return 0;
    return int(m_entries[std::size_t(e)].layers[std::size_t(parent.row())].modules.size());
}

int AdapterTreeModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

AdapterDocument* AdapterTreeModel::documentOf(const QModelIndex& index) const
{
    if (!index.isValid())
        return nullptr;
    const quint64 id = index.internalId();
    int e = -1;
    if (id == 0)
        e = index.row();
    else if (!(id >> kLayerShift))
        e = entryOfSerial(quint32(id));
    else
        e = entryOfSerial(quint32(id >> kLayerShift));
    return e >= 0 && e < int(m_entries.size()) ? m_entries[std::size_t(e)].document : nullptr;
}

int AdapterTreeModel::moduleOf(const QModelIndex& index) const
{
    if (!index.isValid() || !(index.internalId() >> kLayerShift))
        return -1;
    const int e = entryOfSerial(quint32(index.internalId() >> kLayerShift));
    if (e < 0)
        return -1;
    const int layer = int(index.internalId() & 0xffffffffu) - 1;
    return m_entries[std::size_t(e)].layers[std::size_t(layer)].modules[std::size_t(index.row())];
}

QModelIndex AdapterTreeModel::indexOf(AdapterDocument* document) const
{
    const int e = entryOf(document);
    return e < 0 ? QModelIndex() : index(e, 0);
}

QModelIndex AdapterTreeModel::indexOf(AdapterDocument* document, int module, int column) const
{
    const int e = entryOf(document);
    if (e < 0 || module < 0 || module >= int(m_entries[std::size_t(e)].rowOfModule.size()))
        return {};
    const auto [layer, row] = m_entries[std::size_t(e)].rowOfModule[std::size_t(module)];
    return index(row, column, index(layer, 0, index(e, 0)));
}

QVariant AdapterTreeModel::data(const QModelIndex& index, int role) const
{
    AdapterDocument* document = documentOf(index);
    if (!document)
        return {};
    const quint64 id = index.internalId();
    const Kind kind = id == 0 ? Kind::Adapter : (id >> kLayerShift ? Kind::Module : Kind::Layer);
    if (role == KindRole)
        return int(kind);
    const int module = moduleOf(index);
    if (role == ModuleRole)
        return module;
    const bool current = document->resultState() == AdapterDocument::ResultState::Current;

    if (kind == Kind::Module) {
        const lq::LoraModule& m = document->module(module);
        const lq::ModuleResult* result = document->moduleResult(module);
        const bool overridden = document->setByHand(module);
        switch (role) {
        case FullNameRole:
            return QString::fromStdString(m.name);
        case LayerRole:
            return m.layer;
        case SortRole:
            switch (index.column()) {
            case NameColumn: // kinds as text; several modules of one kind in a layer by name
                return QString::fromStdString(m.kind.empty() ? m.name : m.kind + " " + m.name);
            case ShapeColumn:
                return double(m.m) * double(m.n);
            case RankColumn:
                return m.r;
            case HColumn:
                return document->effectiveH(module);
            case BitsColumn:
                return document->effectiveBitsHigh(module);
            case BitsPerWeightColumn:
                return result ? result->bitsPaper / double(m.parameterCount()) : -1.0;
            case ErrorColumn:
                return result ? document->shownError(module) : -1.0;
            case DeltaColumn: {
                const auto delta =
                    m_snapshots ? m_snapshots->moduleDelta(*document, module) : std::nullopt;
                return delta ? *delta : 0.0;
            }
            default:
                return {};
            }
        case Qt::DisplayRole:
            switch (index.column()) {
            case NameColumn:
                return QString::fromStdString(m.kind.empty() ? m.name : m.kind);
            case ShapeColumn:
                return QStringLiteral("%1×%2").arg(m.m).arg(m.n);
            case RankColumn:
                return m.r;
            case HColumn:
                return document->effectiveH(module);
            case BitsColumn:
                return document->effectiveBitsHigh(module);
            case BitsPerWeightColumn:
                if (!result)
                    return QStringLiteral("…");
                return bitsText(result->bitsPaper / double(m.parameterCount()),
                                result->bitsTrue / double(m.parameterCount()));
            case ErrorColumn:
                return result ? QString::number(document->shownError(module), 'f', 4)
                              : QStringLiteral("…");
            case DeltaColumn:
                return m_snapshots ? deltaText(m_snapshots->moduleDelta(*document, module))
                                   : QString();
            default:
                return {};
            }
        case Qt::ToolTipRole: {
            QString tip =
                tr("%1\nm %2, n %3, rank %4%5")
                    .arg(QString::fromStdString(m.name))
                    .arg(m.m)
                    .arg(m.n)
                    .arg(m.r)
                    .arg(overridden ? tr("\nh or bits set by hand (the rule no longer applies)")
                                    : QString());
            if (const auto refine = document->refineOverride(module))
                tip += tr("\nrefinement %1, set for this module")
                           .arg(QString::fromStdString(lq::toString(*refine)));
            if (document->packedOrigin())
                tip += document->recordedError(module)
                           ? tr("\nerror: against the original adapter, as the packed file "
                                "recorded it")
                           : tr("\nerror: against the packed file's decoded factors (changed "
                                "here; the file holds no original to measure against)");
            return tip;
        }
        case Qt::BackgroundRole:
            return result ? QVariant(errorColor(document->shownError(module))) : QVariant();
        case Qt::ForegroundRole:
            if (!current)
                return QColor(Qt::gray);
            if (index.column() == DeltaColumn && m_snapshots)
                return deltaColor(m_snapshots->moduleDelta(*document, module));
            return {};
        case Qt::FontRole:
            if (overridden && (index.column() == HColumn || index.column() == BitsColumn)) {
                QFont font;
                font.setBold(true);
                return font;
            }
            return {};
        case Qt::TextAlignmentRole:
            return index.column() == NameColumn ? QVariant()
                                                : QVariant(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return {};
        }
    }

    // Adapter and layer rows: sums over their modules.
    std::vector<int> modules;
    const int e = entryOf(document);
    const Entry& entry = m_entries[std::size_t(e)];
    if (kind == Kind::Layer) {
        modules = entry.layers[std::size_t(index.row())].modules;
    } else {
        for (int i = 0; i < document->moduleCount(); ++i)
            modules.push_back(i);
    }
    Aggregate total;
    for (int i : modules)
        if (const lq::ModuleResult* result = document->moduleResult(i))
            total.add(*result, document->shownError(i));
    // The adapter's own total weighs by the original's norms, which only the file knows.
    const double error =
        kind == Kind::Adapter && total.any ? document->shownTotal() : total.error();
    std::optional<double> delta;
    if (const ResultSnapshot* snapshot = m_snapshots ? m_snapshots->of(document) : nullptr;
        snapshot && total.any) {
        if (kind == Kind::Adapter) {
            delta = m_snapshots->totalDelta(*document);
        } else {
            Aggregate pinned; // the same modules' pinned errors, weighed by the same energies
            for (int i : modules)
                if (const lq::ModuleResult* result = document->moduleResult(i))
                    pinned.add(*result, snapshot->errors.at(std::size_t(i)));
            delta = error - pinned.error();
        }
    }

    switch (role) {
    case LayerRole:
        return kind == Kind::Layer ? entry.layers[std::size_t(index.row())].layer : -1;
    case SortRole:
        switch (index.column()) {
        case NameColumn:
            if (kind == Kind::Adapter)
                return document->displayName();
            // Modules outside any layer stay after the numbered layers.
            return entry.layers[std::size_t(index.row())].layer >= 0
                       ? double(entry.layers[std::size_t(index.row())].layer)
                       : 1e9;
        case ShapeColumn:
            return double(modules.size());
        case BitsPerWeightColumn:
            return total.any ? total.bitsPaper / total.weights : -1.0;
        case ErrorColumn:
            return total.any ? error : -1.0;
        case DeltaColumn:
            return delta ? *delta : 0.0;
        default:
            return {};
        }
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            if (kind == Kind::Adapter)
                return distinctName(document, m_workspace->documents());
            return entry.layers[std::size_t(index.row())].layer >= 0
                       ? tr("layer %1").arg(entry.layers[std::size_t(index.row())].layer)
                       : tr("other modules");
        case ShapeColumn:
            return tr("%n module(s)", nullptr, int(modules.size()));
        case BitsPerWeightColumn:
            return total.any
                       ? bitsText(total.bitsPaper / total.weights, total.bitsTrue / total.weights)
                       : QStringLiteral("…");
        case ErrorColumn:
            return total.any ? QString::number(error, 'f', 4) : QStringLiteral("…");
        case DeltaColumn:
            return deltaText(delta);
        default:
            return {};
        }
    case Qt::ToolTipRole: {
        if (kind != Kind::Adapter)
            return document->packedOrigin()
                       ? tr("error: energy-weighted over the layer's modules (by the decoded "
                            "factors' energy: the packed file records the original's per "
                            "adapter only)")
                       : tr("error: energy-weighted over the layer's modules");
        QString tip =
            document->packedOrigin()
                ? tr("%1\nPacked file, shown dequantized (its stored h and b_h per module). "
                     "Errors are the file's own against the original adapter while a module "
                     "keeps the file's choice, else against the decoded factors. Recorded: "
                     "error %2 against %3")
                      .arg(document->path())
                      .arg(document->packedOrigin()->relErrTotal, 0, 'f', 4)
                      .arg(QString::fromStdString(document->packedOrigin()->sourcePath))
                : tr("%1\nerror: energy-weighted, sqrt(Σ err² / Σ ‖ΔW‖²)").arg(document->path());
        // The status bar shows a warning for a few seconds only; here it stays.
        for (const std::string& warning : document->adapter().warnings())
            tip += QStringLiteral("\n⚠ ") + QString::fromStdString(warning);
        return tip;
    }
    case Qt::DecorationRole:
        if (kind == Kind::Adapter && index.column() == NameColumn &&
            !document->adapter().warnings().empty())
            return QApplication::style()->standardIcon(QStyle::SP_MessageBoxWarning);
        return {};
    case Qt::BackgroundRole:
        return total.any ? QVariant(errorColor(error)) : QVariant();
    case Qt::ForegroundRole:
        if (!current)
            return QColor(Qt::gray);
        return index.column() == DeltaColumn ? deltaColor(delta) : QVariant();
    case Qt::FontRole:
        if (kind == Kind::Adapter) {
            QFont font;
            font.setBold(true);
            return font;
        }
        return {};
    case Qt::TextAlignmentRole:
        return index.column() == NameColumn ? QVariant()
                                            : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    default:
        return {};
    }
}

QVariant AdapterTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case NameColumn:
            return tr("Module");
        case ShapeColumn:
            return tr("m × n");
        case RankColumn:
            return tr("r");
        case HColumn:
            return tr("h");
        case BitsColumn:
            return tr("b_h");
        case BitsPerWeightColumn:
            // Short, so that the module names keep the width at 1280 pixels; the tool tip says
            // which count is which.
            return tr("Bits/w");
        case ErrorColumn:
            return tr("Error");
        case DeltaColumn:
            return tr("Δ pin");
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case HColumn:
            return tr("h: high-precision components (bold: set by hand)");
        case ShapeColumn:
            return tr("Shape of the update ΔW = B A: m × n");
        case RankColumn:
            return tr("r: rank of the module (components)");
        case BitsColumn:
            return tr("b_h: bits of the high-precision components (the others get 1)");
        case BitsPerWeightColumn:
            return tr("Bits per weight, paper / true. Paper: codes only, as the paper counts. "
                      "True: every stored bit, with scales, zero points and module headers");
        case ErrorColumn:
            return tr("Relative error of the update, ‖ΔW − ΔŴ‖_F / ‖ΔW‖_F (energy-weighted for "
                      "layers and adapters)");
        case DeltaColumn:
            return tr("Error now minus the error of the snapshot pinned with Adapter > Pin "
                      "Snapshot: negative (green) is better");
        default:
            return {};
        }
    }
    return {};
}

} // namespace lq::gui
