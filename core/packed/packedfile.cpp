#include "packedfile.h"

#include "../io/atomicfile.h"
#include "../io/error.h"
#include "hdf5handle.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <vector>

#ifndef LQ_VERSION
#define LQ_VERSION "unknown"
#endif

namespace lq {
namespace {

namespace fs = std::filesystem;
using h5::Handle;

// Names in the file (FORMAT.md). Changing any of them is a new format version.
constexpr const char* kModulesTable = "modules";
constexpr const char* kCodes = "codes";
constexpr const char* kScales = "scales";
constexpr const char* kZeros = "zeros";
constexpr const char* kSourceGroup = "source";
constexpr const char* kSettingsGroup = "settings";
constexpr const char* kTensorsGroup = "tensors";

// Shapes larger than this are refused on read: they would overflow the int group counts, and no
// adapter comes near them (the largest LLM projections are ~2^18 wide).
constexpr std::int64_t kMaxDimension = std::int64_t(1) << 30;
constexpr std::int64_t kMaxValuesPerModule = std::int64_t(1) << 31;

std::string str(std::int64_t value)
{
    return std::to_string(value);
}

// ---- types -----------------------------------------------------------------------------------

Handle typeHandle(hid_t id)
{
    return Handle(id, H5Tclose);
}

// IEEE binary16, little-endian: sign bit 15, exponent bits 10..14 (bias 15), mantissa 0..9. h5py
// reads it as numpy float16.
Handle halfType(const std::string& file)
{
    Handle type = typeHandle(h5::check(H5Tcopy(H5T_IEEE_F32LE), file, "cannot create a type"));
    h5::checkStatus(H5Tset_fields(type, 15, 10, 5, 0, 10), file, "cannot define binary16");
    h5::checkStatus(H5Tset_size(type, 2), file, "cannot define binary16");
    h5::checkStatus(H5Tset_ebias(type, 15), file, "cannot define binary16");
    return type;
}

Handle fixedStringType(std::size_t size, const std::string& file)
{
    Handle type = typeHandle(h5::check(H5Tcopy(H5T_C_S1), file, "cannot create a string type"));
    h5::checkStatus(H5Tset_size(type, std::max<std::size_t>(size, 1)), file,
                    "cannot create a string type");
    h5::checkStatus(H5Tset_strpad(type, H5T_STR_NULLPAD), file, "cannot create a string type");
    h5::checkStatus(H5Tset_cset(type, H5T_CSET_UTF8), file, "cannot create a string type");
    return type;
}

// The source's element types, as an HDF5 enum over uint8 with lq::DType's values.
Handle dtypeEnumType(const std::string& file)
{
    Handle type = typeHandle(h5::check(H5Tenum_create(H5T_STD_U8LE), file, "cannot create a type"));
    for (const DType d : {DType::F32, DType::F16, DType::BF16, DType::F64}) {
        const auto value = std::uint8_t(d);
        const std::string name(dtypeName(d));
        h5::checkStatus(H5Tenum_insert(type, name.c_str(), &value), file, "cannot create a type");
    }
    return type;
}

// ---- attributes ------------------------------------------------------------------------------

Handle scalarSpace(const std::string& file)
{
    return Handle(h5::check(H5Screate(H5S_SCALAR), file, "cannot create a dataspace"), H5Sclose);
}

void writeAttribute(hid_t object, const char* name, hid_t fileType, hid_t memType,
                    const void* value, const std::string& file)
{
    const Handle space = scalarSpace(file);
    const Handle attribute(
        h5::check(H5Acreate2(object, name, fileType, space, H5P_DEFAULT, H5P_DEFAULT), file,
                  std::string("cannot create attribute ") + name),
        H5Aclose);
    h5::checkStatus(H5Awrite(attribute, memType, value), file,
                    std::string("cannot write attribute ") + name);
}

void writeString(hid_t object, const char* name, const std::string& value, const std::string& file)
{
    if (value.find('\0') != std::string::npos)
        throw Error(file, std::string("attribute ") + name + " would contain a NUL character");
    // Fixed-length: libhdf5 1.10 reads variable-length strings through its global heap, where
    // a damaged file makes it overrun a buffer or loop forever (found with fuzz_packed), so the
    // reader refuses them.
    const Handle type = fixedStringType(value.size(), file);
    writeAttribute(object, name, type, type, value.c_str(), file);
}

void writeInt(hid_t object, const char* name, std::int64_t value, const std::string& file)
{
    writeAttribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, file);
}

void writeUInt(hid_t object, const char* name, std::uint64_t value, const std::string& file)
{
    writeAttribute(object, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value, file);
}

void writeDouble(hid_t object, const char* name, double value, const std::string& file)
{
    writeAttribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, file);
}

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

