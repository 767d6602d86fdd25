#include "fleettablemodel.h"

#include "fleetdocument.h"

#include <QBrush>
#include <QColor>
#include <QLocale>
#include <limits>

namespace lq::gui {

namespace {

// Failed rows: dark red text on a faint red, readable in light and dark palettes alike.
QColor failedText()
{
    return QColor(0xb0, 0x1e, 0x1e);
}
QColor failedBackground()
{
    return QColor(0xfb, 0xe4, 0xe4);
}

QString statusText(const FleetEntry& entry)
{
    if (entry.pending)
        return FleetTableModel::tr("reading…");
    switch (entry.record.status) {
    case lq::BatchStatus::Ok:
        return entry.quantized ? FleetTableModel::tr("ok") : FleetTableModel::tr("not quantized");
    case lq::BatchStatus::Failed:
        return FleetTableModel::tr("failed");
    case lq::BatchStatus::Skipped:
        return FleetTableModel::tr("skipped");
    }
    return QString();
}

// Whether the row has figures read from the adapter (modules, parameters, size as stored).
bool measured(const FleetEntry& entry)
{
    return !entry.pending && entry.record.status != lq::BatchStatus::Failed;
}

} // namespace

FleetTableModel::FleetTableModel(FleetDocument* document, QObject* parent)
    : QAbstractTableModel(parent), m_document(document)
{
    connect(document, &FleetDocument::listed, this, [this] {
        beginResetModel();
        m_names.clear();
        m_names.reserve(qsizetype(m_document->entries().size()));
        for (const FleetEntry& entry : m_document->entries())
            m_names.append(QString::fromStdString(
                entry.record.relative.empty() ? entry.record.input : entry.record.relative));
        endResetModel();
    });
    connect(document, &FleetDocument::rowsUpdated, this, [this](int first, int last) {
        emit dataChanged(index(first, 0), index(last, ColumnCount - 1));
    });
}

QString FleetTableModel::bytesText(double bytes)
{
    return QLocale().formattedDataSize(qint64(bytes), 1, QLocale::DataSizeSIFormat);
}

int FleetTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_names.size());
}

int FleetTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant FleetTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const FleetEntry& entry = m_document->entries()[std::size_t(index.row())];
    const lq::BatchRecord& record = entry.record;
    const bool failed = !entry.pending && record.status == lq::BatchStatus::Failed;
    const bool has = measured(entry);
    const QLocale& locale = m_locale;

    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case AdapterColumn:
            return QString::fromStdString(record.relative.empty() ? record.input : record.relative);
        case BaseModelColumn:
            return QString::fromStdString(record.baseModel);
        case ModulesColumn:
            return has ? locale.toString(qlonglong(record.modules)) : QString();
        case ParametersColumn:
            return has ? locale.toString(qlonglong(record.loraParameters)) : QString();
        case SizeColumn:
            if (!has)
                return QString();
            return entry.quantized ? tr("%1 → %2").arg(bytesText(double(record.bytesBefore)),
                                                       bytesText(double(record.bytesAfter)))
                                   : bytesText(double(record.bytesBefore));
        case BitsColumn:
            return entry.quantized ? QStringLiteral("%1 / %2")
                                         .arg(record.bitsPaper, 0, 'f', 2)
                                         .arg(record.bitsTrue, 0, 'f', 2)
                                   : QString();
        case ErrorColumn:
            return entry.quantized ? QString::number(record.relError, 'f', 4) : QString();
        case StatusColumn:
            return statusText(entry);
        case MessageColumn:
            return QString::fromStdString(record.error);
        }
        return {};
    }
    if (role == SortRole) {
        if (const std::optional<double> number = sortNumber(index.row(), index.column()))
            return *number;
        return data(index, Qt::DisplayRole);
    }
    if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
        case ModulesColumn:
        case ParametersColumn:
        case SizeColumn:
        case BitsColumn:
        case ErrorColumn:
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
        }
    }
    if (role == Qt::ForegroundRole && failed)
        return QBrush(failedText());
    if (role == Qt::BackgroundRole && failed)
        return QBrush(failedBackground());
    if (role == Qt::ToolTipRole) {
        QString tip = QString::fromStdString(record.input);
        if (failed)
            tip += QLatin1Char('\n') + QString::fromStdString(record.error);
        return tip;
    }
    return {};
}

std::optional<double> FleetTableModel::sortNumber(int row, int column) const
{
    const FleetEntry& entry = m_document->entries()[std::size_t(row)];
    const lq::BatchRecord& record = entry.record;
    const bool has = measured(entry);
    switch (column) {
    case ModulesColumn:
        return has ? double(record.modules) : -1.0;
    case ParametersColumn:
        return has ? double(record.loraParameters) : -1.0;
    case SizeColumn:
        return has ? double(record.bytesBefore) : -1.0;
    case BitsColumn:
        return entry.quantized ? record.bitsPaper : -1.0;
    case ErrorColumn:
        // Failed rows have no error: they sort after every real one, ascending.
        return entry.quantized ? record.relError : std::numeric_limits<double>::infinity();
    default:
        return std::nullopt;
    }
}

QVariant FleetTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case AdapterColumn:
        return tr("Adapter");
    case BaseModelColumn:
        return tr("Base model");
    case ModulesColumn:
        return tr("Modules");
    case ParametersColumn:
        return tr("Parameters");
    case SizeColumn:
        return tr("Size before → after");
    case BitsColumn:
        return tr("Bits paper / true");
    case ErrorColumn:
        return tr("Error");
    case StatusColumn:
        return tr("Status");
    case MessageColumn:
        return tr("Message");
    }
    return {};
}

} // namespace lq::gui
