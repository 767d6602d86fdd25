#pragma once

#include "core/engine/quantplan.h"

#include <QMap>
#include <QString>
#include <QStringList>
#include <vector>

namespace lq::gui {

class AdapterDocument;

// A saved workspace (File > Save Session): the open adapters, each with its settings and every
// module's h and high-part width, which document was current and what the window showed.
//
// The file is JSON:
//   { "format": "loraquant-workbench-session", "version": 1,
//     "current": 0, "view": "spectrum" | "error" | "learn",
//     "error_grouping": "modules" | "layers" | "kinds", "module": "<name of the current module>",
//     "adapters": [ { "path": "...",
//                     "plan": { <a JSON report's settings and modules, as quantplan.h reads
//                               them: the same format as Export Report> },
//                     "h_by_hand": ["<module name>", ...],
//                     "bits_by_hand": ["<module name>", ...],
//                     "refine_by_hand": {"<module name>": "none" | "paper" | "best"} } ] }
// The plan fixes each module's h and width; the *_by_hand lists say which of them were the
// person's own choice (the others follow the adapter's rule, and keep following it).
struct SessionAdapter
{
    QString path;
    lq::QuantPlan plan;
    QStringList hByHand, bitsByHand;
    // Modules refined unlike the adapter: name -> "none" | "paper" | "best".
    QMap<QString, QString> refineByHand;

    // The document's settings and choices now.
    static SessionAdapter of(const AdapterDocument& document);
    // The settings to give the reopened adapter: the plan's, with the by-hand choices as
    // overrides. Throws lq::Error(session file, ...) when the plan does not fit `adapter`.
    lq::QuantSettings settingsFor(const lq::Adapter& adapter) const;
};

struct Session
{
    std::vector<SessionAdapter> adapters;
    int current = -1;
    QString view = QStringLiteral("spectrum");
    QString errorGrouping = QStringLiteral("modules");
    QString module; // the current module's name; empty: none

    QByteArray toJson() const;
    // Throws lq::Error(file, problem) for anything that is not such a session.
    static Session fromJson(const QByteArray& json, const QString& file);

    // Written atomically (a temporary file renamed over `path`); lq::Error on failure.
    void write(const QString& path) const;
    static Session read(const QString& path);
};

} // namespace lq::gui
