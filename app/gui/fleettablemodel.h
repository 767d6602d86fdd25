#pragma once

#include <QAbstractTableModel>
#include <QLocale>
#include <QStringList>
#include <optional>

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
        // What a person scans first on the left; the long texts last.
        AdapterColumn,
        StatusColumn,
        ErrorColumn,
        BitsColumn, // paper / true
        SizeColumn, // before -> after
        ModulesColumn,
        ParametersColumn,
        BaseModelColumn,
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

    // The number column `column` of row `row` sorts by (what SortRole gives), or empty for a
    // text column. Lets a proxy compare 10,000 rows without a QVariant per comparison.
    std::optional<double> sortNumber(int row, int column) const;

    // "12.3 MB" (decimal units, as disks and the summary's byte counts are read).
    static QString bytesText(double bytes);

private:
    FleetDocument* m_document;
    // The names as shown, made once per listing: filtering and sorting by name read every row's
    // name at each keystroke or click.
    QStringList m_names;
    QLocale m_locale;
};

} // namespace lq::gui
