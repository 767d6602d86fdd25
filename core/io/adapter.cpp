#include "core/io/adapter.h"

#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "core/io/factorrange.h"
#include "core/io/firsterror.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>

namespace lq {
namespace fs = std::filesystem;

namespace {

constexpr const char* kTensorFileName = "adapter_model.safetensors";
constexpr const char* kConfigFileName = "adapter_config.json";

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// `<prefix>.lora_A.weight`, `<prefix>.lora_B.weight`, or with an adapter name between
// (`.lora_A.default.weight`, PEFT's in-memory spelling that some exporters keep). An embedding
// layer's factors are bare parameters, `<prefix>.lora_embedding_A` (r x vocabulary) and
// `<prefix>.lora_embedding_B` (dimension x r): the same orientation as a linear pair, so they
// are a module like any other.
struct FactorName
{
    std::string prefix;
    char which = 0; // 'A' or 'B', 0 when the tensor is not a LoRA factor
};

FactorName parseFactorName(const std::string& name)
{
    // Plain string checks, not std::regex: libstdc++'s regex recurses per character and a
    // hostile header with a very long tensor name could overflow the stack.
    const auto endsWith = [](std::string_view text, std::string_view tail) {
        return text.size() >= tail.size() && text.substr(text.size() - tail.size()) == tail;
    };
    std::string_view rest(name);
    std::string stem = ".lora_";
    if (endsWith(rest, ".weight"))
        rest.remove_suffix(7);
    else
        stem = ".lora_embedding_";
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (const char which : {'A', 'B'}) {
            const std::string tail = stem + which;
            if (endsWith(rest, tail) && rest.size() > tail.size())
                return {std::string(rest.substr(0, rest.size() - tail.size())), which};
        }
        // Second try: drop one adapter-name component (`.lora_A.default.weight`).
        const auto dot = rest.rfind('.');
        if (dot == std::string_view::npos || dot + 1 == rest.size())
            return {};
        rest = rest.substr(0, dot);
    }
    return {};
}

std::string kindOf(const std::string& name)
{
    const auto dot = name.rfind('.');
    return dot == std::string::npos ? name : name.substr(dot + 1);
}

// What load() checks in every factor: NaN and Inf (all-ones exponent in every IEEE format) and
// the largest magnitude. On the bits: with the sign masked off, finite values order as unsigned
// integers by magnitude and NaN and Inf above them all, so one vectorizable max over the masked
// bits gives both the largest finite magnitude and whether anything non-finite is there; only
// then is the tensor scanned again to count and place the bad values.
struct FactorScan
{
    std::int64_t nan = 0;
    std::int64_t inf = 0;
    std::int64_t first = -1; // flat index of the first non-finite value
    double largest = 0;      // largest magnitude, when every value is finite
};

template <typename Bits>
FactorScan scanBits(std::span<const std::byte> bytes, Bits exponentMask, Bits mantissaMask,
                    double (*toDouble)(Bits))
{
    FactorScan result;
    const std::size_t count = bytes.size() / sizeof(Bits);
    const Bits magnitudeMask = exponentMask | mantissaMask;
    Bits largest = 0;
    for (std::size_t i = 0; i < count; ++i) {
        Bits bits;
        std::memcpy(&bits, bytes.data() + i * sizeof(Bits), sizeof(Bits));
        largest = std::max<Bits>(largest, bits & magnitudeMask);
    }
    if (largest < exponentMask) {
        result.largest = toDouble(largest);
        return result;
    }
    for (std::size_t i = 0; i < count; ++i) {
        Bits bits;
        std::memcpy(&bits, bytes.data() + i * sizeof(Bits), sizeof(Bits));
        if ((bits & exponentMask) != exponentMask)
            continue;
        ((bits & mantissaMask) ? result.nan : result.inf) += 1;
        if (result.first < 0)
            result.first = std::int64_t(i);
    }
    return result;
}

FactorScan scanFactor(DType type, std::span<const std::byte> bytes)
{
    switch (type) {
    case DType::F32:
        return scanBits<std::uint32_t>(bytes, 0x7f800000u, 0x007fffffu, [](std::uint32_t bits) {
            return double(std::bit_cast<float>(bits));
        });
    case DType::F16:
        return scanBits<std::uint16_t>(
            bytes, 0x7c00u, 0x03ffu, [](std::uint16_t bits) { return double(halfToFloat(bits)); });
    case DType::BF16:
        return scanBits<std::uint16_t>(
            bytes, 0x7f80u, 0x007fu, [](std::uint16_t bits) { return double(bf16ToFloat(bits)); });
    case DType::F64:
        return scanBits<std::uint64_t>(
            bytes, 0x7ff0000000000000ull, 0x000fffffffffffffull,
            [](std::uint64_t bits) { return std::bit_cast<double>(bits); });
    default: // not a factor type; load() rejects those before it scans
        return {};
    }
}

std::string shortNumber(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.5g", value);
    return text;
}

// "" when every value of the module's factors is finite and within factorRangeProblem's rule,
// else the problem in words.
std::string moduleProblem(const LoraModule& module, const TensorEntry& a, const TensorEntry& b,
                          const SafetensorsFile& file)
{
    const std::string what = "module " + module.name + ": ";
    double largest[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        const TensorEntry& entry = i == 0 ? a : b;
        const FactorScan found = scanFactor(entry.dtype, file.bytes(entry));
        if (found.first >= 0) {
            const std::int64_t columns = entry.shape.size() == 2 ? entry.shape[1] : 1;
            return what + (i == 0 ? "lora_A" : "lora_B") + " contains " +
                   std::to_string(found.nan) + " NaN and " + std::to_string(found.inf) +
                   " Inf values (first at row " + std::to_string(found.first / columns) +
                   ", column " + std::to_string(found.first % columns) + ")";
        }
        largest[i] = found.largest;
    }
    const std::string problem =
        factorRangeProblem(largest[0], largest[1], module.m, module.n, module.r);
    return problem.empty() ? problem : what + problem;
}

void fillNameParts(LoraModule& module)
{
    if (module.layer < 0)
        module.layer = layerIndexOf(module.name);
    if (module.kind.empty())
        module.kind = kindOf(module.name);
}

// A file can hold DoRA magnitude vectors while its config does not set use_dora (an exporter
// that dropped the flag, or a config from another run). It still quantizes as plain LoRA, but
// whoever deploys it should know that the model it describes is not plain LoRA. Empty when no
// tensor is a magnitude vector.
std::string unflaggedDoraWarning(const std::vector<std::string>& otherTensors,
                                 const std::string& fileName, const std::string& why)
{
    const auto isMagnitude = [](const std::string& name) {
        return name.find("lora_magnitude_vector") != std::string::npos;
    };
    const auto first = std::find_if(otherTensors.begin(), otherTensors.end(), isMagnitude);
    if (first == otherTensors.end())
        return {};
    const auto count = std::count_if(first, otherTensors.end(), isMagnitude);
    return fileName + " holds " + std::to_string(count) + " DoRA magnitude vector" +
           (count > 1 ? "s" : "") + " (first: " + *first + ") but " + why +
           ": the modules are quantized as plain LoRA, the magnitudes are kept unchanged with "
           "the other tensors, and the error figures measure B A alone";
}

} // namespace

