// Reading .lqa.h5 files: every object, attribute and size is checked before it is trusted.

#include "core/io/error.h"
#include "core/io/jsontext.h"
#include "core/io/loadedfile.h"
#include "core/packed/hdf5prescan.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedfileschema.h"

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

constexpr std::int64_t kMaxDimension = kMaxPackedDimension;

// What a packed file holds is inside it: an object reached through a soft, external or
// user-defined link could be anything, anywhere, so only hard links are followed. Checked before
// the object is opened (opening through an external link opens the other file).
void requireHardLink(hid_t location, const char* name, const std::string& file,
                     const std::string& path)
{
#if H5_VERSION_GE(1, 12, 0)
    H5L_info2_t info;
    const herr_t status = H5Lget_info2(location, name, &info, H5P_DEFAULT);
#else
    H5L_info_t info;
    const herr_t status = H5Lget_info(location, name, &info, H5P_DEFAULT);
#endif
    if (status < 0)
        throw Error(file, "the link '" + path + "' cannot be read");
    const std::string rule = "; packed files hold only hard links to objects inside the file";
    switch (info.type) {
    case H5L_TYPE_HARD:
        return;
    case H5L_TYPE_SOFT:
        throw Error(file, "'" + path + "' is a soft link" + rule);
    case H5L_TYPE_EXTERNAL:
        throw Error(file, "'" + path + "' is an external link into another file" + rule);
    default:
        throw Error(file,
                    "'" + path + "' is a user-defined link (type " + str(info.type) + ")" + rule);
    }
}

Handle openGroup(hid_t location, const char* name, const std::string& file, const std::string& what,
                 const std::string& path)
{
    if (H5Lexists(location, name, H5P_DEFAULT) <= 0)
        throw Error(file, "the " + what + " '" + path + "' is missing");
    requireHardLink(location, name, file, path);
    return Handle(h5::check(H5Gopen2(location, name, H5P_DEFAULT), file, "cannot open the " + what),
                  H5Gclose);
}

// Reading: every attribute is checked for presence, class and shape before it is read.
class AttributeReader
{
public:
    AttributeReader(hid_t object, std::string file, std::string where, std::uint64_t fileSize)
        : m_object(object), m_file(std::move(file)), m_where(std::move(where)), m_fileSize(fileSize)
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
        if (size == 0 || size > kMaxPackedStringBytes || size > m_fileSize)
            fail(name, "has an implausible size (" + str(std::int64_t(size)) + " bytes)");
        // Read the bytes as stored (any padding convention, no conversion). The NUL padding goes;
        // a NUL before the end would cut the text, so it is refused rather than cut.
        std::string value(size, '\0');
        h5::checkStatus(H5Aread(attribute, type, value.data()), m_file,
                        label(name) + " unreadable");
        value.resize(value.find_last_not_of('\0') + 1);
        if (value.find('\0') != std::string::npos)
            fail(name, "holds a NUL byte inside its text");
        return value;
    }

    // A name (of a tensor): refused when the writer would refuse it (nameProblem).
    std::string name(const char* attribute) const
    {
        std::string value = string(attribute);
        if (const std::string problem = nameProblem(value, kMaxPackedStringBytes); !problem.empty())
            fail(attribute, "'" + shown(value) + "' " + problem);
        return value;
    }

    // Free text (a path, a program name): files from before the writer made them valid UTF-8
    // may hold other bytes, which become U+FFFD.
    std::string text(const char* name) const { return toValidUtf8(string(name)); }

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
    std::uint64_t m_fileSize;
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

