#include "fleetview.h"

#include "fleetdocument.h"
#include "fleetloadjob.h"
#include "fleettablemodel.h"
#include "widgets/fleetscatterplot.h"

#include <QDoubleSpinBox>
#include <QFontMetrics>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>

namespace lq::gui {

namespace {

constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;

// Filters by name with one reset instead of a removal signal per range of hidden rows: with the
// rows sorted by error, a new filter hides thousands of scattered ranges, and the table
// relaid itself out after each (about three times slower at 10,000 rows).
class NameFilterProxy : public QSortFilterProxyModel
{
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setNameFilter(const QString& text)
    {
        if (text == m_text)
            return;
        beginResetModel();
        m_text = text;
        endResetModel(); // the proxy drops its mapping on its own reset
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override
    {
        return m_text.isEmpty() || sourceModel()
                                       ->index(row, FleetTableModel::AdapterColumn, parent)
                                       .data()
                                       .toString()
                                       .contains(m_text, Qt::CaseInsensitive);
    }

    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override
    {
        const auto* model = static_cast<const FleetTableModel*>(sourceModel());
        const std::optional<double> a = model->sortNumber(left.row(), left.column());
        if (a)
            return *a < *model->sortNumber(right.row(), right.column());
        return QSortFilterProxyModel::lessThan(left, right);
    }

private:
    QString m_text;
};

} // namespace

FleetView::FleetView(FleetDocument* document, QWidget* parent)
    : QWidget(parent), m_document(document)
{
    setObjectName(QStringLiteral("fleetView"));
    m_model = new FleetTableModel(document, this);
    auto* proxy = new NameFilterProxy(this);
    m_proxy = proxy;
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(FleetTableModel::SortRole);

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("fleetFilter"));
    m_filter->setPlaceholderText(tr("Filter by adapter name"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, this, [this, proxy](const QString& text) {
        const int selected = selectedRow();
        proxy->setNameFilter(text);
        // The reset cleared the selection; the row stays selected while it is shown.
        const QModelIndex shown = m_proxy->mapFromSource(m_model->index(selected, 0));
        if (selected >= 0 && shown.isValid())
            m_table->selectionModel()->setCurrentIndex(shown, QItemSelectionModel::ClearAndSelect |
                                                                  QItemSelectionModel::Rows);
    });
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("fleetProgress"));
    m_progress->setFormat(tr("%v / %m adapters read"));
    m_progress->setMaximumWidth(260);
    m_progress->hide();
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("fleetCancel"));
    m_cancel->hide();
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (FleetLoadJob* job = m_document->job())
            job->cancel();
    });
    auto* top = new QHBoxLayout;
    top->addWidget(m_filter, 1);
    top->addWidget(m_progress);
    top->addWidget(m_cancel);

    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("fleetTable"));
    m_table->setModel(m_proxy);
    // The summary's order until a header is clicked.
    m_table->horizontalHeader()->setSortIndicatorClearable(true);
    m_table->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    m_table->setSortingEnabled(true);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setWordWrap(false);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    // Fixed row heights and column widths: measuring every cell (ResizeToContents) would read
    // all 10,000 rows at each change.
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(QFontMetrics(font()).height() + 6);
    QHeaderView* header = m_table->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(true);
    {
        const QFontMetrics metrics(font());
        QString widest[FleetTableModel::ColumnCount];
        widest[FleetTableModel::AdapterColumn] = QStringLiteral("customer-0000/task-00");
        widest[FleetTableModel::StatusColumn] = QStringLiteral("not quantized");
        widest[FleetTableModel::ErrorColumn] = QStringLiteral("0.0000");
        widest[FleetTableModel::BitsColumn] = QStringLiteral("8.88 / 8.88");
        widest[FleetTableModel::SizeColumn] = QStringLiteral("888.8 MB → 88.8 MB");
        widest[FleetTableModel::ModulesColumn] = QStringLiteral("888");
        widest[FleetTableModel::ParametersColumn] = QStringLiteral("88,888,888");
        widest[FleetTableModel::BaseModelColumn] = QStringLiteral("meta-llama/Llama-2-7b-hf");
        constexpr int kPadding = 16;
        for (int column = 0; column + 1 < FleetTableModel::ColumnCount; ++column)
            header->resizeSection(
                column, std::max(metrics.horizontalAdvance(widest[column]),
                                 metrics.horizontalAdvance(
                                     m_model->headerData(column, Qt::Horizontal).toString())) +
                            kPadding);
    }
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        const QString path = m_document->openPathFor(m_proxy->mapToSource(index).row());
        if (!path.isEmpty())
            emit openRequested(path);
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this] { m_scatter->setHighlighted(selectedRow()); });

    m_scatter = new widgets::FleetScatterPlot(this);
    m_scatter->setObjectName(QStringLiteral("fleetScatter"));
    connect(m_scatter, &widgets::FleetScatterPlot::pointClicked, this, &FleetView::selectRow);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(m_table);
    splitter->addWidget(m_scatter);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    // The table's columns would otherwise claim nearly all the width at the first layout.
    splitter->setSizes({3000, 2000});

    m_totals = new QLabel(this);
    m_totals->setObjectName(QStringLiteral("fleetTotals"));
    m_totals->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_budget = new QDoubleSpinBox(this);
    m_budget->setObjectName(QStringLiteral("fleetBudget"));
    m_budget->setRange(0.1, 1e6);
    m_budget->setDecimals(1);
    m_budget->setSuffix(tr(" GiB"));
    m_budget->setValue(kDefaultBudgetGiB);
    m_budget->setToolTip(tr("Memory set aside for adapters (GPU or host), in GiB (2^30 bytes)"));
    connect(m_budget, &QDoubleSpinBox::valueChanged, this, &FleetView::updateCapacity);
    m_capacity = new QLabel(this);
    m_capacity->setObjectName(QStringLiteral("fleetCapacity"));
    auto* capacityRow = new QHBoxLayout;
    capacityRow->addWidget(new QLabel(tr("Memory budget:"), this));
    capacityRow->addWidget(m_budget);
    capacityRow->addWidget(m_capacity, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(splitter, 1);
    layout->addWidget(m_totals);
    layout->addLayout(capacityRow);

    connect(document, &FleetDocument::listed, this, &FleetView::onListed);
    connect(document, &FleetDocument::rowsUpdated, this, &FleetView::onRowsUpdated);
    connect(document, &FleetDocument::loadFinished, this, &FleetView::onLoadFinished);
    connect(document, &FleetDocument::loadStarted, this, &FleetView::trackJob);
    if (document->isLoading()) // started before the view was made
        trackJob(document->job());
    onListed();
}

