#include "core/engine/adapterquantizer.h"

#include "core/engine/bitbudget.h"
#include "core/engine/bitcount.h"
#include "core/engine/componentorder.h"
#include "core/engine/elapsed.h"
#include "core/engine/finiteresults.h"
#include "core/engine/parallelmodules.h"
#include "core/engine/refinement.h"
#include "core/engine/reparameterize.h"
#include "core/engine/splitrule.h"
#include "core/engine/updateerror.h"
#include "core/io/error.h"

#include <chrono>
#include <set>

namespace lq {
namespace {

void checkShapes(const LoraModule& module, const ModuleFactors& original,
                 const ModuleReparam& reparam)
{
    const auto m = Eigen::Index(module.m), n = Eigen::Index(module.n), r = Eigen::Index(module.r);
    if (!original.fits(module) || reparam.Bp.rows() != m || reparam.Bp.cols() != r ||
        reparam.Ap.rows() != r || reparam.Ap.cols() != n || reparam.singularValues.size() != r)
        throw Error(module.name, "the factors' shapes differ from the module's (m " +
                                     std::to_string(m) + ", n " + std::to_string(n) + ", r " +
                                     std::to_string(r) + ")");
}

} // namespace

ModuleResult quantizeModule(const LoraModule& module, const ModuleFactors& original,
                            const ModuleReparam& reparam, int h, int bitsHigh,
                            const QuantSettings& settings)
{
    checkShapes(module, original, reparam);
    requireFiniteSpectrum(reparam.singularValues, {}, module.name);
    if (bitsHigh < 1 || bitsHigh > 8)
        throw Error(module.name,
                    "the high part's bit width must be 1 to 8, got " + std::to_string(bitsHigh));
    h = std::clamp(h, 0, module.r);

    const SplitFactors split = SplitFactors::fromReparam(reparam, h);
    const Refinement refine = chooseRefinement(settings, module.name);
    QuantizedParts parts;
    if (refine == settings.refine) {
        parts = quantizeParts(split, bitsHigh, settings);
    } else { // a module refined unlike the rest (copies the settings for this module only)
        QuantSettings own = settings;
        own.refine = refine;
        parts = quantizeParts(split, bitsHigh, own);
    }

    ModuleResult result;
    result.name = module.name;
    result.m = module.m;
    result.n = module.n;
    result.r = module.r;
    result.h = h;
    result.bitsHigh = bitsHigh;

    result.bitsPaper = parts.bHigh.paperBits() + parts.aHigh.paperBits() + parts.bLow.paperBits() +
                       parts.aLow.paperBits();
    result.bitsTrue = parts.bHigh.trueBits() + parts.aHigh.trueBits() + parts.bLow.trueBits() +
                      parts.aLow.trueBits() + kModuleHeaderBits;
    result.bHigh = std::move(parts.bHigh);
    result.aHigh = std::move(parts.aHigh);
    result.bLow = std::move(parts.bLow);
    result.aLow = std::move(parts.aLow);

    const UpdateError error =
        updateError(original.B, original.A, result.dequantizedB(), result.dequantizedA());
    requireFiniteError(error, {}, module.name);
    result.normSq = error.normSq;
    result.errSq = error.errSq;
    result.relErr = error.relative();
    return result;
}

ModuleResult quantizeModule(const LoraModule& module, const ModuleFactors& original,
                            const QuantSettings& settings)
{
    requireComputableFactors(original.B, original.A, {}, module.name);
    ModuleReparam reparam = reparameterize(original.B, original.A);
    requireFiniteSpectrum(reparam.singularValues, {}, module.name); // before h is chosen from it
    const int h = chooseH(reparam.singularValues, settings, module.name);
    if (settings.order != ComponentOrder::Svd) // h from the spectrum, components from B and A
        reparam = orderedComponents(original.B, original.A, reparam.singularValues, settings.order,
                                    settings.orderSeed, module.name);
    return quantizeModule(module, original, reparam, h, chooseBitsHigh(settings, module.name),
                          settings);
}

std::vector<std::string> moduleWarnings(const std::vector<ModuleResult>& modules,
                                        const QuantSettings& settings)
{
    std::vector<std::string> warnings;
    int mixing = 0;
    for (const ModuleResult& module : modules) {
        const int clamped = module.bHigh.clampedScales + module.aHigh.clampedScales +
                            module.bLow.clampedScales + module.aLow.clampedScales;
        if (clamped)
            warnings.push_back(module.name + ": " + std::to_string(clamped) +
                               " group scales exceed the fp16 range and were clamped to 65504; "
                               "use f32 scales");
        if (settings.layout == GroupLayout::Flattened &&
            (module.m % settings.groupSize || module.n % settings.groupSize))
            ++mixing;
    }
    if (mixing)
        warnings.push_back(std::to_string(mixing) +
                           " modules have m or n not a multiple of the group size " +
                           std::to_string(settings.groupSize) +
                           ": with flattened groups some groups span two components");
    return warnings;
}

QuantResult quantizeAdapter(const Adapter& adapter, const QuantSettings& settings,
                            const ProgressFn& progress)
{
    settings.validate();
    const auto start = std::chrono::steady_clock::now();

    QuantResult result;
    result.settings = settings;
    result.method = "loraquant";
    result.adapter = adapter.path();
    const std::vector<LoraModule>& modules = adapter.modules();

    std::set<std::string> names;
    for (const LoraModule& module : modules)
        names.insert(module.name);
    for (const auto* overrides : {&settings.hOverride, &settings.bitsHighOverride})
        for (const auto& entry : *overrides)
            if (!names.count(entry.first))
                result.warnings.push_back("override for " + entry.first +
                                          " ignored: the adapter has no such module");

    std::vector<ModuleResult> out(modules.size());
    const bool finished = runModulesInParallel(
        modules.size(),
        [&](std::size_t i) { out[i] = quantizeModule(modules[i], adapter.factors(i), settings); },
        progress);
    if (!finished) {
        result.cancelled = true;
        result.seconds = secondsSince(start);
        return result;
    }
    result.modules = std::move(out);
    for (std::string& warning : moduleWarnings(result.modules, settings))
        result.warnings.push_back(std::move(warning));
    result.updateTotals();
    result.seconds = secondsSince(start);
    return result;
}

QuantResult quantizeAdapter(const Adapter& adapter, const QuantSettings& settings,
                            const BudgetAllocation& allocation, const ProgressFn& progress)
{
    const std::vector<LoraModule>& modules = adapter.modules();
    bool same = modules.size() == allocation.names.size();
    for (std::size_t i = 0; same && i < modules.size(); ++i)
        same = modules[i].name == allocation.names[i];
    if (!same)
        throw Error(adapter.path(), "the bit-budget allocation was made for another adapter (its "
                                    "modules differ from this one's)");
    QuantSettings allocated = settings;
    allocation.applyTo(allocated);
    return quantizeAdapter(adapter, allocated, progress);
}

} // namespace lq