int layerIndexOf(const std::string& name)
{
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('.', start);
        if (end == std::string::npos)
            end = name.size();
        const std::string_view part(name.data() + start, end - start);
        if (!part.empty() && part.size() < 9 &&
            std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::stoi(std::string(part));
        start = end + 1;
    }
    return -1;
}

std::vector<int> layerOrder(const std::vector<int>& layers)
{
    std::vector<int> order(layers.size());
    std::iota(order.begin(), order.end(), 0);
    // unsigned: -1 (no layer) sorts after every layer.
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return unsigned(layers[std::size_t(a)]) < unsigned(layers[std::size_t(b)]);
    });
    return order;
}

std::vector<int> modulesByLayer(const std::vector<LoraModule>& modules)
{
    std::vector<int> layers;
    layers.reserve(modules.size());
    for (const LoraModule& module : modules)
        layers.push_back(module.layer);
    return layerOrder(layers);
}

std::vector<std::byte> toStoredBytes(const Eigen::MatrixXf& matrix, DType type,
                                     const std::string& file, const std::string& tensor)
{
    // Conversion rounds monotonically, so when the largest magnitude stays finite every value
    // does. NaN compares false and is counted apart.
    float largest = 0;
    std::int64_t nonFinite = 0;
    for (const float value : matrix.reshaped()) {
        if (!std::isfinite(value))
            ++nonFinite;
        else
            largest = std::max(largest, std::fabs(value));
    }
    if (nonFinite)
        throw Error(file, "cannot write " + tensor + ": " + std::to_string(nonFinite) +
                              " of its values are Inf or NaN (float32 overflowed computing them)");
    if (type == DType::F16 || type == DType::BF16) {
        const float stored = type == DType::F16 ? halfToFloat(floatToHalf(largest))
                                                : bf16ToFloat(floatToBf16(largest));
        if (std::isinf(stored))
            throw Error(file,
                        "cannot write " + tensor + " as " + std::string(dtypeName(type)) +
                            ": it holds values up to " + shortNumber(largest) + ", beyond " +
                            std::string(dtypeName(type)) + "'s largest finite value (" +
                            shortNumber(type == DType::F16 ? 65504.0 : 3.3895313892515355e38) +
                            "); export it as float32 instead (unpack --dtype f32)");
    }
    const RowMajor rowMajor = matrix; // safetensors is row-major
    std::vector<std::byte> bytes(std::size_t(rowMajor.size()) * elementSize(type));
    convertFromFloat(type, std::span<const float>(rowMajor.data(), std::size_t(rowMajor.size())),
                     bytes);
    return bytes;
}