// ---- the module table ------------------------------------------------------------------------

// One row of /modules, packed without padding (FORMAT.md lists the columns).
struct TableLayout
{
    std::size_t nameSize = 1, suffixASize = 1, suffixBSize = 1;

    std::size_t name() const { return 0; }
    std::size_t suffixA() const { return name() + nameSize; }
    std::size_t suffixB() const { return suffixA() + suffixASize; }
    std::size_t m() const { return suffixB() + suffixBSize; }
    std::size_t n() const { return m() + 4; }
    std::size_t r() const { return n() + 4; }
    std::size_t h() const { return r() + 4; }
    std::size_t bitsHigh() const { return h() + 4; }
    std::size_t dtypeA() const { return bitsHigh() + 1; }
    std::size_t dtypeB() const { return dtypeA() + 1; }
    std::size_t loraScale() const { return dtypeB() + 1; }
    std::size_t relErr() const { return loraScale() + 8; }
    std::size_t codesOffset() const { return relErr() + 8; }
    std::size_t scalesOffset() const { return codesOffset() + 8; }
    std::size_t zerosOffset() const { return scalesOffset() + 8; }
    std::size_t rowSize() const { return zerosOffset() + 8; }
};

// The same compound type serves in the file and in memory: little-endian fields at fixed
// offsets, which is the host layout (bitpacking.h asserts a little-endian host).
Handle tableType(const TableLayout& layout, const std::string& file)
{
    Handle type = typeHandle(
        h5::check(H5Tcreate(H5T_COMPOUND, layout.rowSize()), file, "cannot create the table type"));
    const Handle nameType = fixedStringType(layout.nameSize, file);
    const Handle suffixAType = fixedStringType(layout.suffixASize, file);
    const Handle suffixBType = fixedStringType(layout.suffixBSize, file);
    const Handle dtypeType = dtypeEnumType(file);
    const struct
    {
        const char* name;
        std::size_t offset;
        hid_t type;
    } fields[] = {{"name", layout.name(), nameType},
                  {"suffix_a", layout.suffixA(), suffixAType},
                  {"suffix_b", layout.suffixB(), suffixBType},
                  {"m", layout.m(), H5T_STD_U32LE},
                  {"n", layout.n(), H5T_STD_U32LE},
                  {"r", layout.r(), H5T_STD_U32LE},
                  {"h", layout.h(), H5T_STD_U32LE},
                  {"bits_high", layout.bitsHigh(), H5T_STD_U8LE},
                  {"dtype_a", layout.dtypeA(), dtypeType},
                  {"dtype_b", layout.dtypeB(), dtypeType},
                  {"lora_scale", layout.loraScale(), H5T_IEEE_F64LE},
                  {"rel_err", layout.relErr(), H5T_IEEE_F64LE},
                  {"codes_offset", layout.codesOffset(), H5T_STD_U64LE},
                  {"scales_offset", layout.scalesOffset(), H5T_STD_U64LE},
                  {"zeros_offset", layout.zerosOffset(), H5T_STD_U64LE}};
    for (const auto& field : fields)
        h5::checkStatus(H5Tinsert(type, field.name, field.offset, field.type), file,
                        "cannot create the table type");
    return type;
}

template <typename T>
void put(std::vector<std::uint8_t>& row, std::size_t offset, T value)
{
    std::memcpy(row.data() + offset, &value, sizeof value);
}

template <typename T>
T get(const std::uint8_t* row, std::size_t offset)
{
    T value;
    std::memcpy(&value, row + offset, sizeof value);
    return value;
}

