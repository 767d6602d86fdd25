#pragma once

#include <QDateTime>
#include <QHash>
#include <QObject>
#include <QString>
#include <optional>
#include <vector>

namespace lq::gui {

class AdapterDocument;
class Workspace;

// A result pinned for comparison (Adapter > Pin Snapshot): what each module's error was, the
// adapter's total and its bits, so that later settings can be read as a difference from it.
struct ResultSnapshot
{
    std::vector<double> errors; // the shown error per module (AdapterDocument::shownError)
    double total = 0;           // AdapterDocument::shownTotal
    double bitsPaper = 0, bitsTrue = 0;
    QDateTime pinned;
};

// The pinned snapshot of each open document (at most one each; pinning again replaces it). A
// document's snapshot goes when the document closes.
//
// Threads: UI thread only.
class Snapshots : public QObject
{
    Q_OBJECT

public:
    explicit Snapshots(Workspace* workspace, QObject* parent = nullptr);

    // Pins the document's current result; false (nothing pinned) while it has none.
    bool pin(AdapterDocument* document);
    void unpin(AdapterDocument* document);
    // Null when none is pinned.
    const ResultSnapshot* of(const AdapterDocument* document) const;
    bool any() const { return !m_snapshots.isEmpty(); }

    // Current minus pinned, for module `module` and the total; empty without a snapshot or a
    // result.
    std::optional<double> moduleDelta(const AdapterDocument& document, int module) const;
    std::optional<double> totalDelta(const AdapterDocument& document) const;

signals:
    void changed(lq::gui::AdapterDocument* document);

private:
    QHash<const AdapterDocument*, ResultSnapshot> m_snapshots;
};

} // namespace lq::gui
