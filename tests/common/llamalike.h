#pragma once

// A synthetic llama2-7b-shaped adapter built in memory, for tests that need the real shapes
// (4096, 11008) without writing and loading the whole 224-module file.

#include "core/io/adapter.h"
#include "core/io/synthesizer.h"

#include <string>
#include <utility>
#include <vector>

namespace lqtest {

inline lq::LoraModule moduleOf(const std::string& name, const lq::ModuleFactors& f)
{
    lq::LoraModule module;
    module.name = name;
    module.m = int(f.B.rows());
    module.n = int(f.A.cols());
    module.r = int(f.B.cols());
    return module;
}

// The first `layers` layers of the synthetic llama2-7b adapter at rank 16 (or `rank`) on every
// linear layer (`loraquant synth --preset llama2-7b`), in memory: the same shapes and spectra as
// the whole adapter, 7 modules per layer instead of 224.
inline lq::Adapter llamaLike(int layers, int rank = 16)
{
    const lq::SynthPreset* preset = lq::findSynthPreset("llama2-7b");
    std::vector<lq::LoraModule> modules;
    std::vector<lq::ModuleFactors> factors;
    const std::vector<lq::SynthModuleShape> shapes =
        lq::synthModuleShapes(*preset, lq::SynthTargets::All);
    for (std::size_t i = 0; i < shapes.size() && shapes[i].layer < layers; ++i) {
        lq::SynthModule module = lq::synthesizeModule(shapes[i], rank, 1, i);
        modules.push_back(moduleOf(shapes[i].name, module.factors));
        factors.push_back(std::move(module.factors));
    }
    return lq::Adapter::fromFactors("llama2-7b-like (first layers)", std::move(modules),
                                    std::move(factors));
}

} // namespace lqtest