namespace {

// Where an adapter's files are, from the path a person gave: a folder, its
// adapter_config.json, or a .safetensors file (whose config, if any, is beside it).
struct AdapterFiles
{
    std::string adapterPath; // what the adapter is called: the folder for a config
    std::string tensorPath;
    fs::path configPath;
};

AdapterFiles locateAdapterFiles(const std::string& path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        throw Error(path, "no such file or folder");

    // The config names the adapter as well as its folder does (file dialogs offer it).
    const bool isConfig = fs::path(path).filename() == kConfigFileName;
    if (!fs::is_directory(status) && !isConfig)
        return {path, path, fs::path(path).parent_path() / kConfigFileName};

    const fs::path folder = isConfig ? fs::path(path).parent_path() : fs::path(path);
    if (!fs::exists(folder / kTensorFileName)) {
        if (fs::exists(folder / "adapter_model.bin"))
            throw Error(path, "no adapter found: the folder holds adapter_model.bin (a "
                              "PyTorch pickle), which is not read; save the adapter as "
                              "safetensors");
        throw Error(path, std::string("no adapter found: the folder has no ") + kTensorFileName);
    }
    const std::string name = isConfig ? (folder.empty() ? "." : folder.string()) : path;
    return {name, (folder / kTensorFileName).string(), folder / kConfigFileName};
}

// The config beside the tensors, with what its absence or its DoRA flag means for the figures.
std::optional<AdapterConfig> readConfigBeside(const AdapterFiles& files,
                                              std::vector<std::string>& warnings)
{
    if (!fs::exists(files.configPath)) {
        warnings.push_back("no " + std::string(kConfigFileName) + " beside " + files.tensorPath +
                           ": ranks come from the tensor shapes and the scale "
                           "(lora_alpha / r) is unknown");
        return std::nullopt;
    }
    AdapterConfig config = readAdapterConfig(files.configPath.string());
    if (config.useDora)
        warnings.push_back(files.configPath.string() +
                           " sets use_dora: DoRA rescales each column of W + s B A by a learned "
                           "magnitude, kept unchanged with the other tensors; the error figures "
                           "measure B A alone");
    return config;
}

// The header's tensors sorted into factor pairs (in the order modules first appear) and the
// rest.
struct FactorPairs
{
    struct Pair
    {
        const TensorEntry* a = nullptr;
        const TensorEntry* b = nullptr;
    };
    std::vector<std::string> order;
    std::map<std::string, Pair> pairs;
    std::vector<const TensorEntry*> others;
};

FactorPairs pairFactors(const SafetensorsFile& file)
{
    FactorPairs result;
    for (const TensorEntry& entry : file.tensors()) {
        const FactorName factor = parseFactorName(entry.name);
        if (!factor.which) {
            result.others.push_back(&entry);
            continue;
        }
        auto [it, inserted] = result.pairs.try_emplace(factor.prefix);
        if (inserted)
            result.order.push_back(factor.prefix);
        const TensorEntry*& slot = factor.which == 'A' ? it->second.a : it->second.b;
        if (slot)
            throw Error(file.path(), "module " + factor.prefix + " has two lora_" + factor.which +
                                         " tensors: '" + slot->name + "' and '" + entry.name + "'");
        slot = &entry;
    }
    return result;
}

// One pair as a module, after checking that its factors fit together. A pair that is not 2-D
// (a convolution LoRA) is no module: nullopt, with a warning, and the caller keeps its tensors.
std::optional<LoraModule> moduleFromPair(const std::string& prefix, const FactorPairs::Pair& pair,
                                         const std::string& fileName,
                                         const std::optional<AdapterConfig>& config,
                                         std::vector<std::string>& warnings)
{
    if (!pair.a || !pair.b)
        throw Error(fileName, "module " + prefix + ": " + (pair.a ? "lora_A" : "lora_B") +
                                  " has no matching " + (pair.a ? "lora_B" : "lora_A") + " tensor");
    const auto& shapeA = pair.a->shape;
    const auto& shapeB = pair.b->shape;
    if (shapeA.size() != 2 || shapeB.size() != 2) {
        warnings.push_back("module " + prefix + ": lora_A " + shapeText(shapeA) + " and lora_B " +
                           shapeText(shapeB) +
                           " are not 2-D (a convolution LoRA?); kept unchanged "
                           "and left out of the modules");
        return std::nullopt;
    }
    for (const TensorEntry* factor : {pair.a, pair.b})
        if (!isFactorType(factor->dtype))
            throw Error(fileName, "module " + prefix + ": " + factor->name + " is stored as " +
                                      std::string(dtypeName(factor->dtype)) +
                                      "; LoRA factors must be F32, F16, BF16 or F64");
    if (shapeA[0] != shapeB[1])
        throw Error(fileName, "module " + prefix + ": the ranks of A and B disagree: lora_A is " +
                                  shapeText(shapeA) + " (r = " + std::to_string(shapeA[0]) +
                                  ") but lora_B is " + shapeText(shapeB) +
                                  " (r = " + std::to_string(shapeB[1]) + ")");
    if (shapeA[0] == 0 || shapeA[1] == 0 || shapeB[0] == 0)
        throw Error(fileName, "module " + prefix + ": empty factors: lora_A " + shapeText(shapeA) +
                                  ", lora_B " + shapeText(shapeB));
    constexpr std::int64_t kMaxExtent = std::numeric_limits<int>::max();
    if (shapeA[0] > kMaxExtent || shapeA[1] > kMaxExtent || shapeB[0] > kMaxExtent)
        throw Error(fileName, "module " + prefix + ": factors too large");

    LoraModule module;
    module.name = prefix;
    module.keyA = pair.a->name;
    module.keyB = pair.b->name;
    module.r = int(shapeA[0]);
    module.n = int(shapeA[1]);
    module.m = int(shapeB[0]);
    module.dtype = pair.b->dtype;
    fillNameParts(module);
    if (config) {
        module.scale = config->scaleFor(module.name, module.r);
        const auto expected = config->rankFor(module.name);
        if (expected && *expected != module.r)
            warnings.push_back("module " + module.name + ": rank " + std::to_string(module.r) +
                               " from the tensor shapes, but the config says " +
                               std::to_string(*expected));
    }
    return module;
}

// Scans every factor for NaN, Inf and values too large, in parallel; throws for the first bad
// module in file order, so that the message does not depend on thread timing.
void checkFactorValues(const std::vector<LoraModule>& modules, const SafetensorsFile& file)
{
    const auto count = std::int64_t(modules.size());
    std::vector<std::string> problems(modules.size());
    FirstError error;
#pragma omp parallel for schedule(dynamic)
    for (std::int64_t i = 0; i < count; ++i) {
        error.run(i, [&] {
            const LoraModule& module = modules[std::size_t(i)];
            problems[std::size_t(i)] =
                moduleProblem(module, *file.find(module.keyA), *file.find(module.keyB), file);
        });
    }
    error.rethrow();
    for (const std::string& problem : problems) {
        if (!problem.empty())
            throw Error(file.path(), problem);
    }
}

} // namespace

