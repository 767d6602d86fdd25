#include "core/packed/packedunpack.h"

#include "core/io/adapter.h"
#include "core/io/atomicfile.h"
#include "core/io/error.h"

#include <filesystem>

namespace lq {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTensorFile = "adapter_model.safetensors";
constexpr const char* kConfigFile = "adapter_config.json";

bool samePath(const fs::path& a, const fs::path& b)
{
    std::error_code ec;
    return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

} // namespace

void writeUnpackedAdapter(const std::string& folder, const PackedAdapter& adapter,
                          const std::string& packedPath, UnpackType type)
{
    const fs::path out(folder);
    for (const char* name : {kTensorFile, kConfigFile})
        if (samePath(out / name, packedPath))
            throw Error(folder, "refusing to write over the packed input file");
    if (!adapter.source.path.empty()) {
        fs::path source(adapter.source.path);
        std::error_code ec;
        if (!fs::is_directory(source, ec))
            source = source.parent_path();
        if (!source.empty() && samePath(out, source))
            throw Error(folder, "refusing to write into the folder of the source adapter (" +
                                    source.string() + "); choose another output folder");
    }
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec)
        throw Error(folder, "cannot create the output folder: " + ec.message());

    // Each module is decoded when the writer reaches it, so that an unpack holds one module's
    // floats at a time rather than the whole adapter's.
    const std::string tensorFile = (out / kTensorFile).string();
    std::vector<TensorView> tensors;
    tensors.reserve(2 * adapter.modules.size() + adapter.otherTensors.size());
    for (const PackedModule& module : adapter.modules) {
        const DType typeA = type == UnpackType::F32 ? DType::F32 : module.dtypeA;
        const DType typeB = type == UnpackType::F32 ? DType::F32 : module.dtypeB;
        const std::int64_t m = module.m, n = module.n, r = module.r;
        tensors.push_back({module.keyA, typeA, {r, n}, {}, [&module, &tensorFile, typeA] {
                               return toStoredBytes(dequantizedA(module), typeA, tensorFile,
                                                    module.keyA);
                           }});
        tensors.push_back({module.keyB, typeB, {m, r}, {}, [&module, &tensorFile, typeB] {
                               return toStoredBytes(dequantizedB(module), typeB, tensorFile,
                                                    module.keyB);
                           }});
    }
    // Module order (the source's, as the module table keeps it), then the other tensors.
    for (const TensorData& tensor : adapter.otherTensors)
        tensors.push_back({tensor.name, tensor.dtype, tensor.shape, tensor.bytes, {}});
    // The tensors and the config take their names together, and a config left from another
    // adapter goes with the same commit when the source had none (stagePeftConfig).
    StagedFiles files;
    writeSafetensorViews(tensorFile, tensors, adapter.source.metadata, &files);
    stagePeftConfig(files, folder,
                    adapter.source.configJson ? &*adapter.source.configJson : nullptr);
    files.commit();
}

} // namespace lq