void FleetView::trackJob(Job* job)
{
    m_progress->setRange(0, 0); // busy until the adapters are listed
    m_progress->show();
    m_cancel->show();
    connect(job, &Job::progressed, m_progress, [this](int done, int total) {
        m_progress->setRange(0, total);
        m_progress->setValue(done);
    });
}

int FleetView::selectedRow() const
{
    const QModelIndex current = m_table->selectionModel()->currentIndex();
    return current.isValid() ? m_proxy->mapToSource(current).row() : -1;
}

void FleetView::selectRow(int row)
{
    if (row < 0 || row >= m_model->rowCount())
        return;
    QModelIndex shown = m_proxy->mapFromSource(m_model->index(row, 0));
    if (!shown.isValid()) { // filtered out: the person asked for this one
        m_filter->clear();
        shown = m_proxy->mapFromSource(m_model->index(row, 0));
    }
    m_table->selectionModel()->setCurrentIndex(shown, QItemSelectionModel::ClearAndSelect |
                                                          QItemSelectionModel::Rows);
    m_table->scrollTo(shown);
}

void FleetView::onListed()
{
    updatePoints();
    updateTotals();
}

void FleetView::onRowsUpdated()
{
    // Only a batch's rows have points, and they come listed; a folder's rows fill in 256 at a
    // time and are never quantized here.
    if (m_document->kind() == FleetDocument::Kind::BatchResults)
        updatePoints();
    updateTotals();
}

void FleetView::onLoadFinished()
{
    m_progress->hide();
    m_cancel->hide();
    updateTotals();
}

void FleetView::updatePoints()
{
    std::vector<widgets::FleetScatterPlot::Point> points;
    int notShown = 0;
    const std::vector<FleetEntry>& entries = m_document->entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const FleetEntry& entry = entries[i];
        if (entry.quantized) {
            const lq::BatchRecord& record = entry.record;
            points.push_back(
                {record.bitsTrue, record.relError, int(i),
                 QString::fromStdString(record.relative.empty() ? record.input : record.relative)});
        } else if (!entry.pending && entry.record.status == lq::BatchStatus::Failed) {
            ++notShown;
        }
    }
    m_scatter->setPoints(std::move(points), notShown, tr("average bits per weight (true count)"));
}

void FleetView::updateTotals()
{
    const FleetTotals& t = m_document->totals();
    const QLocale locale;
    QString text;
    if (m_document->kind() == FleetDocument::Kind::BatchResults) {
        text = tr("%1 adapters: %2 ok, %3 failed, %4 skipped")
                   .arg(locale.toString(t.count), locale.toString(t.ok), locale.toString(t.failed),
                        locale.toString(t.skipped));
        if (t.quantized > 0)
            text += tr(" · %1 → %2 (%3×) · error mean %4, p50 %5, p95 %6")
                        .arg(FleetTableModel::bytesText(double(t.bytesBefore)),
                             FleetTableModel::bytesText(double(t.bytesAfter)))
                        .arg(t.bytesAfter > 0 ? double(t.bytesBefore) / double(t.bytesAfter) : 0.0,
                             0, 'f', 2)
                        .arg(t.errorMean, 0, 'f', 4)
                        .arg(t.errorP50, 0, 'f', 4)
                        .arg(t.errorP95, 0, 'f', 4);
    } else {
        text = tr("%1 adapters: %2 read, %3 failed")
                   .arg(locale.toString(t.count), locale.toString(t.ok), locale.toString(t.failed));
        if (t.pending > 0)
            text += tr(", %1 still to read").arg(locale.toString(t.pending));
        text += tr(" · %1 as stored · not quantized: `loraquant batch` on this folder gives "
                   "bits and errors")
                    .arg(FleetTableModel::bytesText(t.meanStoredBytes * t.measured));
    }
    m_totals->setText(text);
    updateCapacity();
}

void FleetView::updateCapacity()
{
    const FleetCapacity capacity =
        fleetCapacity(m_document->totals(), m_budget->value() * kBytesPerGiB);
    const QLocale locale;
    const QString stored =
        capacity.stored ? locale.toString(qlonglong(*capacity.stored)) : QStringLiteral("–");
    const QString packed =
        capacity.packed ? locale.toString(qlonglong(*capacity.packed)) : tr("– (not quantized)");
    m_capacity->setText(
        tr("adapters that fit: %1 as stored, %2 as packed (at the mean size of these)")
            .arg(stored, packed));
}

} // namespace lq::gui
