#pragma once

// Adapters made in memory for the packed tests: random factors of given shapes, quantized by the
// engine and packed. Deterministic for a given seed.

#include "core/engine/adapterquantizer.h"
#include "core/io/adapter.h"
#include "core/packed/packedformat.h"

#include <Eigen/Core>
#include <random>
#include <string>
#include <vector>

namespace packedtest {

struct Shape
{
    int m = 0;
    int n = 0;
    int r = 0;
};

// Factors with entries N(0, 1) / sqrt(n) (A) and N(0, 1) * 0.02 (B), like trained adapters' scale;
// column c of B and row c of A shrink as 1 / (1 + c) so that the spectrum decays and the split
// rules choose h between 1 and r.
inline lq::Adapter randomAdapter(const std::vector<Shape>& shapes, std::uint64_t seed,
                                 double loraScale = 2.0)
{
    std::mt19937_64 engine(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<lq::LoraModule> modules;
    std::vector<lq::ModuleFactors> factors;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        const Shape& s = shapes[i];
        lq::LoraModule module;
        module.name = "base_model.model.layers." + std::to_string(i) + ".proj";
        module.scale = loraScale;
        lq::ModuleFactors f;
        f.B.resize(s.m, s.r);
        f.A.resize(s.r, s.n);
        for (int c = 0; c < s.r; ++c) {
            const float decay = 1.0f / float(1 + c);
            for (int row = 0; row < s.m; ++row)
                f.B(row, c) = 0.02f * decay * normal(engine);
            for (int col = 0; col < s.n; ++col)
                f.A(c, col) = decay * normal(engine) / std::sqrt(float(s.n));
        }
        modules.push_back(module);
        factors.push_back(std::move(f));
    }
    return lq::Adapter::fromFactors("random adapter (seed " + std::to_string(seed) + ")",
                                    std::move(modules), std::move(factors));
}

inline lq::QuantSettings settingsFor(int bitsHigh, int groupSize, lq::GroupLayout layout,
                                     lq::ScaleFormat scales, double rho = 0.8)
{
    lq::QuantSettings settings;
    settings.rho = rho;
    settings.bitsHigh = bitsHigh;
    settings.groupSize = groupSize;
    settings.layout = layout;
    settings.scaleFormat = scales;
    return settings;
}

} // namespace packedtest
