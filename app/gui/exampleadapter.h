#pragma once

#include <QString>

namespace lq::gui {

// The bundled example adapter (resources/example-adapter, a synthetic tiny Llama-style adapter):
// installed beside the binary under ../share/loraquant-workbench/example-adapter, or in the source
// tree for a build that was not installed. Empty when neither exists.
QString exampleAdapterPath();

} // namespace lq::gui