// The storage of a dataset, before its extent is even asked for: HDF5 opens the files a virtual
// dataset maps to compute its extent, and reads external storage like its own. Only storage
// inside the file (contiguous, compact, chunked) without filters (the writer uses none; a
// decompression filter turns a few bytes into any amount) is read.
void checkStorageInside(hid_t dataset, const std::string& file, const std::string& label)
{
    const Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
    if (!dcpl.valid())
        throw Error(file, label + " has unreadable storage properties");
    const int external = H5Pget_external_count(dcpl);
    if (external != 0)
        throw Error(file, label + " keeps its bytes in another file (external storage); packed " +
                              "files keep all data inside");
    const H5D_layout_t layout = H5Pget_layout(dcpl);
    if (layout == H5D_VIRTUAL)
        throw Error(file, label + " is a virtual dataset that maps other files; packed files " +
                              "keep all data inside");
    if (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT && layout != H5D_CHUNKED)
        throw Error(file, label + " has an unknown storage layout (" + str(layout) + ")");
    const int filters = H5Pget_nfilters(dcpl);
    if (filters < 0)
        throw Error(file, label + " has an unreadable filter pipeline");
    if (filters > 0) {
        unsigned flags = 0;
        std::size_t values = 0;
        char name[64] = {};
        const H5Z_filter_t id =
            H5Pget_filter2(dcpl, 0, &flags, &values, nullptr, sizeof name, name, nullptr);
        name[sizeof name - 1] = '\0';
        throw Error(file, label + " is stored through the filter '" + shown(name) + "' (id " +
                              str(id) + "); packed files use no filters");
    }
}

// The bytes a dataset declares (extent times element size) bounded by the file's size, and all
// of them allocated: a dataset never written (late allocation) or with missing chunks reads as
// its fill value, which would let a small file declare gigabytes.
void checkStorageSize(hid_t dataset, std::uint64_t count, const std::string& file,
                      const std::string& label, std::uint64_t fileSize)
{
    const Handle type = typeHandle(H5Dget_type(dataset));
    const std::size_t elementBytes = type.valid() ? H5Tget_size(type) : 0;
    if (elementBytes == 0)
        throw Error(file, label + " has an unreadable element type");
    if (count > fileSize / elementBytes)
        throw Error(file, label + " declares " + str(std::int64_t(count)) + " elements of a " +
                              str(std::int64_t(elementBytes)) +
                              "-byte type, more than the whole file (" +
                              str(std::int64_t(fileSize)) + " bytes)");
    const std::uint64_t declared = count * elementBytes;
    std::uint64_t expected = declared;
    const Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
        // Every chunk is whole in the file, the last one too.
        hsize_t chunk[1] = {0};
        if (H5Pget_chunk(dcpl, 1, chunk) != 1 || chunk[0] == 0)
            throw Error(file, label + " has an invalid chunk shape");
        if (chunk[0] > fileSize / elementBytes)
            throw Error(file, label + " has chunks larger than the whole file");
        const std::uint64_t chunks = count / chunk[0] + (count % chunk[0] ? 1 : 0);
        expected = chunks * chunk[0] * elementBytes;
    }
    const std::uint64_t stored = H5Dget_storage_size(dataset);
    if (stored != expected)
        throw Error(file, label + " declares " + str(std::int64_t(declared)) + " bytes but " +
                              str(std::int64_t(stored)) + " are stored in the file (the rest " +
                              "was never written and would read as fill values)");
}

DatasetInfo openVector(hid_t location, const char* name, const std::string& file,
                       const std::string& what, const std::string& path, std::uint64_t fileSize)
{
    if (H5Lexists(location, name, H5P_DEFAULT) <= 0)
        throw Error(file, "the " + what + " dataset '" + name + "' is missing");
    requireHardLink(location, name, file, path);
    DatasetInfo info;
    info.dataset = Handle(H5Dopen2(location, name, H5P_DEFAULT), H5Dclose);
    if (!info.dataset.valid())
        throw Error(file, "the " + what + " '" + name + "' is not a readable dataset");
    const std::string label = "dataset '" + path + "'";
    checkStorageInside(info.dataset, file, label);
    const Handle space(H5Dget_space(info.dataset), H5Sclose);
    if (H5Sget_simple_extent_ndims(space) != 1)
        throw Error(file, "the " + what + " dataset '" + name + "' is not one-dimensional");
    hsize_t dims[1] = {0};
    H5Sget_simple_extent_dims(space, dims, nullptr);
    info.count = dims[0];
    checkStorageSize(info.dataset, info.count, file, label, fileSize);
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
                              shown(text) + "'");
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

