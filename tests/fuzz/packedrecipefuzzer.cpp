// fuzz_packedrecipe: the fuzz bytes are a recipe that BUILDS a packed adapter with the HDF5 API.
//
// fuzz_packed mutates the file's bytes, and HDF5's checksums and B-trees stop most of its
// inputs long before the structure the reader trusts. Here the file is always well-formed HDF5:
// a valid file from the real writer, then edits chosen by the recipe (packedmutations.h):
// a dataset moved to external storage, a virtual, compact or chunked layout with filters, a
// hard link swapped for a soft, external or user-defined one, an attribute deleted, retyped or
// given odd bytes, an extent changed, a dataset never written, a module-table field overwritten.
//
// Contract under test (packedfile.h, issue 25): readPackedAdapter touches only the bytes of
// the file it was given and throws only lq::Error naming that file. Checked here: any other
// exception or crash; a file that reaches data outside itself (external storage, virtual
// dataset, a link other than a hard link on an object the reader opens) accepted; the bytes of
// the "secret" file the recipe points at inside an accepted adapter. For an accepted file the
// validate command's path (the kernels against the scalar reference) runs too.
//
// Recipe: byte 0 picks the base file (F16 scales and per-component groups, or F32 and
// flattened); then operations, each an opcode byte and its arguments (missing bytes read 0).

#include "core/io/dtype.h"
#include "core/io/error.h"
#include "core/packed/kernelvalidation.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedformat.h"
#include "fuzzinput.h"
#include "packedmutations.h"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

using lqfuzz::scratchFolder;

constexpr std::string_view kSecret = "LQ-SECRET-BYTES!";

