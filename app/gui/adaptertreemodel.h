#pragma once

#include <QAbstractItemModel>
#include <vector>

namespace lq::gui {

class AdapterDocument;
class Snapshots;
class Workspace;

// The open adapters as a tree, adapter > layer > module, with columns for shape, rank, h, the
// high part's bits, bits per weight (paper / true) and the relative error; rows are tinted by
// their error (layers and adapters by their energy-weighted error). Values from a result that is
// being recomputed or is out of date are shown grey.
class AdapterTreeModel : public QAbstractItemModel
{
    Q_OBJECT

public:
    enum Column
    {
        NameColumn,
        ShapeColumn,
        RankColumn,
        HColumn,
        BitsColumn,
        BitsPerWeightColumn,
        ErrorColumn,
        DeltaColumn, // error now minus the pinned snapshot's (resultsnapshot.h)
        ColumnCount
    };
    enum class Kind
    {
        Adapter,
        Layer,
        Module
    };
    // Data roles besides Qt's: what a row is, and (for module rows) the module index.
    static constexpr int KindRole = Qt::UserRole + 1;
    static constexpr int ModuleRole = Qt::UserRole + 2;
    // What a column sorts by: numbers where the text holds one (a layer's number, not its name
    // as text, so that layer 2 comes before layer 10), module rows by their name.
    static constexpr int SortRole = Qt::UserRole + 3;
    // Module rows: the full tensor-name prefix and the layer number (-1: none), for filtering.
    static constexpr int FullNameRole = Qt::UserRole + 4;
    static constexpr int LayerRole = Qt::UserRole + 5;

    explicit AdapterTreeModel(Workspace* workspace, QObject* parent = nullptr);

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    AdapterDocument* documentOf(const QModelIndex& index) const;
    // -1 unless `index` is a module row.
    int moduleOf(const QModelIndex& index) const;
    QModelIndex indexOf(AdapterDocument* document, int module, int column = 0) const;
    QModelIndex indexOf(AdapterDocument* document) const;

    // Where DeltaColumn takes the pinned snapshots from; none: the column stays empty.
    void setSnapshots(Snapshots* snapshots);

    // Background tint for a relative error: green (0) through yellow (0.5) to red (>= 1).
    static QColor errorColor(double relativeError);

private:
    struct Layer
    {
        int layer = -1; // -1: modules outside any numbered layer
        std::vector<int> modules;
    };
    struct Entry
    {
        AdapterDocument* document = nullptr;
        quint32 serial = 0; // stable id in internalId(), unlike the row
        std::vector<Layer> layers;
        std::vector<std::pair<int, int>> rowOfModule; // module -> (layer row, row)
    };

    void addDocument(AdapterDocument* document);
    void removeDocument(AdapterDocument* document);
    int entryOf(const AdapterDocument* document) const;
    int entryOfSerial(quint32 serial) const;
    void refreshDocument(AdapterDocument* document);
    void refreshModule(AdapterDocument* document, int module);

    Workspace* m_workspace;
    Snapshots* m_snapshots = nullptr;
    std::vector<Entry> m_entries;
    quint32 m_nextSerial = 1;
};

} // namespace lq::gui
