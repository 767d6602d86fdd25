#include "adaptertreeproxy.h"

#include "adaptertreemodel.h"

namespace lq::gui {

AdapterTreeProxy::AdapterTreeProxy(QObject* parent) : QSortFilterProxyModel(parent)
{
    setSortRole(AdapterTreeModel::SortRole);
    // A layer or adapter row stays while one of its modules passes.
    setRecursiveFilteringEnabled(true);
    setDynamicSortFilter(true);
}

void AdapterTreeProxy::setFilterText(const QString& text)
{
    if (text == m_text)
        return;
    m_text = text;
    m_nameWords.clear();
    m_layers.clear();
    static const QRegularExpression layerWord(QStringLiteral("^(?:l|layer)?(\\d+)$"),
                                              QRegularExpression::CaseInsensitiveOption);
    for (const QString& word : text.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        const QRegularExpressionMatch match = layerWord.match(word);
        if (match.hasMatch())
            m_layers.push_back(match.captured(1).toInt());
        else
            m_nameWords << word;
    }
    invalidateRowsFilter();
}

bool AdapterTreeProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (m_nameWords.isEmpty() && m_layers.empty())
        return true;
    const QModelIndex row = sourceModel()->index(sourceRow, 0, sourceParent);
    if (row.data(AdapterTreeModel::KindRole).toInt() != int(AdapterTreeModel::Kind::Module))
        return false; // kept by the recursive filtering when a module below passes
    const int layer = row.data(AdapterTreeModel::LayerRole).toInt();
    for (int wanted : m_layers)
        if (layer != wanted)
            return false;
    const QString name = row.data(AdapterTreeModel::FullNameRole).toString();
    for (const QString& word : m_nameWords)
        if (!name.contains(word, Qt::CaseInsensitive))
            return false;
    return true;
}

bool AdapterTreeProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const
{
    const QVariant a = left.data(sortRole()), b = right.data(sortRole());
    if (a.typeId() == QMetaType::QString || b.typeId() == QMetaType::QString)
        return QString::compare(a.toString(), b.toString(), Qt::CaseInsensitive) < 0;
    return a.toDouble() < b.toDouble();
}

} // namespace lq::gui
