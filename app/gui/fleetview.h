#pragma once

#include <QWidget>

class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace lq::widgets {
class FleetScatterPlot;
}

namespace lq::gui {

class FleetDocument;
class Job;
class FleetTableModel;

// The Fleet tab: a fleet's adapters as a sortable table filtered by name, the scatter of error
// against bits (a click on a point selects its row), the totals, and the capacity line: how many
// adapters like these fit in a memory budget, as stored and as packed. A double-click on a row
// asks for that adapter to be opened (openRequested); nothing is loaded before.
//
// Threads: UI thread only.
class FleetView : public QWidget
{
    Q_OBJECT

public:
    static constexpr double kDefaultBudgetGiB = 24;

    // `document` must outlive the view.
    explicit FleetView(FleetDocument* document, QWidget* parent = nullptr);

    FleetDocument* document() const { return m_document; }
    FleetTableModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTableView* table() const { return m_table; }
    widgets::FleetScatterPlot* scatter() const { return m_scatter; }
    QLineEdit* filter() const { return m_filter; }
    QLabel* totalsLabel() const { return m_totals; }
    QLabel* capacityLabel() const { return m_capacity; }
    QDoubleSpinBox* budget() const { return m_budget; }

    // The document row shown selected, or -1.
    int selectedRow() const;
    // Selects document row `row` in the table (clearing a filter that hides it) and scrolls to it.
    void selectRow(int row);

signals:
    // The adapter of a double-clicked row: its packed output or its input (FleetDocument).
    void openRequested(const QString& path);

private:
    void trackJob(Job* job);
    void onListed();
    void onRowsUpdated();
    void onLoadFinished();
    void updatePoints();
    void updateTotals();
    void updateCapacity();

    FleetDocument* m_document;
    FleetTableModel* m_model = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;
    QTableView* m_table = nullptr;
    widgets::FleetScatterPlot* m_scatter = nullptr;
    QLineEdit* m_filter = nullptr;
    QLabel* m_totals = nullptr;
    QLabel* m_capacity = nullptr;
    QDoubleSpinBox* m_budget = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_cancel = nullptr;
};

} // namespace lq::gui
