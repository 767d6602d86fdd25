#pragma once

#include "core/engine/quantresult.h"
#include "core/io/adapter.h"

#include <string>

namespace lq {

// Writes the dequantized adapter of `result` as a PEFT folder: `source`'s tensors, config and
// metadata, with each module's B and A replaced by its B_hat and A_hat in the module's stored
// dtype (writePeftAdapter). Modules are decoded one at a time as the file is written, so an
// export needs about one module's floats, not the whole adapter's. `result` must be a
// quantization of `source` (the same modules in the same order), else lq::Error.
void writeDequantizedAdapter(const std::string& folder, const Adapter& source,
                             const QuantResult& result);

} // namespace lq
