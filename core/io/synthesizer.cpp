#include "core/io/synthesizer.h"

#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "core/io/firsterror.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numbers>
#include <random>

namespace lq {
namespace {

// ---- What "realistic" means here, measured on the real adapters in ../shared/adapters --------
// Singular values of B A per module (exact low-rank SVD, double), normalised by the largest, fit
// by least squares in log-log as s_i / s_1 = i^-p over i = 2..r:
//   gptneo125m q/v, r = 8  (24 modules): p mean 2.50, sd 0.44, range 1.65 .. 3.95
//                                        (mean profile 1, .18, .036, .022, .015, .012, .010, .008)
//   qwen2.5-3b q/v, r = 4  (72 modules): p mean 1.81, sd 0.37, range 1.09 .. 2.75
//                                        (mean profile 1, .25, .13, .089)
//   opencalm1b qkv, r = 1: no spectrum to fit.
// So each synthetic module draws its own p ~ N(2.0, 0.5), clipped to [1, 4]: the pooled mean of
// the 96 measured modules is 1.98, and the spread covers both adapters.
constexpr double kExponentMean = 2.0;
constexpr double kExponentSd = 0.5;
constexpr double kExponentMin = 1.0;
constexpr double kExponentMax = 4.0;
// Factor magnitudes. A stays near its Kaiming-uniform initialisation (rms ~ 1/sqrt(3n)) and B
// grows from zero, so ||A|| > ||B||. Measured: rms(A) sqrt(n) = 1.09 (gptneo), 0.65 (qwen), 0.80
// (opencalm); ln(||A||_F / ||B||_F) = 1.04 (gptneo, sd 0.24), 1.96 (qwen, sd 0.58). opencalm's
// rank-1 fused QKV (-1.6) is left out: with one component there is no split to exercise.
constexpr double kRmsASqrtNMedian = 0.85;
constexpr double kRmsALogSd = 0.25;
constexpr double kLogNormRatioMean = 1.5;
constexpr double kLogNormRatioSd = 0.5;
// M = Q1 diag(d) Q2 with ln d uniform in [-ln 2, ln 2]: condition number <= 4, so B and A mix
// the components thoroughly while M^-1 stays exact and harmless.
constexpr double kMixingLogRange = std::numbers::ln2;

// ---- Random numbers with a fully specified output ---------------------------------------------

std::uint64_t splitmix64(std::uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

class Random
{
public:
    explicit Random(std::uint64_t seed) : m_engine(seed) {}

    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(m_engine() >> 11) * 0x1.0p-53; }

    // Standard normal by Box-Muller, both outputs used in turn.
    double normal()
    {
        if (m_haveSpare) {
            m_haveSpare = false;
            return m_spare;
        }
        const double u1 = double((m_engine() >> 11) + 1) * 0x1.0p-53; // (0, 1]: log is finite
        const double u2 = uniform();
        const double radius = std::sqrt(-2.0 * std::log(u1));
        const double angle = 2.0 * std::numbers::pi * u2;
        m_spare = radius * std::sin(angle);
        m_haveSpare = true;
        return radius * std::cos(angle);
    }

private:
    std::mt19937_64 m_engine;
    double m_spare = 0;
    bool m_haveSpare = false;
};

using MatrixD = Eigen::MatrixXd;

// A rows x cols matrix with orthonormal columns, Haar-distributed: Gaussian columns, modified
// Gram-Schmidt applied twice ("twice is enough" for orthogonality to rounding). Plain loops so
// the summation order is fixed.
MatrixD randomOrthonormal(int rows, int cols, Random& random)
{
    MatrixD q(rows, cols);
    for (int j = 0; j < cols; ++j)
        for (int i = 0; i < rows; ++i)
            q(i, j) = random.normal();
    for (int j = 0; j < cols; ++j) {
        double* v = q.col(j).data();
        for (int pass = 0; pass < 2; ++pass) {
            for (int k = 0; k < j; ++k) {
                const double* u = q.col(k).data();
                double dot = 0;
                for (int i = 0; i < rows; ++i)
                    dot += u[i] * v[i];
                for (int i = 0; i < rows; ++i)
                    v[i] -= dot * u[i];
            }
        }
        double norm = 0;
        for (int i = 0; i < rows; ++i)
            norm += v[i] * v[i];
        norm = std::sqrt(norm);
        for (int i = 0; i < rows; ++i)
            v[i] /= norm;
    }
    return q;
}

// out = left * right with a fixed loop order.
MatrixD multiply(const MatrixD& left, const MatrixD& right)
{
    MatrixD out = MatrixD::Zero(left.rows(), right.cols());
    for (Eigen::Index j = 0; j < right.cols(); ++j)
        for (Eigen::Index k = 0; k < left.cols(); ++k) {
            const double factor = right(k, j);
            for (Eigen::Index i = 0; i < left.rows(); ++i)
                out(i, j) += left(i, k) * factor;
        }
    return out;
}

double frobenius(const MatrixD& matrix)
{
    double sum = 0;
    for (Eigen::Index i = 0; i < matrix.size(); ++i)
        sum += matrix.data()[i] * matrix.data()[i];
    return std::sqrt(sum);
}

std::vector<std::byte> storedBytes(const Eigen::MatrixXf& matrix, DType type)
{
    // safetensors is row-major: the column-major transpose has that layout.
    const Eigen::MatrixXf transposed = matrix.transpose();
    std::vector<std::byte> bytes(std::size_t(matrix.size()) * elementSize(type));
    convertFromFloat(type, std::span<const float>(transposed.data(), std::size_t(matrix.size())),
                     bytes);
    return bytes;
}

const char* const kAttentionKinds[] = {"q_proj", "k_proj", "v_proj", "o_proj"};
const char* const kMlpKinds[] = {"gate_proj", "up_proj", "down_proj"};

} // namespace

const std::vector<SynthPreset>& synthPresets()
{
    static const std::vector<SynthPreset> presets{
        {"llama2-7b", 32, 4096, 4096, 11008, "meta-llama/Llama-2-7b-hf"},
        {"llama2-13b", 40, 5120, 5120, 13824, "meta-llama/Llama-2-13b-hf"},
        // Grouped-query attention: 8 key/value heads of 128 -> k_proj and v_proj are 1024 wide.
        {"mistral-7b", 32, 4096, 1024, 14336, "mistralai/Mistral-7B-v0.1"},
        // Small enough to ship (rank 8, all targets, F16: 262 KB), with GQA like the big ones.
        {"tiny", 4, 256, 128, 512, std::nullopt},
    };
    return presets;
}

const SynthPreset* findSynthPreset(std::string_view name)
{
    for (const SynthPreset& preset : synthPresets()) {
        if (preset.name == name)
            return &preset;
    }
    return nullptr;
}

std::vector<SynthModuleShape> synthModuleShapes(const SynthPreset& preset, SynthTargets targets)
{
    std::vector<SynthModuleShape> shapes;
    for (int layer = 0; layer < preset.layers; ++layer) {
        const std::string prefix = "base_model.model.model.layers." + std::to_string(layer) + ".";
        for (const char* kind : kAttentionKinds) {
            const std::string k = kind;
            if (targets == SynthTargets::QV && k != "q_proj" && k != "v_proj")
                continue;
            const bool narrow = k == "k_proj" || k == "v_proj";
            shapes.push_back({prefix + "self_attn." + k, layer, k,
                              narrow ? preset.kvOut : preset.hidden, preset.hidden});
        }
        if (targets == SynthTargets::QV)
            continue;
        for (const char* kind : kMlpKinds) {
            const std::string k = kind;
            const bool down = k == "down_proj";
            shapes.push_back({prefix + "mlp." + k, layer, k,
                              down ? preset.hidden : preset.intermediate,
                              down ? preset.intermediate : preset.hidden});
        }
    }
    return shapes;
}

SynthModule synthesizeModule(const SynthModuleShape& shape, int rank, std::uint64_t seed,
                             std::size_t index, double decay)
{
    Random random(splitmix64(seed ^ splitmix64(index + 1)));
    const int m = shape.m, n = shape.n, r = rank;

    const double exponent =
        std::clamp(decay + kExponentSd * random.normal(), kExponentMin, kExponentMax);
    const double normRatio = std::exp(kLogNormRatioMean + kLogNormRatioSd * random.normal());
    const double rmsA = kRmsASqrtNMedian * std::exp(kRmsALogSd * random.normal()) / std::sqrt(n);

    const MatrixD u = randomOrthonormal(m, r, random);
    const MatrixD v = randomOrthonormal(n, r, random);
    const MatrixD q1 = randomOrthonormal(r, r, random);
    const MatrixD q2 = randomOrthonormal(r, r, random);
    Eigen::VectorXd d(r), sigma(r);
    for (int i = 0; i < r; ++i) {
        d[i] = std::exp(kMixingLogRange * (2.0 * random.uniform() - 1.0));
        sigma[i] = std::pow(double(i + 1), -exponent);
    }

    // W = S^(1/2) M = S^(1/2) Q1 diag(d) Q2 and Z = M^-1 S^(1/2) = Q2^T diag(1/d) Q1^T S^(1/2),
    // so that (U W)(Z V^T) = U S V^T.
    MatrixD q1d = q1, q1dInv = q1;
    for (int j = 0; j < r; ++j) {
        q1d.col(j) *= d[j];
        q1dInv.col(j) /= d[j];
    }
    MatrixD w = multiply(q1d, q2);
    MatrixD z = multiply(MatrixD(q2.transpose()), MatrixD(q1dInv.transpose()));
    for (int i = 0; i < r; ++i) {
        w.row(i) *= std::sqrt(sigma[i]);
        z.col(i) *= std::sqrt(sigma[i]);
    }
    const MatrixD b0 = multiply(u, w);                      // m x r
    const MatrixD a0 = multiply(z, MatrixD(v.transpose())); // r x n

    // Scale B A by t^2 and balance: ||A|| / ||B|| = normRatio, rms(A) = rmsA.
    const double normB0 = frobenius(b0), normA0 = frobenius(a0);
    const double balance = std::sqrt(normRatio * normB0 / normA0);
    const double t = rmsA * std::sqrt(double(r) * n) / (balance * normA0);

    SynthModule module;
    module.factors.B = (b0 * (t / balance)).cast<float>();
    module.factors.A = (a0 * (t * balance)).cast<float>();
    module.singularValues = sigma * (t * t);
    return module;
}

SynthSettings synthVariant(const SynthSettings& base, std::uint64_t index)
{
    static constexpr int kRanks[] = {2, 4, 8, 16};
    static constexpr DType kDtypes[] = {DType::F16, DType::BF16, DType::F32};
    static constexpr double kDecays[] = {1.2, 1.6, 2.0, 2.5, 3.0};
    Random random(splitmix64(base.seed ^ splitmix64(0x5eed0000ull + index)));
    SynthSettings settings = base;
    int maxRank = std::numeric_limits<int>::max();
    if (const SynthPreset* preset = findSynthPreset(base.preset))
        for (const SynthModuleShape& shape : synthModuleShapes(*preset, SynthTargets::All))
            maxRank = std::min({maxRank, shape.m, shape.n});
    settings.rank = std::min(maxRank, kRanks[std::size_t(random.uniform() * 4)]);
    settings.targets = random.uniform() < 2.0 / 3.0 ? SynthTargets::All : SynthTargets::QV;
    settings.dtype = kDtypes[std::size_t(random.uniform() * 3)];
    settings.decay = kDecays[std::size_t(random.uniform() * 5)];
    settings.seed = splitmix64(base.seed * 0x100000001b3ull + index);
    return settings;
}

SynthResult writeSyntheticAdapter(const std::string& folder, const SynthSettings& settings,
                                  const ProgressFn& progress)
{
    const SynthPreset* preset = findSynthPreset(settings.preset);
    if (!preset) {
        std::string names;
        for (const SynthPreset& p : synthPresets())
            names += (names.empty() ? "" : ", ") + p.name;
        throw Error(folder, "unknown preset '" + settings.preset + "' (known: " + names + ")");
    }
    const std::vector<SynthModuleShape> shapes = synthModuleShapes(*preset, settings.targets);
    int maxRank = std::numeric_limits<int>::max();
    for (const SynthModuleShape& shape : shapes)
        maxRank = std::min({maxRank, shape.m, shape.n});
    if (settings.rank < 1 || settings.rank > maxRank)
        throw Error(folder, "rank " + std::to_string(settings.rank) + " is outside 1.." +
                                std::to_string(maxRank) + " for preset " + preset->name);

    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec)
        throw Error(folder, "cannot create the output folder: " + ec.message());