Adapter Adapter::load(const std::string& path)
{
    const AdapterFiles files = locateAdapterFiles(path);
    Adapter adapter;
    adapter.m_path = files.adapterPath;
    adapter.m_tensorPath = files.tensorPath;
    adapter.m_config = readConfigBeside(files, adapter.m_warnings);
    adapter.m_file = SafetensorsFile::open(adapter.m_tensorPath);
    const SafetensorsFile& file = *adapter.m_file;

    FactorPairs factors = pairFactors(file);
    for (const std::string& prefix : factors.order) {
        const FactorPairs::Pair& pair = factors.pairs.at(prefix);
        auto module =
            moduleFromPair(prefix, pair, file.path(), adapter.m_config, adapter.m_warnings);
        if (module) {
            adapter.m_modules.push_back(std::move(*module));
        } else {
            factors.others.push_back(pair.a);
            factors.others.push_back(pair.b);
        }
    }
    if (adapter.m_modules.empty())
        throw Error(file.path(),
                    "no adapter found: the file holds no lora_A / lora_B tensor pairs");
    checkFactorValues(adapter.m_modules, file);

    // Other tensors in file order, as exports copy them.
    std::sort(factors.others.begin(), factors.others.end(),
              [&](const TensorEntry* x, const TensorEntry* y) {
                  return x - file.tensors().data() < y - file.tensors().data();
              });
    for (const TensorEntry* entry : factors.others)
        adapter.m_otherTensors.push_back(entry->name);
    if (!adapter.m_config || !adapter.m_config->useDora) {
        const std::string warning = unflaggedDoraWarning(
            adapter.m_otherTensors, file.path(),
            adapter.m_config ? files.configPath.string() + " does not set use_dora"
                             : "there is no config to set use_dora");
        if (!warning.empty())
            adapter.m_warnings.push_back(warning);
    }
    return adapter;
}