// Where a module's data starts in /codes, /scales and /zeros (elements).
struct Offsets
{
    std::uint64_t codes = 0, scales = 0, zeros = 0;
};

const PackedVectors* partsOf(const PackedModule& module, int i)
{
    const PackedVectors* parts[] = {&module.bHigh, &module.aHigh, &module.bLow, &module.aLow};
    return parts[i];
}

// ---- datasets --------------------------------------------------------------------------------

Handle datasetProperties(const std::string& file)
{
    Handle dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), file, "cannot create properties"),
                H5Pclose);
    // Contiguous, no fill, no timestamps, minimal object header: the data datasets carry no
    // attributes.
    h5::checkStatus(H5Pset_obj_track_times(dcpl, false), file, "cannot set properties");
    h5::checkStatus(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), file, "cannot set properties");
    return dcpl;
}

void writeDataset(hid_t location, const char* name, hid_t fileType, hid_t memType, const void* data,
                  std::uint64_t count, bool minimalHeader, const std::string& file)
{
    const hsize_t dims[1] = {count};
    const Handle space(
        h5::check(H5Screate_simple(1, dims, nullptr), file, "cannot create a dataspace"), H5Sclose);
    const Handle dcpl = datasetProperties(file);
    if (minimalHeader)
        h5::checkStatus(H5Pset_dset_no_attrs_hint(dcpl, true), file, "cannot set properties");
    const Handle dataset(
        h5::check(H5Dcreate2(location, name, fileType, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), file,
                  std::string("cannot create dataset ") + name),
        H5Dclose);
    if (count > 0)
        h5::checkStatus(H5Dwrite(dataset, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), file,
                        std::string("cannot write dataset ") + name);
}

Handle createGroup(hid_t location, const char* name, const std::string& file)
{
    const Handle gcpl(h5::check(H5Pcreate(H5P_GROUP_CREATE), file, "cannot create properties"),
                      H5Pclose);
    h5::checkStatus(H5Pset_obj_track_times(gcpl, false), file, "cannot set properties");
    return Handle(h5::check(H5Gcreate2(location, name, H5P_DEFAULT, gcpl, H5P_DEFAULT), file,
                            std::string("cannot create group ") + name),
                  H5Gclose);
}

// The module table stores tensor names as suffixes of the module name (".lora_A.weight"): the
// full names would double the table, which is most of the per-module overhead.
std::string tensorSuffix(const std::string& key, const PackedModule& module,
                         const std::string& file)
{
    if (key.size() <= module.name.size() || key.compare(0, module.name.size(), module.name) != 0)
        throw Error(file, "module " + module.name + ": tensor name " + key +
                              " does not start with the module name");
    return key.substr(module.name.size());
}

std::string metadataJson(const std::map<std::string, std::string>& metadata)
{
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata)
        json[key] = value;
    return json.dump();
}

// Bob Jenkins' lookup3 hash (hashlittle, initial value 0): HDF5's checksum of its metadata.
std::uint32_t metadataChecksum(std::span<const std::byte> bytes)
{
    const auto rot = [](std::uint32_t x, int k) { return (x << k) | (x >> (32 - k)); };
    const auto word = [&](std::size_t at, std::size_t available) {
        std::uint32_t value = 0;
        for (std::size_t i = 0; i < 4 && i < available; ++i)
            value |= std::uint32_t(bytes[at + i]) << (8 * i);
        return value;
    };
    std::size_t left = bytes.size();
    std::uint32_t a = 0xdeadbeefu + std::uint32_t(left), b = a, c = a;
    std::size_t at = 0;
    while (left > 12) {
        a += word(at, 4);
        b += word(at + 4, 4);
        c += word(at + 8, 4);
        a -= c, a ^= rot(c, 4), c += b;
        b -= a, b ^= rot(a, 6), a += c;
        c -= b, c ^= rot(b, 8), b += a;
        a -= c, a ^= rot(c, 16), c += b;
        b -= a, b ^= rot(a, 19), a += c;
        c -= b, c ^= rot(b, 4), b += a;
        at += 12;
        left -= 12;
    }
    if (left == 0)
        return c;
    // The last 1..12 bytes, zero-padded.
    a += word(at, left);
    b += left > 4 ? word(at + 4, left - 4) : 0;
    c += left > 8 ? word(at + 8, left - 8) : 0;
    c ^= b, c -= rot(b, 14);
    a ^= c, a -= rot(c, 11);
    b ^= a, b -= rot(a, 25);
    c ^= b, c -= rot(b, 16);
    a ^= c, a -= rot(c, 4);
    b ^= a, b -= rot(a, 14);
    c ^= b, c -= rot(b, 24);
    return c;
}

