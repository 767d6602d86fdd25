#pragma once

#include "core/engine/quantresult.h"
#include "core/io/adapter.h"
#include "core/io/progress.h"

namespace lq {

// Whole-adapter baselines the paper compares against (and the reference files hold): quantize
// the ORIGINAL B and A, no SVD, each flattened in row-major order (as PyTorch stores them) and
// cut into groups of groupSize consecutive values. A group of B (m x r) spans groupSize / r rows
// and so mixes components; a group of A (r x n) runs along one row while n is a multiple of the
// group size. RTN with `bits` or binary (sign times mean |w|, zeros to +mean), as quantizer.h.
enum class BaselineMethod
{
    Rtn,
    Binary
};

struct BaselineSettings
{
    BaselineMethod method = BaselineMethod::Rtn;
    int bits = 2; // RTN: 1..8; ignored for Binary (1)
    int groupSize = 128;
    ScaleFormat scaleFormat = ScaleFormat::F16;
};

// "rtn2", "rtn3", ..., "binary"
std::string toString(const BaselineSettings& settings);

// One module: ModuleResult with h = 0, bitsHigh = 0, baselineB / baselineA set (B as m vectors of
// r values, A as r vectors of n values, both GroupLayout::Flattened), errors and bits. Paper
// bits are r (m + n) b; true bits add scales, zero points and the module header.
ModuleResult quantizeModuleBaseline(const LoraModule& module, const ModuleFactors& original,
                                    const BaselineSettings& settings);

// Every module, in parallel; method "rtn" or "binary", baselineBits set; settings.groupSize and
// scaleFormat of the result mirror the baseline's, layout Flattened. Cancelling as
// quantizeAdapter.
QuantResult quantizeBaseline(const Adapter& adapter, const BaselineSettings& settings,
                             const ProgressFn& progress = {});

} // namespace lq