Adapter Adapter::fromFactors(std::string name, std::vector<LoraModule> modules,
                             std::vector<ModuleFactors> factors,
                             std::optional<AdapterConfig> config,
                             std::vector<TensorData> otherTensors,
                             std::map<std::string, std::string> metadata)
{
    if (modules.size() != factors.size())
        throw Error(name, "fromFactors: " + std::to_string(modules.size()) + " modules but " +
                              std::to_string(factors.size()) + " factor pairs");
    for (std::size_t i = 0; i < modules.size(); ++i) {
        LoraModule& module = modules[i];
        const ModuleFactors& f = factors[i];
        if (f.B.cols() != f.A.rows() || f.B.cols() == 0)
            throw Error(name, "module " + module.name + ": the ranks of A and B disagree: B is " +
                                  std::to_string(f.B.rows()) + " x " + std::to_string(f.B.cols()) +
                                  ", A is " + std::to_string(f.A.rows()) + " x " +
                                  std::to_string(f.A.cols()));
        module.m = int(f.B.rows());
        module.r = int(f.B.cols());
        module.n = int(f.A.cols());
    }
    auto held = std::make_shared<const std::vector<ModuleFactors>>(std::move(factors));
    return fromSource(
        std::move(name), std::move(modules), [held](std::size_t i) { return (*held)[i]; },
        std::move(config), std::move(otherTensors), std::move(metadata));
}

Adapter Adapter::fromSource(std::string name, std::vector<LoraModule> modules, FactorSource source,
                            std::optional<AdapterConfig> config,
                            std::vector<TensorData> otherTensors,
                            std::map<std::string, std::string> metadata)
{
    for (LoraModule& module : modules) {
        if (module.m < 1 || module.n < 1 || module.r < 1)
            throw Error(name, "module " + module.name + ": m, n and r must be positive, got " +
                                  std::to_string(module.m) + ", " + std::to_string(module.n) +
                                  ", " + std::to_string(module.r));
        if (module.keyA.empty())
            module.keyA = module.name + ".lora_A.weight";
        if (module.keyB.empty())
            module.keyB = module.name + ".lora_B.weight";
        fillNameParts(module);
        if (!module.scale && config)
            module.scale = config->scaleFor(module.name, module.r);
    }
    // The writers take these tensors as they are: a wrong byte count or a name used twice would
    // make a file that no reader accepts.
    std::map<std::string, int> names;
    for (const LoraModule& module : modules) {
        ++names[module.keyA];
        ++names[module.keyB];
    }
    for (const TensorData& tensor : otherTensors) {
        if (++names[tensor.name] > 1)
            throw Error(name, "the tensor name " + tensor.name + " is used twice");
        const auto bytes = tensorByteSize(tensor.shape, tensor.dtype);
        if (!bytes)
            throw Error(name, "tensor " + tensor.name + ": shape " + shapeText(tensor.shape) +
                                  " has a negative extent or is too large");
        if (tensor.bytes.size() != *bytes)
            throw Error(name, "tensor " + tensor.name + ": " + std::to_string(tensor.bytes.size()) +
                                  " bytes for shape " + shapeText(tensor.shape) + " of " +
                                  std::to_string(elementSize(tensor.dtype)) + "-byte values");
    }
    Adapter adapter;
    adapter.m_path = std::move(name);
    adapter.m_config = std::move(config);
    adapter.m_modules = std::move(modules);
    adapter.m_source = std::move(source);
    for (const TensorData& tensor : otherTensors)
        adapter.m_otherTensors.push_back(tensor.name);
    adapter.m_otherInMemory = std::move(otherTensors);
    adapter.m_metadata = std::move(metadata);
    return adapter;
}

