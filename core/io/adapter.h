#pragma once

#include "core/io/adapterconfig.h"
#include "core/io/safetensors.h"

#include <Eigen/Core>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lq {

// One LoRA module: dW = scale * B A with B (m x r) and A (r x n), as PEFT stores them
// (`<name>.lora_A.weight` [r, n], `<name>.lora_B.weight` [m, r]).
struct LoraModule
{
    std::string name; // tensor-name prefix before `.lora_A`
    std::string keyA; // full tensor names, either spelling (`.lora_A.weight`,
    std::string keyB; // `.lora_A.default.weight`)
    int layer = -1;   // layer index parsed from the name, -1 when there is none
    std::string kind; // last name component: q_proj, v_proj, query_key_value, ...
    int m = 0;
    int n = 0;
    int r = 0;
    DType dtype = DType::F32;    // stored type of the factors (of B when A and B differ)
    std::optional<double> scale; // s in dW = s B A; empty when the config does not say

    std::int64_t parameterCount() const { return std::int64_t(r) * (m + n); }
};

// The layer index in a module name: the first dotted component that is a number
// (`...layers.12.self_attn...` -> 12); -1 when there is none.
int layerIndexOf(const std::string& name);

// The positions 0 .. layers.size() - 1 in the order listings show modules: by layer, those
// without one (-1) last, file order within a layer. PEFT saves names sorted as text, so the
// file's own order reads layers 0, 1, 10, 11, ..., 19, 2, 20, ...
std::vector<int> layerOrder(const std::vector<int>& layers);
// layerOrder of the modules' LoraModule::layer.
std::vector<int> modulesByLayer(const std::vector<LoraModule>& modules);

// B and A of one module as float32 matrices, B m x r and A r x n.
struct ModuleFactors
{
    Eigen::MatrixXf B;
    Eigen::MatrixXf A;

    // Whether B is m x r and A r x n for `module`.
    bool fits(const LoraModule& module) const
    {
        return B.rows() == module.m && B.cols() == module.r && A.rows() == module.r &&
               A.cols() == module.n;
    }
};

// The factors of module `index` of an adapter, made when asked for.
using FactorSource = std::function<ModuleFactors(std::size_t index)>;

// Row-major bytes of `matrix` in `type`, as safetensors stores a tensor: the one conversion of
// computed factors (dequantized, replaced) into an exported file, so it never makes Inf or NaN.
// When a finite value would round to Inf in `type` (65520 and above in F16, about 3.39e38 in
// BF16) it throws lq::Error(file, ...) naming `tensor` and saying to export as float32 (unpack
// --dtype f32), which holds every value the engine computes. Refused rather than widened to
// float32 for that tensor, so that an export has exactly the dtypes asked for or fails before
// its file appears. A value that is already Inf or NaN is refused the same way.
std::vector<std::byte> toStoredBytes(const Eigen::MatrixXf& matrix, DType type,
                                     const std::string& file, const std::string& tensor);

// A PEFT adapter: adapter_model.safetensors (read once, converted per module on demand so that
// loading a large adapter does not hold a float32 copy of it) plus adapter_config.json.
//
// Threads: an Adapter is immutable after load(); factors() and every const member may be called
// from several threads at once.
class Adapter
{
public:
    // `path` is a PEFT folder, its adapter_config.json (meaning the folder), or the .safetensors
    // file itself (the config is then looked for beside it). Validates the file, pairs lora_A
    // with lora_B, checks shapes and ranks and scans every LoRA tensor for NaN and Inf. Throws
    // lq::Error naming the file (and module) on any problem. A missing config is a warning, not
    // an error.
    static Adapter load(const std::string& path);