// libhdf5 1.10's H5Fget_file_image clears the "open for writing" flags in the image's
// superblock (version 2 and 3) but leaves the checksum computed with them set, so the image
// would not open. The superblock is: signature (8 bytes), version, size of offsets, size of
// lengths, flags, four addresses, checksum. Recomputing is harmless where HDF5 got it right.
void fixSuperblockChecksum(std::vector<std::byte>& image, const std::string& file)
{
    constexpr std::size_t kFixed = 12;
    if (image.size() < kFixed)
        throw Error(file, "HDF5 built a file image without a superblock");
    const auto version = std::to_integer<unsigned>(image[8]);
    if (version < 2)
        return; // versions 0 and 1 have no checksum
    const std::size_t checksummed = kFixed + 4 * std::to_integer<std::size_t>(image[9]);
    if (image.size() < checksummed + 4)
        throw Error(file, "HDF5 built a file image with a short superblock");
    const std::uint32_t checksum =
        metadataChecksum(std::span<const std::byte>(image.data(), checksummed));
    for (std::size_t i = 0; i < 4; ++i)
        image[checksummed + i] = std::byte((checksum >> (8 * i)) & 0xff);
}

// The file is built in memory (HDF5's core driver, no backing store) and returned as its bytes:
// the disk is then written by writeFileAtomically, whose failures name the system's reason ("No
// space left on device", "Read-only file system"). Through HDF5's own POSIX driver they would
// only read "unable to create file" or "unable to flush", and a half-written temporary file
// would be HDF5's to close.
std::vector<std::byte> fileImage(const std::string& file, const PackedAdapter& adapter)
{
    const Handle fapl(h5::check(H5Pcreate(H5P_FILE_ACCESS), file, "cannot create properties"),
                      H5Pclose);
    constexpr std::size_t kImageIncrement = 1 << 20;
    h5::checkStatus(H5Pset_fapl_core(fapl, kImageIncrement, false), file, "cannot set properties");
    // Version 2 object headers (compact, HDF5 1.8 and later read them).
    h5::checkStatus(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST), file,
                    "cannot set properties");
    // No timestamps on the root group either: the same adapter gives the same bytes.
    const Handle fcpl(h5::check(H5Pcreate(H5P_FILE_CREATE), file, "cannot create properties"),
                      H5Pclose);
    h5::checkStatus(H5Pset_obj_track_times(fcpl, false), file, "cannot set properties");
    const Handle f(h5::check(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, fcpl, fapl), file,
                             "cannot create the file"),
                   H5Fclose);

    writeString(f, "format", kPackedFormatName, file);
    writeInt(f, "format_version", kPackedFormatVersion, file);
    writeString(f, "created_by",
                adapter.createdBy.empty() ? std::string("loraquant ") + LQ_VERSION
                                          : adapter.createdBy,
                file);

    {
        const Handle source = createGroup(f, kSourceGroup, file);
        writeString(source, "path", adapter.source.path, file);
        writeString(source, "sha256", adapter.source.sha256, file);
        writeUInt(source, "bytes", adapter.source.bytes, file);
        if (adapter.source.configJson)
            writeString(source, "adapter_config", *adapter.source.configJson, file);
        writeString(source, "safetensors_metadata", metadataJson(adapter.source.metadata), file);
    }
    {
        const QuantSettings& s = adapter.settings;
        const Handle settings = createGroup(f, kSettingsGroup, file);
        writeString(settings, "method", "loraquant", file);
        writeDouble(settings, "rho", s.rho, file);
        writeString(settings, "split_rule", toString(s.split), file);
        writeInt(settings, "fixed_h", s.fixedH, file);
        writeInt(settings, "bits_high", s.bitsHigh, file);
        writeInt(settings, "bits_low", 1, file);
        writeInt(settings, "group_size", s.groupSize, file);
        writeString(settings, "group_layout", toString(s.layout), file);
        writeString(settings, "scale_format", toString(s.scaleFormat), file);
        writeString(settings, "refinement", toString(s.refine), file);
        writeInt(settings, "refine_steps", s.refineSteps, file);
        writeDouble(settings, "refine_learning_rate", s.refineLearningRate, file);
        writeDouble(settings, "rel_err_total", adapter.relErrTotal, file);
    }

    // Module table and the three data arrays.
    TableLayout layout;
    std::uint64_t codeBytes = 0, scaleCount = 0, zeroBytes = 0;
    for (const PackedModule& module : adapter.modules) {
        if (module.bHigh.groupSize != adapter.settings.groupSize ||
            module.bHigh.layout != adapter.settings.layout ||
            module.bHigh.scaleFormat != adapter.settings.scaleFormat)
            throw Error(file, "module " + module.name +
                                  " was quantized with other group settings than the adapter's");
        for (int p = 0; p < 4; ++p) {
            const PackedVectors& part = *partsOf(module, p);
            if (part.groupSize != module.bHigh.groupSize || part.layout != module.bHigh.layout ||
                part.scaleFormat != module.bHigh.scaleFormat)
                throw Error(file, "module " + module.name + " mixes group settings");
            codeBytes += std::uint64_t(part.codeBytes());
            scaleCount += std::uint64_t(part.groupCount());
            zeroBytes += std::uint64_t(part.zeroBytes());
        }
        layout.nameSize = std::max(layout.nameSize, module.name.size());
        layout.suffixASize =
            std::max(layout.suffixASize, tensorSuffix(module.keyA, module, file).size());
        layout.suffixBSize =
            std::max(layout.suffixBSize, tensorSuffix(module.keyB, module, file).size());
    }
    const bool f16 = adapter.settings.scaleFormat == ScaleFormat::F16;
    std::vector<std::uint8_t> codes, zeros, table;
    std::vector<std::uint16_t> scales16;
    std::vector<float> scales32;
    codes.reserve(codeBytes);
    zeros.reserve(zeroBytes);
    if (f16)
        scales16.reserve(scaleCount);
    else
        scales32.reserve(scaleCount);
    table.reserve(layout.rowSize() * adapter.modules.size());
    std::set<std::string> names;
    for (const PackedModule& module : adapter.modules) {
        module.validate(file);
        if (module.name.empty() || !names.insert(module.name).second)
            throw Error(file, "module name '" + module.name + "' is empty or not unique");
        std::vector<std::uint8_t> row(layout.rowSize(), 0);
        std::memcpy(row.data() + layout.name(), module.name.data(), module.name.size());
        const std::string suffixA = tensorSuffix(module.keyA, module, file);
        const std::string suffixB = tensorSuffix(module.keyB, module, file);
        std::memcpy(row.data() + layout.suffixA(), suffixA.data(), suffixA.size());
        std::memcpy(row.data() + layout.suffixB(), suffixB.data(), suffixB.size());
        put(row, layout.m(), std::uint32_t(module.m));
        put(row, layout.n(), std::uint32_t(module.n));
        put(row, layout.r(), std::uint32_t(module.r));
        put(row, layout.h(), std::uint32_t(module.h));
        put(row, layout.bitsHigh(), std::uint8_t(module.bitsHigh));
        put(row, layout.dtypeA(), std::uint8_t(module.dtypeA));
        put(row, layout.dtypeB(), std::uint8_t(module.dtypeB));
        put(row, layout.loraScale(), module.loraScale);
        put(row, layout.relErr(), module.relErr);
        put(row, layout.codesOffset(), std::uint64_t(codes.size()));
        put(row, layout.scalesOffset(), std::uint64_t(f16 ? scales16.size() : scales32.size()));
        put(row, layout.zerosOffset(), std::uint64_t(zeros.size()));
        table.insert(table.end(), row.begin(), row.end());
        for (int p = 0; p < 4; ++p) {
            const PackedVectors& part = *partsOf(module, p);
            codes.insert(codes.end(), part.codes.begin(), part.codes.begin() + part.codeBytes());
            zeros.insert(zeros.end(), part.zeros.begin(), part.zeros.begin() + part.zeroBytes());
            if (f16)
                scales16.insert(scales16.end(), part.scalesF16.begin(), part.scalesF16.end());
            else
                scales32.insert(scales32.end(), part.scalesF32.begin(), part.scalesF32.end());
        }
    }
    const Handle rowType = tableType(layout, file);
    writeDataset(f, kModulesTable, rowType, rowType, table.data(), adapter.modules.size(), true,
                 file);
    writeDataset(f, kCodes, H5T_STD_U8LE, H5T_NATIVE_UINT8, codes.data(), codes.size(), true, file);
    if (f16) {
        const Handle half = halfType(file);
        writeDataset(f, kScales, half, half, scales16.data(), scales16.size(), true, file);
    } else {
        writeDataset(f, kScales, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, scales32.data(), scales32.size(),
                     true, file);
    }
    writeDataset(f, kZeros, H5T_STD_U8LE, H5T_NATIVE_UINT8, zeros.data(), zeros.size(), true, file);

    // Every non-LoRA tensor of the source, as raw bytes with its name, dtype and shape.
    const Handle tensors = createGroup(f, kTensorsGroup, file);
    for (std::size_t i = 0; i < adapter.otherTensors.size(); ++i) {
        const TensorData& tensor = adapter.otherTensors[i];
        const std::string name = std::to_string(i);
        writeDataset(tensors, name.c_str(), H5T_STD_U8LE, H5T_NATIVE_UINT8, tensor.bytes.data(),
                     tensor.bytes.size(), false, file);
        const Handle dataset(h5::check(H5Dopen2(tensors, name.c_str(), H5P_DEFAULT), file,
                                       "cannot reopen a tensor dataset"),
                             H5Dclose);
        writeString(dataset, "name", tensor.name, file);
        writeString(dataset, "dtype", std::string(dtypeName(tensor.dtype)), file);
        // The shape as a JSON list: rank 0 and 1 need no special dataspace this way.
        writeString(dataset, "shape", nlohmann::json(tensor.shape).dump(), file);
    }
    h5::checkStatus(H5Fflush(f, H5F_SCOPE_GLOBAL), file, "cannot flush the file");
    const ssize_t size = H5Fget_file_image(f, nullptr, 0);
    if (size <= 0)
        throw Error(file, "cannot build the file in memory (HDF5: " + h5::lastErrorMessage() + ")");
    std::vector<std::byte> image(static_cast<std::size_t>(size));
    if (H5Fget_file_image(f, image.data(), image.size()) != size)
        throw Error(file, "cannot build the file in memory (HDF5: " + h5::lastErrorMessage() + ")");
    fixSuperblockChecksum(image, file);
    return image;
}

// ---- reading ---------------------------------------------------------------------------------

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

bool isPackedAdapterPath(const std::string& path)
{
    const std::string_view extension = kPackedExtension;
    return path.size() > extension.size() &&
           path.compare(path.size() - extension.size(), extension.size(), extension) == 0;
}

void writePackedAdapter(const std::string& path, const PackedAdapter& adapter)
{
    std::vector<std::byte> image;
    {
        const std::lock_guard lock(h5::libraryMutex());
        h5::silenceErrorPrinting();
        image = fileImage(path, adapter);
    }
    writeFileAtomically(path, image);
}

void exportPackedAdapter(const std::string& path, const Adapter& adapter, const QuantResult& result)
{
    std::error_code ec;
    for (const std::string& input : {adapter.safetensorsPath(), adapter.path()})
        if (!input.empty() && fs::exists(path, ec) && fs::equivalent(path, input, ec))
            throw Error(path, "refusing to write the packed file over the source adapter");
    writePackedAdapter(path, packAdapter(adapter, result));
}

PackedAdapter readPackedAdapter(const std::string& path)
{
    const std::lock_guard lock(h5::libraryMutex());
    h5::silenceErrorPrinting();
    return readFile(path);
}

} // namespace lq