TensorView Adapter::otherTensor(std::size_t index) const
{
    const std::string& name = m_otherTensors.at(index);
    if (!m_file) {
        const TensorData& tensor = m_otherInMemory.at(index);
        return {tensor.name, tensor.dtype, tensor.shape, tensor.bytes, {}};
    }
    const TensorEntry* entry = m_file->find(name);
    if (!entry)
        throw Error(m_file->path(), "tensor " + name + " vanished from the file");
    return {entry->name, entry->dtype, entry->shape, m_file->bytes(*entry), {}};
}

const std::map<std::string, std::string>& Adapter::metadata() const
{
    return m_file ? m_file->metadata() : m_metadata;
}

ModuleFactors Adapter::factors(std::size_t index) const
{
    const LoraModule& module = m_modules.at(index);
    if (!m_file) {
        ModuleFactors f = m_source(index);
        if (!f.fits(module))
            throw Error(m_path, "module " + module.name + ": its factors are " +
                                    std::to_string(f.B.rows()) + " x " +
                                    std::to_string(f.B.cols()) + " and " +
                                    std::to_string(f.A.rows()) + " x " +
                                    std::to_string(f.A.cols()) + ", not m x r and r x n");
        return f;
    }
    const TensorEntry& a = *m_file->find(module.keyA);
    const TensorEntry& b = *m_file->find(module.keyB);
    // A column-major r x m matrix has the memory layout of a row-major m x r one: convert straight
    // into it and transpose, so the only float32 copy is the one returned.
    ModuleFactors result;
    Eigen::MatrixXf bt(module.r, module.m);
    convertToFloat(b.dtype, m_file->bytes(b), std::span<float>(bt.data(), std::size_t(bt.size())));
    result.B = bt.transpose();
    Eigen::MatrixXf at(module.n, module.r);
    convertToFloat(a.dtype, m_file->bytes(a), std::span<float>(at.data(), std::size_t(at.size())));
    result.A = at.transpose();
    return result;
}

std::int64_t Adapter::parameterCount() const
{
    std::int64_t total = 0;
    for (const LoraModule& module : m_modules)
        total += module.parameterCount();
    return total;
}

std::uint64_t Adapter::storedBytes() const
{
    std::uint64_t total = 0;
    for (const LoraModule& module : m_modules) {
        if (m_file) {
            for (const std::string* key : {&module.keyA, &module.keyB}) {
                const TensorEntry& entry = *m_file->find(*key);
                total += entry.end - entry.begin;
            }
        } else {
            total += std::uint64_t(module.parameterCount()) * elementSize(module.dtype);
        }
    }
    return total;
}

void stagePeftConfig(StagedFiles& files, const std::string& folder, const std::string* configText)
{
    const std::string path = (fs::path(folder) / kConfigFileName).string();
    if (configText)
        files.add(path, *configText);
    else
        files.removeOnCommit(path);
}

void writePeftAdapter(const std::string& folder, const Adapter& source,
                      const std::vector<ModuleFactors>* replaced)
{
    if (!replaced)
        return writePeftAdapter(folder, source, FactorSource{});
    if (replaced->size() != source.modules().size())
        throw Error(folder, "cannot write: " + std::to_string(replaced->size()) +
                                " replacement factor pairs for " +
                                std::to_string(source.modules().size()) + " modules");
    writePeftAdapter(folder, source, [replaced](std::size_t i) { return (*replaced)[i]; });
}

