#include "resultsnapshot.h"

#include "adapterdocument.h"
#include "workspace.h"

namespace lq::gui {

Snapshots::Snapshots(Workspace* workspace, QObject* parent) : QObject(parent)
{
    connect(workspace, &Workspace::documentAboutToClose, this, [this](AdapterDocument* document) {
        if (m_snapshots.remove(document))
            emit changed(document);
    });
}

bool Snapshots::pin(AdapterDocument* document)
{
    if (!document || !document->hasResult())
        return false;
    ResultSnapshot snapshot;
    for (int i = 0; i < document->moduleCount(); ++i)
        snapshot.errors.push_back(document->shownError(i));
    snapshot.total = document->shownTotal();
    snapshot.bitsPaper = document->result().avgBitsPaper;
    snapshot.bitsTrue = document->result().avgBitsTrue;
    snapshot.pinned = QDateTime::currentDateTime();
    m_snapshots.insert(document, std::move(snapshot));
    emit changed(document);
    return true;
}

void Snapshots::unpin(AdapterDocument* document)
{
    if (m_snapshots.remove(document))
        emit changed(document);
}

const ResultSnapshot* Snapshots::of(const AdapterDocument* document) const
{
    const auto found = m_snapshots.constFind(document);
    return found == m_snapshots.constEnd() ? nullptr : &*found;
}

std::optional<double> Snapshots::moduleDelta(const AdapterDocument& document, int module) const
{
    const ResultSnapshot* snapshot = of(&document);
    if (!snapshot || !document.moduleResult(module) || module < 0 ||
        std::size_t(module) >= snapshot->errors.size())
        return std::nullopt;
    return document.shownError(module) - snapshot->errors[std::size_t(module)];
}

std::optional<double> Snapshots::totalDelta(const AdapterDocument& document) const
{
    const ResultSnapshot* snapshot = of(&document);
    if (!snapshot || !document.hasResult())
        return std::nullopt;
    return document.shownTotal() - snapshot->total;
}

} // namespace lq::gui
