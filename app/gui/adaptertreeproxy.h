#pragma once

#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QStringList>
#include <vector>

namespace lq::gui {

// The adapter tree as the person arranges it: sorted by any column (AdapterTreeModel::SortRole,
// numbers as numbers) and filtered by module name or layer. Unsorted, rows keep the source's
// order (numbered layers ascending, modules in file order).
//
// The filter is a list of words that a module must all match: a word like "3", "l3" or
// "layer3" names layer 3 exactly; any other word is a case-insensitive part of the module's
// full name ("q_proj", "mlp", "layers"). Layers and adapters stay while any of their modules
// match; an empty filter shows everything.
class AdapterTreeProxy : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    explicit AdapterTreeProxy(QObject* parent = nullptr);

    void setFilterText(const QString& text);
    QString filterText() const { return m_text; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    QString m_text;
    QStringList m_nameWords;
    std::vector<int> m_layers; // every one must match: two different layers match nothing
};

} // namespace lq::gui