// The recipe, read from the front.
class Recipe
{
public:
    Recipe(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
    bool done() const { return m_at >= m_size; }
    std::uint8_t byte() { return m_at < m_size ? m_data[m_at++] : 0; }
    unsigned pick(unsigned count) { return byte() % count; }
    std::uint32_t u16() { return std::uint32_t(byte()) | std::uint32_t(byte()) << 8; }
    std::string bytes(std::size_t count)
    {
        std::string out;
        while (out.size() < count && !done())
            out.push_back(char(byte()));
        return out;
    }

private:
    const std::uint8_t* m_data;
    std::size_t m_size;
    std::size_t m_at = 0;
};

// Deterministic codes and scales for the base files (no engine in this target).
lq::PackedVectors part(int count, int length, bool binary, int bits, const lq::QuantSettings& s,
                       std::uint32_t& state)
{
    const auto next = [&] {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    };
    lq::QuantizedVectors q;
    q.scheme = binary ? lq::QuantizedVectors::Scheme::Binary : lq::QuantizedVectors::Scheme::Rtn;
    q.bits = binary ? 1 : bits;
    q.count = count;
    q.length = length;
    q.groupSize = s.groupSize;
    q.layout = s.layout;
    q.scaleFormat = s.scaleFormat;
    q.codes.resize(std::size_t(q.valueCount()));
    for (auto& c : q.codes)
        c = std::uint8_t(next() & ((1u << q.bits) - 1u));
    q.scales.resize(std::size_t(q.groupCount()));
    for (auto& d : q.scales)
        d = lq::halfToFloat(lq::floatToHalf(float(next() % 1000 + 1) * 1e-4f));
    if (!binary) {
        q.zeros.resize(q.scales.size());
        for (auto& z : q.zeros)
            z = std::uint8_t(next() & ((1u << bits) - 1u));
    }
    return lq::packVectors(q, "fuzz base part");
}

lq::PackedAdapter baseAdapter(int variant)
{
    lq::PackedAdapter adapter;
    lq::QuantSettings& s = adapter.settings;
    s.bitsHigh = 3;
    s.groupSize = 5;
    s.layout = variant ? lq::GroupLayout::Flattened : lq::GroupLayout::PerComponent;
    s.scaleFormat = variant ? lq::ScaleFormat::F32 : lq::ScaleFormat::F16;
    adapter.source.path = "/models/fuzz-base";
    adapter.source.configJson = R"({"r": 3, "lora_alpha": 6})";
    adapter.source.metadata = {{"format", "pt"}};
    std::uint32_t state = 7u + unsigned(variant);
    const struct
    {
        int m, n, r, h;
    } shapes[] = {{6, 7, 3, 1}, {5, 4, 2, 2}};
    int index = 0;
    for (const auto& shape : shapes) {
        lq::PackedModule module;
        module.name = "base_model.model.layers." + std::to_string(index++) + ".proj";
        module.keyA = module.name + ".lora_A.weight";
        module.keyB = module.name + ".lora_B.weight";
        module.m = shape.m;
        module.n = shape.n;
        module.r = shape.r;
        module.h = shape.h;
        module.bitsHigh = s.bitsHigh;
        module.bHigh = part(shape.h, shape.m, false, s.bitsHigh, s, state);
        module.aHigh = part(shape.h, shape.n, false, s.bitsHigh, s, state);
        module.bLow = part(shape.r - shape.h, shape.m, true, 1, s, state);
        module.aLow = part(shape.r - shape.h, shape.n, true, 1, s, state);
        adapter.modules.push_back(std::move(module));
    }
    adapter.otherTensors.push_back(
        {"score.weight", lq::DType::F16, {2, 3}, std::vector<std::byte>(12, std::byte(0x3c))});
    adapter.otherTensors.push_back(
        {"buffer", lq::DType::I64, {2}, std::vector<std::byte>(16, std::byte(1))});
    return adapter;
}

std::string readWhole(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Setup
{
    std::array<std::string, 2> base; // the writer's files, as bytes
    std::string secret;              // a file outside the input that it must never reach
    std::string source;              // an HDF5 file outside the input (virtual, external link)
};

const Setup& setup()
{
    static const Setup made = [] {
        // The writer's first call sets HDF5 up (no cleanup at exit, no printed errors) and must
        // come before any other HDF5 call (hdf5handle.h).
        Setup s;
        for (int variant = 0; variant < 2; ++variant) {
            const std::string path =
                scratchFolder() + "/base-" + std::to_string(variant) + ".lqa.h5";
            lq::writePackedAdapter(path, baseAdapter(variant));
            s.base[std::size_t(variant)] = readWhole(path);
        }
        s.secret = scratchFolder() + "/secret.bin";
        std::string secret;
        while (secret.size() < 4096)
            secret += kSecret;
        lqfuzz::writeInputFile(s.secret, reinterpret_cast<const std::uint8_t*>(secret.data()),
                               secret.size());
        s.source = scratchFolder() + "/source.lqa.h5";
        lqfuzz::writeInputFile(s.source, reinterpret_cast<const std::uint8_t*>(s.base[0].data()),
                               s.base[0].size());
        return s;
    }();
    return made;
}

// The objects the reader opens: group path and link name.
struct Target
{
    const char* group;
    const char* name;
};
constexpr Target kDatasets[] = {{"/", "modules"}, {"/", "codes"},    {"/", "scales"},
                                {"/", "zeros"},   {"/tensors", "0"}, {"/tensors", "1"}};
constexpr Target kLinks[] = {{"/", "modules"}, {"/", "codes"},    {"/", "scales"},
                             {"/", "zeros"},   {"/", "settings"}, {"/", "source"},
                             {"/", "tensors"}, {"/tensors", "0"}, {"/tensors", "1"}};
constexpr const char* kObjects[] = {"/", "/settings", "/source", "/tensors/0", "/tensors/1"};
constexpr const char* kAttributes[] = {"format",
                                       "format_version",
                                       "created_by",
                                       "method",
                                       "rho",
                                       "split_rule",
                                       "fixed_h",
                                       "bits_high",
                                       "bits_low",
                                       "group_size",
                                       "group_layout",
                                       "scale_format",
                                       "refinement",
                                       "refine_steps",
                                       "refine_learning_rate",
                                       "rel_err_total",
                                       "path",
                                       "sha256",
                                       "bytes",
                                       "adapter_config",
                                       "safetensors_metadata",
                                       "name",
                                       "dtype",
                                       "shape"};
constexpr const char* kColumns[] = {"name",
                                    "suffix_a",
                                    "suffix_b",
                                    "m",
                                    "n",
                                    "r",
                                    "h",
                                    "bits_high",
                                    "dtype_a",
                                    "dtype_b",
                                    "lora_scale",
                                    "rel_err",
                                    "codes_offset",
                                    "scales_offset",
                                    "zeros_offset"};

template <typename T, std::size_t N>
const T& choose(Recipe& recipe, const T (&items)[N])
{
    return items[recipe.pick(unsigned(N))];
}

std::string key(const Target& target)
{
    return std::string(target.group) + "/" + target.name;
}

// Applies the recipe to the open file; returns the targets that must make the reader refuse
// (they point outside the file or through a link other than a hard link).
std::map<std::string, bool> apply(hid_t file, Recipe& recipe)
{
    const Setup& s = setup();
    std::map<std::string, bool> outside;
    for (int steps = 0; steps < 8 && !recipe.done(); ++steps) {
        switch (recipe.pick(9)) {
        case 0: { // a dataset's storage
            const Target& target = choose(recipe, kDatasets);
            const lqmut::Id group(H5Gopen2(file, target.group, H5P_DEFAULT), H5Gclose);
            const std::int64_t extent = lqmut::extentOf(group, target.name);
            if (!group.ok() || extent < 0)
                break;
            lqmut::Storage storage;
            storage.kind = lqmut::Storage::Kind(recipe.pick(6));
            const unsigned size = recipe.pick(4);
            const bool lazy = storage.kind == lqmut::Storage::External ||
                              storage.kind == lqmut::Storage::Virtual ||
                              storage.kind == lqmut::Storage::Unallocated;
            storage.count = hsize_t(extent);
            if (size == 1)
                storage.count += recipe.byte() % 9;
            else if (size == 2 && extent > 0)
                storage.count -= hsize_t(recipe.byte()) % hsize_t(extent);
            else if (size == 3 && lazy) // far more than the file holds
                storage.count = hsize_t(1) << (20 + recipe.pick(21));
            storage.chunk = 1 + recipe.byte() % 16;
            storage.filters = recipe.byte();
            storage.partial = recipe.byte() & 1;
            storage.offset = recipe.pick(64);
            if (storage.kind == lqmut::Storage::External)
                storage.otherFile = s.secret;
            if (storage.kind == lqmut::Storage::Virtual) {
                storage.otherFile = recipe.byte() & 1 ? s.source : s.secret;
                storage.otherDataset = std::string("/") + choose(recipe, kDatasets).name;
            }
            if (lqmut::replaceDataset(group, target.name, storage))
                outside[key(target)] = storage.kind == lqmut::Storage::External ||
                                       storage.kind == lqmut::Storage::Virtual;
            break;
        }
        case 1: { // a link of another kind
            const Target& target = choose(recipe, kLinks);
            const auto kind = lqmut::Link(recipe.pick(4));
            const std::string other = recipe.byte() & 1 ? s.source : s.secret;
            if (lqmut::replaceLink(file, target.group, target.name, kind, other,
                                   std::string("/") + choose(recipe, kDatasets).name))
                outside[key(target)] = true;
            break;
        }
        case 2: { // a link removed
            const Target& target = choose(recipe, kLinks);
            const lqmut::Id group(H5Gopen2(file, target.group, H5P_DEFAULT), H5Gclose);
            if (group.ok() && H5Ldelete(group, target.name, H5P_DEFAULT) >= 0)
                outside[key(target)] = false;
            break;
        }
        case 3: { // an attribute removed
            const lqmut::Id object(H5Oopen(file, choose(recipe, kObjects), H5P_DEFAULT), H5Oclose);
            const char* name = choose(recipe, kAttributes);
            if (object.ok() && H5Aexists(object, name) > 0)
                H5Adelete(object, name);
            break;
        }
        case 4: { // an attribute of another type
            const lqmut::Id object(H5Oopen(file, choose(recipe, kObjects), H5P_DEFAULT), H5Oclose);
            const char* name = choose(recipe, kAttributes);
            if (object.ok())
                lqmut::retypeAttribute(object, name, lqmut::Retype(recipe.pick(5)));
            break;
        }
        case 5: { // a string attribute with the recipe's bytes
            const lqmut::Id object(H5Oopen(file, choose(recipe, kObjects), H5P_DEFAULT), H5Oclose);
            const char* name = choose(recipe, kAttributes);
            const unsigned form = recipe.byte();
            std::string value = recipe.bytes(recipe.pick(48));
            if (form & 4) // a long one: past the module table's name limit
                value += std::string(lq::kMaxPackedNameBytes + 1 - (form & 1), 'x');
            if (object.ok())
                lqmut::writeStringAttribute(object, name, value,
                                            form & 1 ? H5T_CSET_ASCII : H5T_CSET_UTF8,
                                            H5T_str_t((form >> 1) % 3));
            break;
        }
        case 6: { // a field of the module table
            const hsize_t row = recipe.byte();
            const char* column = choose(recipe, kColumns);
            lqmut::pokeTable(file, row, column, recipe.bytes(1 + recipe.pick(16)));
            break;
        }
        case 7: { // an object the reader does not expect: another tensor, a group for a dataset
            const lqmut::Id tensors(H5Gopen2(file, "/tensors", H5P_DEFAULT), H5Gclose);
            if (!tensors.ok())
                break;
            if (recipe.byte() & 1)
                H5Lcreate_hard(file, "/codes", tensors, "2", H5P_DEFAULT, H5P_DEFAULT);
            else
                H5Gclose(H5Gcreate2(tensors, "2", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
            break;
        }
        case 8: { // a dataset with the same name but another element type
            const Target& target = choose(recipe, kDatasets);
            const lqmut::Id group(H5Gopen2(file, target.group, H5P_DEFAULT), H5Gclose);
            if (!group.ok() || H5Ldelete(group, target.name, H5P_DEFAULT) < 0)
                break;
            const hsize_t dims[1] = {hsize_t(recipe.byte())};
            const lqmut::Id space(H5Screate_simple(1, dims, nullptr), H5Sclose);
            const hid_t types[] = {H5T_STD_U16LE, H5T_IEEE_F64LE, H5T_STD_I8LE, H5T_STD_U8BE};
            const hid_t type = types[recipe.pick(4)];
            const lqmut::Id dataset(
                H5Dcreate2(group, target.name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                H5Dclose);
            std::vector<std::uint8_t> zeros(dims[0] * 8, 0);
            if (dataset.ok() && dims[0] > 0)
                H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
            outside[key(target)] = false;
            break;
        }
        }
    }
    return outside;
}

bool holdsSecret(const void* data, std::size_t size)
{
    const std::string_view bytes(static_cast<const char*>(data), size);
    return bytes.find(kSecret.substr(0, 8)) != std::string_view::npos;
}

void checkAccepted(const lq::PackedAdapter& adapter)
{
    for (const lq::TensorData& tensor : adapter.otherTensors)
        if (holdsSecret(tensor.bytes.data(), tensor.bytes.size()))
            lqfuzz::violated("the bytes of a file outside the input reached a tensor");
    for (const lq::PackedModule& module : adapter.modules) {
        for (const lq::PackedVectors* p :
             {&module.bHigh, &module.aHigh, &module.bLow, &module.aLow})
            if (holdsSecret(p->codes.data(), p->codes.size()))
                lqfuzz::violated("the bytes of a file outside the input reached the codes");
        const Eigen::MatrixXf B = lq::dequantizedB(module);
        const Eigen::MatrixXf A = lq::dequantizedA(module);
        if (!B.allFinite() || !A.allFinite())
            lqfuzz::violated("an accepted module dequantizes to NaN or Inf");
    }
    // The validate command's path. Its verdict is not a property of the reader (a LoRA scale of
    // 1e300 overflows the comparison); that it runs to the end is.
    lq::KernelValidationSettings settings;
    settings.tokens = 1;
    settings.timingRuns = 1;
    lq::validateKernels(adapter, settings);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Setup& s = setup();
    Recipe recipe(data, size);
    const std::string& base = s.base[recipe.byte() & 1];
    const std::string input = scratchFolder() + "/input.lqa.h5";
    lqfuzz::writeInputFile(input, reinterpret_cast<const std::uint8_t*>(base.data()), base.size());
    std::map<std::string, bool> outside;
    {
        const lqmut::Id file(H5Fopen(input.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
        if (!file.ok())
            lqfuzz::violated("the base file does not open (harness problem)");
        outside = apply(file, recipe);
    }
    lq::PackedAdapter adapter;
    try {
        adapter = lq::readPackedAdapter(input);
    } catch (const lq::Error& e) {
        if (std::getenv("LQ_FUZZ_VERBOSE"))
            std::fprintf(stderr, "refused: %s\n", e.what());
        if (e.file() != input || e.problem().empty())
            lqfuzz::violated("an error that does not name the file or the problem");
        return 0;
    }
    for (const auto& [target, mustRefuse] : outside)
        if (mustRefuse) {
            std::fprintf(stderr, "accepted with %s outside the file\n", target.c_str());
            lqfuzz::violated("the reader accepted a file that points outside itself");
        }
    checkAccepted(adapter);
    return 0;
}