QuantSettings readSettings(hid_t f, const std::string& file, std::uint64_t fileSize,
                           double& relErrTotal)
{
    const Handle group = openGroup(f, kSettingsGroup, file, "settings group", "/settings");
    const AttributeReader reader(group, file, "settings", fileSize);
    if (const std::string method = reader.string("method"); method != "loraquant")
        reader.fail("method", "is '" + shown(method) + "'; only 'loraquant' is packed");
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

PackedSource readSource(hid_t f, const std::string& file, std::uint64_t fileSize)
{
    const Handle group = openGroup(f, kSourceGroup, file, "source group", "/source");
    const AttributeReader reader(group, file, "source", fileSize);
    PackedSource source;
    source.path = reader.text("path");
    source.sha256 = reader.string("sha256");
    if (!source.sha256.empty() &&
        (source.sha256.size() != 64 ||
         source.sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
        reader.fail("sha256", "is not 64 lower-case hex digits");
    source.bytes = std::uint64_t(reader.integer("bytes"));
    if (reader.has("adapter_config"))
        source.configJson = reader.text("adapter_config");
    const std::string metadata = reader.string("safetensors_metadata");
    const nlohmann::json json =
        parseJson(metadata, file, "source attribute 'safetensors_metadata'");
    if (!json.is_object())
        reader.fail("safetensors_metadata", "is not a JSON object");
    for (const auto& [key, value] : json.items()) {
        if (!value.is_string())
            reader.fail("safetensors_metadata",
                        "holds a non-string value for '" + shown(key) + "'");
        source.metadata[key] = value.get<std::string>();
    }
    return source;
}

std::vector<TensorData> readTensors(hid_t f, const std::string& file, std::uint64_t fileSize)
{
    const Handle group = openGroup(f, kTensorsGroup, file, "group of non-LoRA tensors", "/tensors");
    H5G_info_t info;
    h5::checkStatus(H5Gget_info(group, &info), file, "cannot list the tensors group");
    std::vector<TensorData> tensors;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const std::string name = std::to_string(i);
        const std::string what = "tensor " + name;
        DatasetInfo data =
            openVector(group, name.c_str(), file, "non-LoRA tensor", "/tensors/" + name, fileSize);
        if (!sameType(data.dataset, H5T_STD_U8LE))
            throw Error(file, what + " is not stored as raw bytes (uint8)");
        const AttributeReader reader(data.dataset, file, "/tensors/" + name, fileSize);
        TensorData tensor;
        tensor.name = reader.name("name");
        const std::string dtype = reader.string("dtype");
        const std::optional<DType> type = dtypeFromName(dtype);
        if (!type)
            reader.fail("dtype", "names the unknown type '" + shown(dtype) + "'");
        tensor.dtype = *type;
        const nlohmann::json shape =
            parseJson(reader.string("shape"), file, "/tensors/" + name + " attribute 'shape'");
        if (!shape.is_array())
            reader.fail("shape", "is not a JSON list");
        std::int64_t elements = 1;
        for (const auto& extent : shape) {
            if (!extent.is_number_integer() || extent.get<std::int64_t>() < 0 ||
                extent.get<std::int64_t>() > kMaxPackedTensorElements)
                reader.fail("shape", "holds an invalid extent");
            tensor.shape.push_back(extent.get<std::int64_t>());
            elements *= tensor.shape.back();
            if (elements > kMaxPackedTensorElements)
                reader.fail("shape", "is implausibly large");
        }
        const std::uint64_t expected = std::uint64_t(elements) * elementSize(tensor.dtype);
        if (data.count != expected)
            throw Error(file, what + " (" + shown(tensor.name) + ") holds " +
                                  str(std::int64_t(data.count)) +
                                  " bytes, its dtype and shape need " +
                                  str(std::int64_t(expected)));
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

// A name column of the module table: NUL-padded to the column's width. A NUL before the padding
// would cut the name (and two names that differ after it would read the same), so the name is
// refused, as the writer refuses to store it.
std::string fixedString(const std::uint8_t* data, std::size_t size, const std::string& file,
                        const std::string& where, const char* column)
{
    std::string text(reinterpret_cast<const char*>(data), size);
    text.resize(text.find_last_not_of('\0') + 1);
    if (const std::string problem = nameProblem(text, kMaxPackedNameBytes); !problem.empty())
        throw Error(file, where + ": the " + column + " '" + shown(text) + "' " + problem);
    return text;
}

// The file opened by HDF5, after the checks that must come before HDF5 sees any byte.
struct OpenedFile
{
    Handle f;
    std::uint64_t size = 0;
};

OpenedFile openPackedFile(const std::string& file)
{
    std::error_code ec;
    if (!fs::exists(file, ec))
        throw Error(file, "no such file");
    if (fs::is_directory(file, ec))
        throw Error(file, "is a folder, not a packed .lqa.h5 file");
    // Reading the bytes first also refuses what HDF5 would block on (a FIFO) or read forever (a
    // device): LoadedFile opens regular files only.
    if (const std::string problem =
            h5::rawBytesProblem(LoadedFile::open(file, "packed file")->bytes());
        !problem.empty())
        throw Error(file, problem);
    const std::uint64_t fileSize = fs::file_size(file, ec);
    if (ec)
        throw Error(file, "cannot read the file size: " + ec.message());
    if (H5Fis_hdf5(file.c_str()) <= 0)
        throw Error(file, "not an HDF5 file (or its header is damaged)");
    Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!f.valid()) {
        const std::string detail = h5::lastErrorMessage();
        throw Error(file, "HDF5 cannot open the file; it is truncated or damaged" +
                              (detail.empty() ? std::string() : " (HDF5: " + detail + ")"));
    }
    return {std::move(f), fileSize};
}

// The root group's format name and version; returns created_by.
std::string checkFormatAttributes(const OpenedFile& opened, const std::string& file)
{
    const AttributeReader root(opened.f, file, "the root group's", opened.size);
    if (!root.has("format"))
        throw Error(file, "not a packed LoRAQuant adapter: the root group has no 'format' "
                          "attribute");
    if (const std::string format = root.string("format"); format != kPackedFormatName)
        throw Error(file, "not a packed LoRAQuant adapter: format is '" + shown(format) +
                              "', expected '" + kPackedFormatName + "'");
    if (const std::int64_t version = root.integer("format_version");
        version != kPackedFormatVersion)
        throw Error(file, "format version " + str(version) +
                              " is not supported (this build "
                              "reads version " +
                              str(kPackedFormatVersion) + ")");
    return root.has("created_by") ? root.text("created_by") : std::string();
}

// The module table's rows as bytes, read with the file's string sizes after its columns' types
// and its size were checked.
struct ModuleTable
{
    TableLayout layout;
    std::uint64_t rows = 0;
    std::vector<std::uint8_t> bytes;

    const std::uint8_t* row(std::uint64_t i) const { return bytes.data() + i * layout.rowSize(); }
};

ModuleTable readModuleTable(const OpenedFile& opened, const std::string& file)
{
    const DatasetInfo info =
        openVector(opened.f, kModulesTable, file, "module table", "/modules", opened.size);
    const Handle fileRowType = typeHandle(H5Dget_type(info.dataset));
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
    ModuleTable table;
    TableLayout& layout = table.layout;
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
    if (layout.nameSize > kMaxPackedNameBytes || layout.suffixASize > kMaxPackedNameBytes ||
        layout.suffixBSize > kMaxPackedNameBytes)
        throw Error(file, "the module table's name columns are wider than the " +
                              str(std::int64_t(kMaxPackedNameBytes)) +
                              " bytes a packed file holds in a name");
    if (info.count > kMaxPackedModules || info.count * layout.rowSize() > opened.size)
        throw Error(file, "the module table claims " + str(std::int64_t(info.count)) +
                              " modules, more than the file can hold");
    if (info.count == 0)
        throw Error(file, "the module table holds no modules; a packed adapter has at least one");
    const Handle rowType = tableType(layout, file);
    table.rows = info.count;
    table.bytes.resize(layout.rowSize() * info.count);
    readRange(info.dataset, rowType, 0, info.count, table.bytes.data(), file, "the module table");
    return table;
}

// Row i of the module table as a module with its parts' geometry (no data yet). `expected`
// holds where this module's data must start in the three data datasets (the sum of the parts
// before it) and is advanced past it.
PackedModule moduleFromRow(const ModuleTable& table, std::uint64_t i, const QuantSettings& settings,
                           std::set<std::string>& names, Offsets& expected, const std::string& file)
{
    const TableLayout& layout = table.layout;
    const std::uint8_t* row = table.row(i);
    PackedModule module;
    const std::string rowLabel = "module table row " + str(std::int64_t(i));
    module.name = fixedString(row + layout.name(), layout.nameSize, file, rowLabel, "name");
    const std::string where = rowLabel + " (" + shown(module.name) + ")";
    if (module.name.empty() || !names.insert(module.name).second)
        throw Error(file, where + ": the module name is empty or repeated");
    const std::string suffixA =
        fixedString(row + layout.suffixA(), layout.suffixASize, file, where, "suffix_a");
    const std::string suffixB =
        fixedString(row + layout.suffixB(), layout.suffixBSize, file, where, "suffix_b");
    if (suffixA.empty() || suffixB.empty() || suffixA == suffixB)
        throw Error(file, where + ": the tensor-name suffixes are empty or equal");
    module.keyA = module.name + suffixA;
    module.keyB = module.name + suffixB;
    const auto m = get<std::uint32_t>(row, layout.m());
    const auto n = get<std::uint32_t>(row, layout.n());
    const auto r = get<std::uint32_t>(row, layout.r());
    const auto h = get<std::uint32_t>(row, layout.h());
    if (m < 1 || n < 1 || r < 1 || m > kMaxDimension || n > kMaxDimension || r > kMaxDimension ||
        std::int64_t(r) * (std::int64_t(m) + n) > kMaxPackedModuleValues)
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
                              "shapes before it give (" + str(std::int64_t(expected.codes)) + ", " +
                              str(std::int64_t(expected.scales)) + ", " +
                              str(std::int64_t(expected.zeros)) + ")");
    for (int p = 0; p < 4; ++p) {
        const PackedVectors& part = *partsOf(module, p);
        expected.codes += std::uint64_t(part.codeBytes());
        expected.scales += std::uint64_t(part.groupCount());
        expected.zeros += std::uint64_t(part.zeroBytes());
    }
    return module;
}

// The three data datasets, their types checked against the settings.
struct DataDatasets
{
    DatasetInfo codes, scales, zeros;
    Handle half; // the file's binary16 type, for F16 scales
    bool f16 = true;
};

DataDatasets openDataDatasets(const OpenedFile& opened, const QuantSettings& settings,
                              const std::string& file)
{
    DataDatasets data;
    data.codes = openVector(opened.f, kCodes, file, "codes", "/codes", opened.size);
    data.scales = openVector(opened.f, kScales, file, "scales", "/scales", opened.size);
    data.zeros = openVector(opened.f, kZeros, file, "zero points", "/zeros", opened.size);
    if (!sameType(data.codes.dataset, H5T_STD_U8LE))
        throw Error(file, "the codes dataset is not uint8");
    if (!sameType(data.zeros.dataset, H5T_STD_U8LE))
        throw Error(file, "the zero points dataset is not uint8");
    data.half = halfType(file);
    data.f16 = settings.scaleFormat == ScaleFormat::F16;
    if (!sameType(data.scales.dataset, data.f16 ? hid_t(data.half) : H5T_IEEE_F32LE))
        throw Error(file, std::string("the scales dataset is not ") +
                              (data.f16 ? "IEEE binary16" : "IEEE binary32") +
                              " as settings/scale_format says");
    return data;
}

// The data datasets hold exactly what the module table's shapes need, and fit in the file.
void checkDataSizes(const DataDatasets& data, const Offsets& need, std::uint64_t fileSize,
                    const std::string& file)
{
    const auto checkSize = [&](const DatasetInfo& dataset, std::uint64_t count, const char* what,
                               std::uint64_t elementBytes) {
        if (dataset.count != count)
            throw Error(file,
                        std::string("the ") + what + " dataset holds " +
                            str(std::int64_t(dataset.count)) + " elements; the module table's " +
                            "shapes, bit widths and group size need " + str(std::int64_t(count)));
        if (count * elementBytes > fileSize)
            throw Error(file, std::string("the ") + what + " dataset is larger than the file");
    };
    checkSize(data.codes, need.codes, "codes", 1);
    checkSize(data.scales, need.scales, "scales", data.f16 ? 2 : 4);
    checkSize(data.zeros, need.zeros, "zero points", 1);
}

// One module's codes, scales and zero points from `at` on (advanced past them), then validated.
void readModuleData(const DataDatasets& data, PackedModule& module, Offsets& at,
                    const std::string& file)
{
    PackedVectors* parts[] = {&module.bHigh, &module.aHigh, &module.bLow, &module.aLow};
    const std::string what = "the data of module " + shown(module.name);
    for (PackedVectors* part : parts) {
        part->codes.assign(std::size_t(part->codeBytes()) + kStreamPadding, 0);
        readRange(data.codes.dataset, H5T_NATIVE_UINT8, at.codes, std::uint64_t(part->codeBytes()),
                  part->codes.data(), file, what);
        at.codes += std::uint64_t(part->codeBytes());
        const auto groups = std::uint64_t(part->groupCount());
        if (data.f16) {
            part->scalesF16.resize(groups);
            readRange(data.scales.dataset, data.half, at.scales, groups, part->scalesF16.data(),
                      file, what);
        } else {
            part->scalesF32.resize(groups);
            readRange(data.scales.dataset, H5T_NATIVE_FLOAT, at.scales, groups,
                      part->scalesF32.data(), file, what);
        }
        at.scales += groups;
        if (!part->isBinary()) {
            part->zeros.assign(std::size_t(part->zeroBytes()) + kStreamPadding, 0);
            readRange(data.zeros.dataset, H5T_NATIVE_UINT8, at.zeros,
                      std::uint64_t(part->zeroBytes()), part->zeros.data(), file, what);
            at.zeros += std::uint64_t(part->zeroBytes());
        }
    }
    module.validate(file);
}

// Every check before its use: the bytes, the format, the settings and source, the module table
// (geometry and offsets of every module), the data sizes, then the data.
PackedAdapter readFile(const std::string& file)
{
    const OpenedFile opened = openPackedFile(file);
    PackedAdapter adapter;
    adapter.createdBy = checkFormatAttributes(opened, file);
    adapter.settings = readSettings(opened.f, file, opened.size, adapter.relErrTotal);
    adapter.source = readSource(opened.f, file, opened.size);

    const ModuleTable table = readModuleTable(opened, file);
    const DataDatasets data = openDataDatasets(opened, adapter.settings, file);
    Offsets need;
    std::set<std::string> names;
    adapter.modules.reserve(table.rows);
    for (std::uint64_t i = 0; i < table.rows; ++i)
        adapter.modules.push_back(moduleFromRow(table, i, adapter.settings, names, need, file));
    checkDataSizes(data, need, opened.size, file);

    Offsets at;
    for (PackedModule& module : adapter.modules)
        readModuleData(data, module, at, file);
    adapter.otherTensors = readTensors(opened.f, file, opened.size);
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
