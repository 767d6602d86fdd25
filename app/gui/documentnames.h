#pragma once

#include <QList>
#include <QString>

namespace lq::gui {

class AdapterDocument;

// The document's name as the tree and the title show it beside `open`: its displayName(), or,
// while another open document has the same one (two copies of one adapter), that name preceded
// by as many parent folders as tell them apart ("run2/qwen2.5-3b-qv-r4-f32").
QString distinctName(const AdapterDocument* document, const QList<AdapterDocument*>& open);

} // namespace lq::gui