    // An adapter held in memory (tests, synthetic data). Modules' m, n, r come from the
    // factors. `otherTensors` and `metadata` stand for the non-LoRA tensors and `__metadata__` a
    // file would hold, so that writing the adapter out loses nothing. Throws lq::Error when a
    // tensor's bytes do not match its dtype and shape or two tensors share a name.
    static Adapter fromFactors(std::string name, std::vector<LoraModule> modules,
                               std::vector<ModuleFactors> factors,
                               std::optional<AdapterConfig> config = {},
                               std::vector<TensorData> otherTensors = {},
                               std::map<std::string, std::string> metadata = {{"format", "pt"}});
    // The same with each module's factors made by `source` whenever factors() is asked for them
    // (a packed file, decoded module by module), so that the adapter never holds them all as
    // float32. `modules` carry m, n and r; `source` must give factors of those shapes (else
    // factors() throws lq::Error) and may be called from several threads at once.
    static Adapter fromSource(std::string name, std::vector<LoraModule> modules,
                              FactorSource source, std::optional<AdapterConfig> config = {},
                              std::vector<TensorData> otherTensors = {},
                              std::map<std::string, std::string> metadata = {{"format", "pt"}});

    const std::string& path() const { return m_path; }                  // as given to load()
    const std::string& safetensorsPath() const { return m_tensorPath; } // empty in memory
    const std::optional<AdapterConfig>& config() const { return m_config; }
    const std::vector<LoraModule>& modules() const { return m_modules; }
    const std::vector<std::string>& warnings() const { return m_warnings; }
    // The source file, or null for an adapter held in memory.
    const SafetensorsFile* file() const { return m_file ? &*m_file : nullptr; }
    // Tensors that are not LoRA factors (classifier heads, modules_to_save copies), by name.
    const std::vector<std::string>& otherTensors() const { return m_otherTensors; }
    // Tensor `index` of otherTensors(), bytes as stored (in the source file's bytes or in memory).
    TensorView otherTensor(std::size_t index) const;
    // The safetensors `__metadata__`: the file's, or the one given to fromFactors().
    const std::map<std::string, std::string>& metadata() const;

    ModuleFactors factors(std::size_t module) const;

    std::int64_t parameterCount() const; // LoRA parameters, r (m + n) summed over modules
    std::uint64_t storedBytes() const;   // bytes of the LoRA tensors as stored

private:
    std::string m_path;
    std::string m_tensorPath;
    std::optional<SafetensorsFile> m_file;
    std::optional<AdapterConfig> m_config;
    std::vector<LoraModule> m_modules;
    FactorSource m_source; // only for fromFactors() and fromSource()
    std::vector<std::string> m_otherTensors;
    std::vector<TensorData> m_otherInMemory;       // only in memory
    std::map<std::string, std::string> m_metadata; // only in memory
    std::vector<std::string> m_warnings;
};

// Writes a PEFT folder (adapter_model.safetensors + adapter_config.json) atomically, file by file.
// Every tensor of `source` is written with its name, dtype and shape; when `replaced` is given it
// gives new factors for every module, converted to each module's stored dtype (a value that
// dtype cannot hold is an lq::Error, see toStoredBytes). It is asked for a
// module's factors when their tensors are written, so that the whole new adapter is never in
// memory at once; wrong shapes are an lq::Error and nothing is written.
// Non-LoRA tensors and `__metadata__` are copied unchanged (an adapter held in memory writes its
// factors in module order, then the tensors and metadata it was given); the config is written as
// its original text, and not at all when the source has none (inventing lora_alpha would invent the
// scale): then an adapter_config.json already in the folder is removed with the same commit
// (stagePeftConfig). Refuses (lq::Error) to write into the folder the source was read from; with
// nothing replaced the files are byte-identical copies.
void writePeftAdapter(const std::string& folder, const Adapter& source,
                      const FactorSource& replaced = {});
// The same with every module's new factors given at once (exactly one pair per module).
void writePeftAdapter(const std::string& folder, const Adapter& source,
                      const std::vector<ModuleFactors>* replaced);

// An export replaces the whole adapter in `folder`: its config is `configText` when given, and
// otherwise there is none. A config left from another adapter would give the new tensors that
// adapter's rank, alpha and targets without a word, so it is removed in the same commit as the
// new tensors are renamed into place (and stays if the export fails). Nothing else in the folder
// is touched: it may hold the user's own files (a README, tokenizer files). Every PEFT writer
// (writePeftAdapter, unpack) stages its config through this.
void stagePeftConfig(StagedFiles& files, const std::string& folder, const std::string* configText);

} // namespace lq
