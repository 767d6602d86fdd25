#pragma once

#include <QAbstractTableModel>

namespace lq::gui {

class FleetDocument;

// The rows of a fleet, one per adapter, for a QTableView behind a QSortFilterProxyModel.
// DisplayRole is the text a person reads; SortRole the number (or text) to sort by, so that
// sizes and errors sort as numbers, not as text. Failed rows are drawn in a warning colour with
// their message in its own column and in the tool tip.
class FleetTableModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column
    {
        AdapterColumn,
        BaseModelColumn,
        ModulesColumn,
        ParametersColumn,
        SizeColumn, // before -> after
        BitsColumn, // paper / true
        ErrorColumn,
        StatusColumn,
        MessageColumn,
        ColumnCount
    };
    static constexpr int SortRole = Qt::UserRole + 1;

    // `document` must outlive the model.
    explicit FleetTableModel(FleetDocument* document, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // "12.3 MB" (decimal units, as disks and the summary's byte counts are read).
    static QString bytesText(double bytes);

private:
    FleetDocument* m_document;
};

} // namespace lq::gui
