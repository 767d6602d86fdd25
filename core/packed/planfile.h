#pragma once

#include "core/engine/quantplan.h"
#include "core/packed/packedformat.h"

#include <string>

namespace lq {

// The plan of a packed adapter: the settings it was quantized with and its modules' h and widths.
QuantPlan planOf(const PackedAdapter& packed, const std::string& file);

// The plan stored in `path`, by its extension: a packed adapter (.lqa.h5) or a JSON report
// (.json). Throws lq::Error(path, problem) for another extension or a file that is not one.
QuantPlan readQuantPlan(const std::string& path);

} // namespace lq
