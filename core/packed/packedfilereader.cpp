// Reading .lqa.h5 files: every object, attribute and size is checked before it is trusted.

#include "../io/error.h"
#include "packedfile.h"
#include "packedfileschema.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

namespace lq {
namespace {

namespace fs = std::filesystem;
using h5::Handle;
using namespace packedfile;

// Shapes larger than this are refused on read: they would overflow the int group counts, and no
// adapter comes near them (the largest LLM projections are ~2^18 wide).
constexpr std::int64_t kMaxDimension = std::int64_t(1) << 30;
constexpr std::int64_t kMaxValuesPerModule = std::int64_t(1) << 31;

// Reading: every attribute is checked for presence, class and shape before it is read.
class AttributeReader
{
public:
    AttributeReader(hid_t object, std::string file, std::string where)
        : m_object(object), m_file(std::move(file)), m_where(std::move(where))
    {}

    bool has(const char* name) const { return H5Aexists(m_object, name) > 0; }

    std::string string(const char* name) const
    {
        const Handle attribute = open(name);
        const Handle type = typeHandle(H5Aget_type(attribute));
        if (H5Tget_class(type) != H5T_STRING)
            fail(name, "is not a string");
        // Never read: see writeString.
        if (H5Tis_variable_str(type) > 0)
            fail(name, "is a variable-length string; packed files hold fixed-length strings");
        const std::size_t size = H5Tget_size(type);
        if (size == 0 || size > (std::size_t(1) << 26))
            fail(name, "has an implausible size");
        // Read the bytes as stored (any padding convention, no conversion), cut at the first NUL.
        std::string value(size, '\0');
        h5::checkStatus(H5Aread(attribute, type, value.data()), m_file,
                        label(name) + " unreadable");
        value.resize(std::strlen(value.c_str()));
        return value;
    }

    std::int64_t integer(const char* name) const
    {
        const Handle attribute = open(name);
        const Handle type = typeHandle(H5Aget_type(attribute));
        if (H5Tget_class(type) != H5T_INTEGER)
            fail(name, "is not an integer");
        std::int64_t value = 0;
        h5::checkStatus(H5Aread(attribute, H5T_NATIVE_INT64, &value), m_file,
                        label(name) + " unreadable");
        return value;
    }

    double number(const char* name) const
    {
        const Handle attribute = open(name);
        const Handle type = typeHandle(H5Aget_type(attribute));
        const H5T_class_t cls = H5Tget_class(type);
        if (cls != H5T_FLOAT && cls != H5T_INTEGER)
            fail(name, "is not a number");
        double value = 0;
        h5::checkStatus(H5Aread(attribute, H5T_NATIVE_DOUBLE, &value), m_file,
                        label(name) + " unreadable");
        return value;
    }

    [[noreturn]] void fail(const char* name, const std::string& problem) const
    {
        throw Error(m_file, label(name) + " " + problem);
    }

private:
    std::string label(const char* name) const { return m_where + " attribute '" + name + "'"; }

    Handle open(const char* name) const
    {
        if (!has(name))
            throw Error(m_file, m_where + " lacks the attribute '" + name + "'");
        Handle attribute(H5Aopen(m_object, name, H5P_DEFAULT), H5Aclose);
        if (!attribute.valid())
            fail(name, "cannot be opened");
        const Handle space(H5Aget_space(attribute), H5Sclose);
        if (H5Sget_simple_extent_type(space) != H5S_SCALAR)
            fail(name, "is not a single value");
        return attribute;
    }