void writePeftAdapter(const std::string& folder, const Adapter& source,
                      const FactorSource& replaced)
{
    const auto& modules = source.modules();

    std::error_code ec;
    if (!source.safetensorsPath().empty()) {
        const fs::path sourceFolder = fs::path(source.safetensorsPath()).parent_path();
        if (fs::exists(folder, ec) &&
            fs::equivalent(folder, sourceFolder.empty() ? fs::path(".") : sourceFolder, ec))
            throw Error(folder, "refusing to write into the folder the adapter was read from; "
                                "choose another output folder");
    }
    // The folders this call creates, the deepest first: a failed export removes them again, so
    // that it leaves no empty output folder behind (only empty ones go; nothing else is touched).
    std::vector<fs::path> created;
    fs::path missing(folder);
    if (!missing.has_filename()) // "out/"
        missing = missing.parent_path();
    for (; !missing.empty() && !fs::exists(missing, ec) && !ec; missing = missing.parent_path())
        created.push_back(missing);
    struct RemoveCreated
    {
        const std::vector<fs::path>& folders;
        bool keep = false;
        ~RemoveCreated()
        {
            std::error_code ignored;
            for (std::size_t i = 0; !keep && i < folders.size(); ++i)
                fs::remove(folders[i], ignored);
        }
    } removeCreated{created};
    fs::create_directories(folder, ec);
    if (ec)
        throw Error(folder, "cannot create the output folder: " + ec.message());

    // Tensor bytes: views into the source file's bytes where unchanged; converted factors are made
    // when the writer reaches them. The last module's factors are kept for its other tensor (A
    // and B are usually adjacent), so that each module is asked for once.
    std::optional<std::pair<std::size_t, ModuleFactors>> last;
    const auto factorsOf = [&](std::size_t i) -> const ModuleFactors& {
        if (!last || last->first != i) {
            last.reset(); // before making the next pair: one module's factors at a time
            ModuleFactors f = replaced ? replaced(i) : source.factors(i);
            if (!f.fits(modules[i]))
                throw Error(folder, "cannot write module " + modules[i].name +
                                        ": the replacement factors' shapes differ from the "
                                        "original's");
            last.emplace(i, std::move(f));
        }
        return last->second;
    };
    const std::string tensorFile = (fs::path(folder) / kTensorFileName).string();
    const auto factorMaker = [&](std::size_t i, char factor, DType type) {
        return [&factorsOf, &modules, &tensorFile, i, factor, type] {
            const ModuleFactors& f = factorsOf(i);
            return toStoredBytes(factor == 'A' ? f.A : f.B, type, tensorFile,
                                 factor == 'A' ? modules[i].keyA : modules[i].keyB);
        };
    };

    std::vector<TensorView> views;
    if (const SafetensorsFile* file = source.file()) {
        std::map<std::string, std::pair<std::size_t, char>> factorOf; // tensor -> module, A/B
        if (replaced) {
            for (std::size_t i = 0; i < modules.size(); ++i) {
                factorOf[modules[i].keyA] = {i, 'A'};
                factorOf[modules[i].keyB] = {i, 'B'};
            }
        }
        for (const TensorEntry& entry : file->tensors()) {
            TensorView view{entry.name, entry.dtype, entry.shape, file->bytes(entry), {}};
            if (const auto it = factorOf.find(entry.name); it != factorOf.end()) {
                view.bytes = {};
                view.make = factorMaker(it->second.first, it->second.second, entry.dtype);
            }
            views.push_back(std::move(view));
        }
    } else {
        for (std::size_t i = 0; i < modules.size(); ++i) {
            const LoraModule& module = modules[i];
            const std::int64_t m = module.m, n = module.n, r = module.r;
            views.push_back(
                {module.keyA, module.dtype, {r, n}, {}, factorMaker(i, 'A', module.dtype)});
            views.push_back(
                {module.keyB, module.dtype, {m, r}, {}, factorMaker(i, 'B', module.dtype)});
        }
        for (std::size_t i = 0; i < source.otherTensors().size(); ++i)
            views.push_back(source.otherTensor(i));
    }
    // Both files are written before either takes its name: a disk that fills up on the config
    // must not leave new tensors beside an old config, or tensors without one.
    StagedFiles files;
    writeSafetensorViews((fs::path(folder) / kTensorFileName).string(), views, source.metadata(),
                         &files);
    stagePeftConfig(files, folder, source.config() ? &source.config()->rawJson : nullptr);
    files.commit();
    removeCreated.keep = true;
}

} // namespace lq
