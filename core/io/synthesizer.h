#pragma once

#include "core/io/adapter.h"
#include "core/io/dtype.h"
#include "core/io/progress.h"

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lq {

// Synthetic PEFT adapters with the shapes of real models and spectra like those of real
// adapters, for benchmarks, tests and the bundled example. Deterministic: the same settings give
// the same bytes on every run and any thread count (the generator uses std::mt19937_64, its own
// Box-Muller transform and plain loops in a fixed order, never std::normal_distribution or BLAS
// kernels whose results depend on the implementation or the CPU). Across machines the bytes
// agree as long as libm's log, sin and cos agree, which glibc's do on x86-64.

// A Llama-style decoder: q, k, v, o projections (k and v narrower under grouped-query attention)
// and a gated MLP (gate, up: hidden -> intermediate; down: intermediate -> hidden).
struct SynthPreset
{
    std::string name;
    int layers = 0;
    int hidden = 0;
    int kvOut = 0;        // output width of k_proj and v_proj
    int intermediate = 0; // MLP width
    std::optional<std::string> baseModel;
};

// llama2-7b, llama2-13b, mistral-7b, tiny (4 layers, 256 wide: the bundled example).
const std::vector<SynthPreset>& synthPresets();
const SynthPreset* findSynthPreset(std::string_view name);

enum class SynthTargets
{
    All, // q, k, v, o, gate, up, down: every linear layer
    QV,  // q_proj and v_proj only
};

struct SynthSettings
{
    std::string preset = "tiny";
    int rank = 16;
    SynthTargets targets = SynthTargets::All;
    DType dtype = DType::F16;
    std::uint64_t seed = 1;
    // Mean of the spectra's decay exponent p (s_i / s_1 = i^-p; each module draws its own p
    // around it, clipped to [1, 4]). 2.0 is what the real adapters measured (synthesizer.cpp).
    double decay = 2.0;
};

// Adapter `index` of a varied set (synth --count): rank, targets, dtype, decay and seed drawn
// from `base.seed` and `index`, the preset kept. Deterministic; different indices differ.
// Ranks are 2, 4, 8 or 16 (at most the preset allows), targets all (two in three) or qv,
// dtypes f16, bf16 or f32, decays from 1.2 (flat spectra, hard to split) to 3.0 (steep).
SynthSettings synthVariant(const SynthSettings& base, std::uint64_t index);

// One module to generate: dW is m x n (B m x r, A r x n).
struct SynthModuleShape
{
    std::string name; // PEFT prefix, e.g. base_model.model.model.layers.0.self_attn.q_proj
    int layer = 0;
    std::string kind;
    int m = 0;
    int n = 0;
};

// The modules of a preset in file order: layer by layer, q k v o gate up down.
std::vector<SynthModuleShape> synthModuleShapes(const SynthPreset& preset, SynthTargets targets);

// One generated module. B A = U diag(singularValues) V^T with U, V random orthonormal, but B and A
// are NOT that SVD: B = U S^(1/2) M / c and A = c M^-1 S^(1/2) V^T with a random r x r M whose
// condition number is at most 4 and a balance c, so the SVD reparameterization has real work.
struct SynthModule
{
    ModuleFactors factors;
    Eigen::VectorXd singularValues; // of B A as generated in double, descending
};

// Module `index` of an adapter with the given seed (each module has its own random stream, so
// modules can be generated in any order or in parallel).
SynthModule synthesizeModule(const SynthModuleShape& shape, int rank, std::uint64_t seed,
                             std::size_t index, double decay = 2.0);

struct SynthResult
{
    int modules = 0;
    std::int64_t parameters = 0;
    std::uint64_t fileBytes = 0; // adapter_model.safetensors
    bool cancelled = false;      // nothing was written
    std::vector<std::string> warnings;
};

// Writes `folder`/adapter_model.safetensors and adapter_config.json (r, lora_alpha = 2 r,
// target_modules, peft_type LORA, base_model_name_or_path), each atomically; creates the folder.
// Throws lq::Error for an unknown preset, a rank outside [1, min(m, n)] or a failed write.
// Holds the output bytes in memory once (file size) plus one module in double per thread.
SynthResult writeSyntheticAdapter(const std::string& folder, const SynthSettings& settings,
                                  const ProgressFn& progress = {});

} // namespace lq