    hid_t m_object;
    std::string m_file;
    std::string m_where;
};

template <typename T>
T get(const std::uint8_t* row, std::size_t offset)
{
    T value;
    std::memcpy(&value, row + offset, sizeof value);
    return value;
}

struct DatasetInfo
{
    Handle dataset;
    std::uint64_t count = 0;
};

DatasetInfo openVector(hid_t location, const char* name, const std::string& file,
                       const std::string& what)
{
    if (H5Lexists(location, name, H5P_DEFAULT) <= 0)
        throw Error(file, "the " + what + " dataset '" + name + "' is missing");
    DatasetInfo info;
    info.dataset = Handle(H5Dopen2(location, name, H5P_DEFAULT), H5Dclose);
    if (!info.dataset.valid())
        throw Error(file, "the " + what + " '" + name + "' is not a readable dataset");
    const Handle space(H5Dget_space(info.dataset), H5Sclose);
    if (H5Sget_simple_extent_ndims(space) != 1)
        throw Error(file, "the " + what + " dataset '" + name + "' is not one-dimensional");
    hsize_t dims[1] = {0};
    H5Sget_simple_extent_dims(space, dims, nullptr);
    info.count = dims[0];
    return info;
}

bool sameType(hid_t dataset, hid_t expected)
{
    const Handle type = typeHandle(H5Dget_type(dataset));
    return type.valid() && H5Tequal(type, expected) > 0;
}

// Reads elements [offset, offset + count) of a one-dimensional dataset into `out`.
void readRange(hid_t dataset, hid_t memType, std::uint64_t offset, std::uint64_t count, void* out,
               const std::string& file, const std::string& what)
{
    if (count == 0)
        return;
    const Handle fileSpace(H5Dget_space(dataset), H5Sclose);
    const hsize_t start[1] = {offset}, size[1] = {count};
    h5::checkStatus(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nullptr, size, nullptr),
                    file, "cannot select " + what);
    const Handle memSpace(H5Screate_simple(1, size, nullptr), H5Sclose);
    h5::checkStatus(H5Dread(dataset, memType, memSpace, fileSpace, H5P_DEFAULT, out), file,
                    "cannot read " + what);
}

template <typename Enum>
Enum parseName(const std::string& file, const char* what, const std::string& text,
               std::optional<Enum> (*parse)(std::string_view))
{
    const std::optional<Enum> value = parse(text);
    if (!value)
        throw Error(file, std::string("settings attribute '") + what + "' has the unknown value '" +
                              text + "'");
    return *value;
}

std::int64_t intInRange(const AttributeReader& reader, const char* name, std::int64_t low,
                        std::int64_t high)
{
    const std::int64_t value = reader.integer(name);
    if (value < low || value > high)
        reader.fail(name, "is " + str(value) + ", outside " + str(low) + ".." + str(high));
    return value;
}

QuantSettings readSettings(hid_t f, const std::string& file, double& relErrTotal)
{
    if (H5Lexists(f, kSettingsGroup, H5P_DEFAULT) <= 0)
        throw Error(file, "the settings group '/settings' is missing");
    const Handle group(
        h5::check(H5Gopen2(f, kSettingsGroup, H5P_DEFAULT), file, "cannot open the settings group"),
        H5Gclose);
    const AttributeReader reader(group, file, "settings");
    if (const std::string method = reader.string("method"); method != "loraquant")
        reader.fail("method", "is '" + method + "'; only 'loraquant' is packed");
    QuantSettings s;
    s.rho = reader.number("rho");
    s.split =
        parseName<SplitRule>(file, "split_rule", reader.string("split_rule"), splitRuleFromString);
    s.fixedH = int(intInRange(reader, "fixed_h", 0, kMaxDimension));
    s.bitsHigh = int(intInRange(reader, "bits_high", kMinCodeBits, kMaxCodeBits));
    intInRange(reader, "bits_low", 1, 1);
    s.groupSize = int(intInRange(reader, "group_size", 1, kMaxDimension));
    s.layout = parseName<GroupLayout>(file, "group_layout", reader.string("group_layout"),
                                      groupLayoutFromString);
    s.scaleFormat = parseName<ScaleFormat>(file, "scale_format", reader.string("scale_format"),
                                           scaleFormatFromString);
    s.refine = parseName<Refinement>(file, "refinement", reader.string("refinement"),
                                     refinementFromString);
    s.refineSteps = int(intInRange(reader, "refine_steps", 0, kMaxDimension));
    s.refineLearningRate = reader.number("refine_learning_rate");
    relErrTotal = reader.number("rel_err_total");
    return s;
}

PackedSource readSource(hid_t f, const std::string& file)
{
    if (H5Lexists(f, kSourceGroup, H5P_DEFAULT) <= 0)
        throw Error(file, "the source group '/source' is missing");
    const Handle group(
        h5::check(H5Gopen2(f, kSourceGroup, H5P_DEFAULT), file, "cannot open the source group"),
        H5Gclose);
    const AttributeReader reader(group, file, "source");
    PackedSource source;
    source.path = reader.string("path");
    source.sha256 = reader.string("sha256");
    if (!source.sha256.empty() &&
        (source.sha256.size() != 64 ||
         source.sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
        reader.fail("sha256", "is not 64 lower-case hex digits");
    source.bytes = std::uint64_t(reader.integer("bytes"));
    if (reader.has("adapter_config"))
        source.configJson = reader.string("adapter_config");
    const std::string metadata = reader.string("safetensors_metadata");
    const nlohmann::json json = nlohmann::json::parse(metadata, nullptr, false);
    if (!json.is_object())
        reader.fail("safetensors_metadata", "is not a JSON object");
    for (const auto& [key, value] : json.items()) {
        if (!value.is_string())
            reader.fail("safetensors_metadata", "holds a non-string value for '" + key + "'");
        source.metadata[key] = value.get<std::string>();
    }
    return source;
}

std::vector<TensorData> readTensors(hid_t f, const std::string& file)
{
    if (H5Lexists(f, kTensorsGroup, H5P_DEFAULT) <= 0)
        throw Error(file, "the group of non-LoRA tensors '/tensors' is missing");
    const Handle group(
        h5::check(H5Gopen2(f, kTensorsGroup, H5P_DEFAULT), file, "cannot open the tensors group"),
        H5Gclose);
    H5G_info_t info;
    h5::checkStatus(H5Gget_info(group, &info), file, "cannot list the tensors group");
    std::vector<TensorData> tensors;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const std::string name = std::to_string(i);
        const std::string what = "tensor " + name;
        DatasetInfo data = openVector(group, name.c_str(), file, "non-LoRA tensor");
        if (!sameType(data.dataset, H5T_STD_U8LE))
            throw Error(file, what + " is not stored as raw bytes (uint8)");
        const AttributeReader reader(data.dataset, file, "/tensors/" + name);
        TensorData tensor;
        tensor.name = reader.string("name");
        const std::string dtype = reader.string("dtype");
        const std::optional<DType> type = dtypeFromName(dtype);
        if (!type)
            reader.fail("dtype", "names the unknown type '" + dtype + "'");
        tensor.dtype = *type;
        const nlohmann::json shape = nlohmann::json::parse(reader.string("shape"), nullptr, false);
        if (!shape.is_array())
            reader.fail("shape", "is not a JSON list");
        std::int64_t elements = 1;
        for (const auto& extent : shape) {
            if (!extent.is_number_integer() || extent.get<std::int64_t>() < 0 ||
                extent.get<std::int64_t>() > (std::int64_t(1) << 40))
                reader.fail("shape", "holds an invalid extent");
            tensor.shape.push_back(extent.get<std::int64_t>());
            elements *= tensor.shape.back();
            if (elements > (std::int64_t(1) << 40))
                reader.fail("shape", "is implausibly large");
        }
        const std::uint64_t expected = std::uint64_t(elements) * elementSize(tensor.dtype);
        if (data.count != expected)
            throw Error(file,
                        what + " (" + tensor.name + ") holds " + str(std::int64_t(data.count)) +
                            " bytes, its dtype and shape need " + str(std::int64_t(expected)));
        tensor.bytes.resize(data.count);
        readRange(data.dataset, H5T_NATIVE_UINT8, 0, data.count, tensor.bytes.data(), file, what);
        tensors.push_back(std::move(tensor));
    }
    return tensors;
}

// A part's geometry from the module's row and the adapter's settings.
PackedVectors partShape(int count, int length, bool binary, int bits, const QuantSettings& s)
{
    PackedVectors part;
    part.scheme = binary ? QuantizedVectors::Scheme::Binary : QuantizedVectors::Scheme::Rtn;
    part.bits = binary ? 1 : bits;
    part.count = count;
    part.length = length;
    part.groupSize = s.groupSize;
    part.layout = s.layout;
    part.scaleFormat = s.scaleFormat;
    return part;
}

std::string fixedString(const std::uint8_t* data, std::size_t size)
{
    std::string text(reinterpret_cast<const char*>(data), size);
    text.resize(std::strlen(text.c_str()));
    return text;
}

PackedAdapter readFile(const std::string& path)
{
    const std::string& file = path;
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(file, "no such file");
    if (fs::is_directory(path, ec))
        throw Error(file, "is a folder, not a packed .lqa.h5 file");
    const std::uint64_t fileSize = fs::file_size(path, ec);
    if (ec)
        throw Error(file, "cannot read the file size: " + ec.message());
    if (H5Fis_hdf5(path.c_str()) <= 0)
        throw Error(file, "not an HDF5 file (or its header is damaged)");
    const Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!f.valid()) {
        const std::string detail = h5::lastErrorMessage();
        throw Error(file, "HDF5 cannot open the file; it is truncated or damaged" +
                              (detail.empty() ? std::string() : " (HDF5: " + detail + ")"));
    }

    const AttributeReader root(f, file, "the root group's");
    if (!root.has("format"))
        throw Error(file, "not a packed LoRAQuant adapter: the root group has no 'format' "
                          "attribute");
    if (const std::string format = root.string("format"); format != kPackedFormatName)
        throw Error(file, "not a packed LoRAQuant adapter: format is '" + format + "', expected '" +
                              kPackedFormatName + "'");
    if (const std::int64_t version = root.integer("format_version");
        version != kPackedFormatVersion)
        throw Error(file, "format version " + str(version) +
                              " is not supported (this build "
                              "reads version " +
                              str(kPackedFormatVersion) + ")");

    PackedAdapter adapter;
    adapter.createdBy = root.has("created_by") ? root.string("created_by") : std::string();
    adapter.settings = readSettings(f, file, adapter.relErrTotal);
    adapter.source = readSource(f, file);
    const QuantSettings& settings = adapter.settings;

    // The module table: check its columns' types, then read it with the file's string sizes.
    DatasetInfo tableInfo = openVector(f, kModulesTable, file, "module table");
    const Handle fileRowType = typeHandle(H5Dget_type(tableInfo.dataset));
    if (H5Tget_class(fileRowType) != H5T_COMPOUND)
        throw Error(file, "the module table is not a table (compound dataset)");
    const auto column = [&](const char* name, H5T_class_t cls) -> Handle {
        const int index = H5Tget_member_index(fileRowType, name);
        if (index < 0)
            throw Error(file, std::string("the module table lacks the column '") + name + "'");
        Handle type = typeHandle(H5Tget_member_type(fileRowType, unsigned(index)));
        if (H5Tget_class(type) != cls || (cls == H5T_STRING && H5Tis_variable_str(type) > 0))
            throw Error(file,
                        std::string("the module table's column '") + name + "' has the wrong type");
        return type;
    };
    TableLayout layout;
    layout.nameSize = H5Tget_size(column("name", H5T_STRING));
    layout.suffixASize = H5Tget_size(column("suffix_a", H5T_STRING));
    layout.suffixBSize = H5Tget_size(column("suffix_b", H5T_STRING));
    for (const char* name :
         {"m", "n", "r", "h", "bits_high", "codes_offset", "scales_offset", "zeros_offset"})
        column(name, H5T_INTEGER);
    column("dtype_a", H5T_ENUM);
    column("dtype_b", H5T_ENUM);
    column("lora_scale", H5T_FLOAT);
    column("rel_err", H5T_FLOAT);
    if (layout.nameSize > 65536 || layout.suffixASize > 65536 || layout.suffixBSize > 65536)
        throw Error(file, "the module table's name columns are implausibly wide");
    if (tableInfo.count > (std::uint64_t(1) << 24) || tableInfo.count * layout.rowSize() > fileSize)
        throw Error(file, "the module table claims " + str(std::int64_t(tableInfo.count)) +
                              " modules, more than the file can hold");
    const Handle rowType = tableType(layout, file);
    std::vector<std::uint8_t> table(layout.rowSize() * tableInfo.count);
    readRange(tableInfo.dataset, rowType, 0, tableInfo.count, table.data(), file,
              "the module table");

    DatasetInfo codes = openVector(f, kCodes, file, "codes");
    DatasetInfo scales = openVector(f, kScales, file, "scales");
    DatasetInfo zeros = openVector(f, kZeros, file, "zero points");
    if (!sameType(codes.dataset, H5T_STD_U8LE))
        throw Error(file, "the codes dataset is not uint8");
    if (!sameType(zeros.dataset, H5T_STD_U8LE))
        throw Error(file, "the zero points dataset is not uint8");
    const Handle half = halfType(file);
    const bool f16 = settings.scaleFormat == ScaleFormat::F16;
    if (!sameType(scales.dataset, f16 ? hid_t(half) : H5T_IEEE_F32LE))
        throw Error(file, std::string("the scales dataset is not ") +
                              (f16 ? "IEEE binary16" : "IEEE binary32") +
                              " as settings/scale_format says");

    // Geometry and offsets of every module first, then the sizes, then the data.
    Offsets expected;
    std::set<std::string> names;
    adapter.modules.resize(tableInfo.count);
    for (std::uint64_t i = 0; i < tableInfo.count; ++i) {
        const std::uint8_t* row = table.data() + i * layout.rowSize();
        PackedModule& module = adapter.modules[i];
        module.name = fixedString(row + layout.name(), layout.nameSize);
        const std::string where =
            "module table row " + str(std::int64_t(i)) + " (" + module.name + ")";
        if (module.name.empty() || !names.insert(module.name).second)
            throw Error(file, where + ": the module name is empty or repeated");
        const std::string suffixA = fixedString(row + layout.suffixA(), layout.suffixASize);
        const std::string suffixB = fixedString(row + layout.suffixB(), layout.suffixBSize);
        if (suffixA.empty() || suffixB.empty() || suffixA == suffixB)
            throw Error(file, where + ": the tensor-name suffixes are empty or equal");
        module.keyA = module.name + suffixA;
        module.keyB = module.name + suffixB;
        const auto m = get<std::uint32_t>(row, layout.m());
        const auto n = get<std::uint32_t>(row, layout.n());
        const auto r = get<std::uint32_t>(row, layout.r());
        const auto h = get<std::uint32_t>(row, layout.h());
        if (m < 1 || n < 1 || r < 1 || m > kMaxDimension || n > kMaxDimension ||
            r > kMaxDimension || std::int64_t(r) * (std::int64_t(m) + n) > kMaxValuesPerModule)
            throw Error(file, where + ": shape m " + str(m) + ", n " + str(n) + ", r " + str(r) +
                                  " is empty or implausibly large");
        if (h > r)
            throw Error(file, where + ": h = " + str(h) + " exceeds r = " + str(r));
        module.m = int(m);
        module.n = int(n);
        module.r = int(r);
        module.h = int(h);
        module.bitsHigh = get<std::uint8_t>(row, layout.bitsHigh());
        if (module.bitsHigh < kMinCodeBits || module.bitsHigh > kMaxCodeBits)
            throw Error(file, where + ": bits_high = " + str(module.bitsHigh) + " is not in 1..8");
        // The enum conversion mapped the names; a value outside them reads as 0xFF or similar.
        const auto dtypeA = get<std::uint8_t>(row, layout.dtypeA());
        const auto dtypeB = get<std::uint8_t>(row, layout.dtypeB());
        if (dtypeA > std::uint8_t(DType::F64) || dtypeB > std::uint8_t(DType::F64))
            throw Error(file, where + ": unknown source dtype");
        module.dtypeA = DType(dtypeA);
        module.dtypeB = DType(dtypeB);
        module.loraScale = get<double>(row, layout.loraScale());
        module.relErr = get<double>(row, layout.relErr());
        if (!std::isfinite(module.loraScale))
            throw Error(file, where + ": lora_scale is not finite");

        module.bHigh = partShape(module.h, module.m, false, module.bitsHigh, settings);
        module.aHigh = partShape(module.h, module.n, false, module.bitsHigh, settings);
        module.bLow = partShape(module.r - module.h, module.m, true, 1, settings);
        module.aLow = partShape(module.r - module.h, module.n, true, 1, settings);

        const Offsets stored{get<std::uint64_t>(row, layout.codesOffset()),
                             get<std::uint64_t>(row, layout.scalesOffset()),
                             get<std::uint64_t>(row, layout.zerosOffset())};
        if (stored.codes != expected.codes || stored.scales != expected.scales ||
            stored.zeros != expected.zeros)
            throw Error(file, where + ": offsets (codes " + str(std::int64_t(stored.codes)) +
                                  ", scales " + str(std::int64_t(stored.scales)) + ", zeros " +
                                  str(std::int64_t(stored.zeros)) + ") differ from those the " +
                                  "shapes before it give (" + str(std::int64_t(expected.codes)) +
                                  ", " + str(std::int64_t(expected.scales)) + ", " +
                                  str(std::int64_t(expected.zeros)) + ")");
        for (int p = 0; p < 4; ++p) {
            const PackedVectors& part = *partsOf(module, p);
            expected.codes += std::uint64_t(part.codeBytes());
            expected.scales += std::uint64_t(part.groupCount());
            expected.zeros += std::uint64_t(part.zeroBytes());
        }
    }
    const auto checkSize = [&](const DatasetInfo& data, std::uint64_t need, const char* what,
                               std::uint64_t elementBytes) {
        if (data.count != need)
            throw Error(file, std::string("the ") + what + " dataset holds " +
                                  str(std::int64_t(data.count)) + " elements; the module table's " +
                                  "shapes, bit widths and group size need " +
                                  str(std::int64_t(need)));
        if (need * elementBytes > fileSize)
            throw Error(file, std::string("the ") + what + " dataset is larger than the file");
    };
    checkSize(codes, expected.codes, "codes", 1);
    checkSize(scales, expected.scales, "scales", f16 ? 2 : 4);
    checkSize(zeros, expected.zeros, "zero points", 1);

    Offsets at;
    for (PackedModule& module : adapter.modules) {
        PackedVectors* parts[] = {&module.bHigh, &module.aHigh, &module.bLow, &module.aLow};
        for (PackedVectors* part : parts) {
            const std::string what = "the data of module " + module.name;
            part->codes.assign(std::size_t(part->codeBytes()) + kStreamPadding, 0);
            readRange(codes.dataset, H5T_NATIVE_UINT8, at.codes, std::uint64_t(part->codeBytes()),
                      part->codes.data(), file, what);
            at.codes += std::uint64_t(part->codeBytes());
            const auto groups = std::uint64_t(part->groupCount());
            if (f16) {
                part->scalesF16.resize(groups);
                readRange(scales.dataset, half, at.scales, groups, part->scalesF16.data(), file,
                          what);
            } else {
                part->scalesF32.resize(groups);
                readRange(scales.dataset, H5T_NATIVE_FLOAT, at.scales, groups,
                          part->scalesF32.data(), file, what);
            }
            at.scales += groups;
            if (!part->isBinary()) {
                part->zeros.assign(std::size_t(part->zeroBytes()) + kStreamPadding, 0);
                readRange(zeros.dataset, H5T_NATIVE_UINT8, at.zeros,
                          std::uint64_t(part->zeroBytes()), part->zeros.data(), file, what);
                at.zeros += std::uint64_t(part->zeroBytes());
            }
        }
        module.validate(file);
    }
    adapter.otherTensors = readTensors(f, file);
    return adapter;
}

} // namespace

PackedAdapter readPackedAdapter(const std::string& path)
{
    const std::lock_guard lock(h5::libraryMutex());
    h5::silenceErrorPrinting();
    return readFile(path);
}

} // namespace lq