    const auto count = std::int64_t(shapes.size());
    const std::int64_t r = settings.rank;
    std::vector<TensorData> tensors(2 * shapes.size());
    std::atomic<bool> cancelled = false;
    FirstError error;
    int done = 0;
#pragma omp parallel for schedule(dynamic)
    for (std::int64_t i = 0; i < count; ++i) {
        if (cancelled.load())
            continue;
        error.run([&] {
            const SynthModuleShape& shape = shapes[std::size_t(i)];
            const SynthModule module = synthesizeModule(shape, settings.rank, settings.seed,
                                                        std::size_t(i), settings.decay);
            tensors[2 * std::size_t(i)] = {shape.name + ".lora_A.weight",
                                           settings.dtype,
                                           {r, shape.n},
                                           storedBytes(module.factors.A, settings.dtype)};
            tensors[2 * std::size_t(i) + 1] = {shape.name + ".lora_B.weight",
                                               settings.dtype,
                                               {shape.m, r},
                                               storedBytes(module.factors.B, settings.dtype)};
        });
        if (progress && !error.failed()) {
#pragma omp critical(lq_synth_progress)
            error.run([&] {
                if (!cancelled.load() && !progress(++done, int(count)))
                    cancelled = true;
            });
        }
    }
    error.rethrow();
    SynthResult result;
    if (cancelled) {
        result.cancelled = true;
        return result;
    }

