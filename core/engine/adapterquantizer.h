#pragma once

#include "core/engine/quantresult.h"
#include "core/io/adapter.h"
#include "core/io/progress.h"

namespace lq {

struct BudgetAllocation;

// LoRAQuant over a whole adapter: per module reparameterize, choose h (settings.split, unless
// hOverride names the module), quantize, refine, measure. Modules run in parallel with OpenMP;
// the result does not depend on the number of threads. Cancelling returns a result with
// `cancelled` set and no modules.
QuantResult quantizeAdapter(const Adapter& adapter, const QuantSettings& settings,
                            const ProgressFn& progress = {});

// LoRAQuant with the per-module h and b_h of a bit-budget allocation (bitbudget.h) in place of
// settings' split rule and overrides; everything else (refinement included) from `settings`.
// Throws lq::Error when the allocation was made for another adapter (module names differ) or
// other group settings (the true bit count would not be the allocated one).
QuantResult quantizeAdapter(const Adapter& adapter, const QuantSettings& settings,
                            const BudgetAllocation& allocation, const ProgressFn& progress = {});

// What quantizeAdapter warns about in these results: scales clamped to the fp16 range, groups
// spanning two components with flattened groups.
std::vector<std::string> moduleWarnings(const std::vector<ModuleResult>& modules,
                                        const QuantSettings& settings);

// One module, for interactive use: the workbench caches the reparameterization and calls this
// after every drag of the split.
// h is clamped to [0, r]; bitsHigh must be 1..8. Throws lq::Error naming the module when the
// factors' shapes disagree with the module's, or for Refinement::Best (not available yet).
ModuleResult quantizeModule(const LoraModule& module, const ModuleFactors& original,
                            const ModuleReparam& reparam, int h, int bitsHigh,
                            const QuantSettings& settings);

// One module from its factors alone: reparameterizes, then h and the bit width as
// quantizeAdapter chooses them (split rule or override).
ModuleResult quantizeModule(const LoraModule& module, const ModuleFactors& original,
                            const QuantSettings& settings);

} // namespace lq