    const char* targetsName = settings.targets == SynthTargets::All ? "all" : "qv";
    const std::map<std::string, std::string> metadata{
        {"format", "pt"},
        {"loraquant_synth",
         "preset=" + preset->name + " rank=" + std::to_string(settings.rank) +
             " targets=" + targetsName + " dtype=" + std::string(dtypeName(settings.dtype)) +
             " seed=" + std::to_string(settings.seed) +
             // Only when set, so that earlier adapters keep their bytes.
             (settings.decay != kExponentMean ? " decay=" + std::to_string(settings.decay)
                                              : std::string())}};
    const std::string tensorPath = (std::filesystem::path(folder) / "adapter_model.safetensors");
    writeSafetensors(tensorPath, tensors, metadata);

    nlohmann::json config;
    config["base_model_name_or_path"] =
        preset->baseModel ? nlohmann::json(*preset->baseModel) : nlohmann::json(nullptr);
    config["bias"] = "none";
    config["fan_in_fan_out"] = false;
    config["inference_mode"] = true;
    config["lora_alpha"] = 2 * settings.rank;
    config["lora_dropout"] = 0.05;
    config["peft_type"] = "LORA";
    config["r"] = settings.rank;
    config["rank_pattern"] = nlohmann::json::object();
    config["alpha_pattern"] = nlohmann::json::object();
    std::vector<std::string> kinds;
    for (const SynthModuleShape& shape : shapes) {
        if (std::find(kinds.begin(), kinds.end(), shape.kind) == kinds.end())
            kinds.push_back(shape.kind);
    }
    config["target_modules"] = kinds;
    config["task_type"] = "CAUSAL_LM";
    config["use_rslora"] = false;
    writeFileAtomically((std::filesystem::path(folder) / "adapter_config.json").string(),
                        config.dump(2) + "\n");

    result.modules = int(shapes.size());
    for (const SynthModuleShape& shape : shapes)
        result.parameters += r * (shape.m + shape.n);
    result.fileBytes = std::filesystem::file_size(tensorPath, ec);
    return result;
}

} // namespace lq
