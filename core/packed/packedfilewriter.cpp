// Writing .lqa.h5 files: the whole file is built in memory by HDF5's core driver, then
// written atomically.

#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedfileschema.h"

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
using namespace packedfile;

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
    // checkRepresentable has refused these for names and made free text UTF-8 without NUL.
    if (value.find('\0') != std::string::npos || value.size() > kMaxPackedStringBytes ||
        !isValidUtf8(value))
        throw Error(file, std::string("attribute ") + name + " '" + shown(value) +
                              "' cannot be stored (a NUL byte, not UTF-8, or too long)");
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

template <typename T>
void put(std::vector<std::uint8_t>& row, std::size_t offset, T value)
{
    std::memcpy(row.data() + offset, &value, sizeof value);
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
        throw Error(file, "module '" + shown(module.name) + "': tensor name '" + shown(key) +
                              "' does not start with the module name");
    return key.substr(module.name.size());
}

std::string metadataJson(const std::map<std::string, std::string>& metadata)
{
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata)
        json[key] = value;
    // The attribute is UTF-8 (and JSON must be): bytes outside UTF-8 become U+FFFD.
    return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// Free text the file declares UTF-8 (a path, the config, the program name): made UTF-8 rather
// than refused, since nothing is named by it. A NUL would be cut on read; it is refused.
std::string freeText(const std::string& value, const char* what, const std::string& file)
{
    if (value.find('\0') != std::string::npos)
        throw Error(file, std::string("the ") + what + " '" + shown(value) +
                              "' holds a NUL byte, which a packed file cannot store");
    std::string text = toValidUtf8(value);
    if (text.size() > kMaxPackedStringBytes)
        throw Error(file, std::string("the ") + what + " is " + str(std::int64_t(text.size())) +
                              " bytes long; a packed file holds at most " +
                              str(std::int64_t(kMaxPackedStringBytes)));
    return text;
}

std::string moduleLabel(const PackedModule& module)
{
    return "module '" + shown(module.name) + "'";
}

// Everything the reader would refuse, refused before anything is built, with the module or
// tensor named: what the writer writes, the reader reads (the limits are in packedformat.h).
void checkRepresentable(const PackedAdapter& adapter, const std::string& file)
{
    if (adapter.modules.empty())
        throw Error(file, "the adapter has no modules; a packed adapter has at least one");
    if (adapter.modules.size() > kMaxPackedModules)
        throw Error(file, "the adapter has " + str(std::int64_t(adapter.modules.size())) +
                              " modules; a packed file holds at most " +
                              str(std::int64_t(kMaxPackedModules)));
    const QuantSettings& s = adapter.settings;
    const auto inRange = [&](const char* what, std::int64_t value, std::int64_t low,
                             std::int64_t high) {
        if (value < low || value > high)
            throw Error(file, std::string("the ") + what + " " + str(value) + " is outside " +
                                  str(low) + ".." + str(high) + ", what a packed file holds");
    };
    inRange("group size", s.groupSize, 1, kMaxPackedDimension);
    inRange("fixed h", s.fixedH, 0, kMaxPackedDimension);
    inRange("high bit width", s.bitsHigh, kMinCodeBits, kMaxCodeBits);
    inRange("number of refinement steps", s.refineSteps, 0, kMaxPackedDimension);
    const std::string& sha = adapter.source.sha256;
    if (!sha.empty() &&
        (sha.size() != 64 || sha.find_first_not_of("0123456789abcdef") != std::string::npos))
        throw Error(file,
                    "the source's SHA-256 '" + shown(sha) + "' is not 64 lower-case hex digits");

    std::set<std::string> names;
    for (const PackedModule& module : adapter.modules) {
        const std::string label = moduleLabel(module);
        if (const std::string problem = nameProblem(module.name, kMaxPackedNameBytes);
            !problem.empty())
            throw Error(file, label + ": the name " + problem);
        if (module.name.empty() || !names.insert(module.name).second)
            throw Error(file, label + ": the module name is empty or not unique");
        const std::string suffixA = tensorSuffix(module.keyA, module, file);
        const std::string suffixB = tensorSuffix(module.keyB, module, file);
        for (const std::string* suffix : {&suffixA, &suffixB})
            if (const std::string problem = nameProblem(*suffix, kMaxPackedNameBytes);
                !problem.empty())
                throw Error(file, label + ": the tensor name '" + shown(module.name + *suffix) +
                                      "' after the module name " + problem);
        if (suffixA == suffixB)
            throw Error(file, label + ": lora_A and lora_B have the same tensor name");
        if (module.m < 1 || module.n < 1 || module.r < 1 || module.m > kMaxPackedDimension ||
            module.n > kMaxPackedDimension || module.r > kMaxPackedDimension ||
            std::int64_t(module.r) * (std::int64_t(module.m) + module.n) > kMaxPackedModuleValues)
            throw Error(file, label + ": shape m " + str(module.m) + ", n " + str(module.n) +
                                  ", r " + str(module.r) +
                                  " is empty or larger than a packed file holds");
        if (!std::isfinite(module.loraScale))
            throw Error(file, label + ": the LoRA scale is not finite");
    }
    for (const TensorData& tensor : adapter.otherTensors) {
        const std::string label = "non-LoRA tensor '" + shown(tensor.name) + "'";
        if (const std::string problem = nameProblem(tensor.name, kMaxPackedStringBytes);
            !problem.empty())
            throw Error(file, label + ": the name " + problem);
        std::int64_t elements = 1;
        for (const std::int64_t extent : tensor.shape) {
            if (extent < 0 || extent > kMaxPackedTensorElements)
                throw Error(file, label + ": extent " + str(extent) + " is outside 0.." +
                                      str(kMaxPackedTensorElements));
            elements *= extent;
            if (elements > kMaxPackedTensorElements)
                throw Error(file,
                            label + ": more than " + str(kMaxPackedTensorElements) + " elements");
        }
        if (std::uint64_t(tensor.bytes.size()) !=
            std::uint64_t(elements) * elementSize(tensor.dtype))
            throw Error(file, label + ": " + str(std::int64_t(tensor.bytes.size())) +
                                  " bytes for its dtype and shape, which need " +
                                  str(elements * std::int64_t(elementSize(tensor.dtype))));
    }
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

// An empty HDF5 file in memory (the core driver, no backing store), set up so that the same
// adapter always gives the same bytes.
Handle createImageFile(const std::string& file)
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
    return Handle(h5::check(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, fcpl, fapl), file,
                            "cannot create the file"),
                  H5Fclose);
}

// The root's format attributes, the source group and the settings group.
void writeAttributes(hid_t f, const PackedAdapter& adapter, const std::string& file)
{
    writeString(f, "format", kPackedFormatName, file);
    writeInt(f, "format_version", kPackedFormatVersion, file);
    writeString(f, "created_by",
                freeText(adapter.createdBy.empty() ? std::string("loraquant ") + LQ_VERSION
                                                   : adapter.createdBy,
                         "program name", file),
                file);

    const Handle source = createGroup(f, kSourceGroup, file);
    writeString(source, "path", freeText(adapter.source.path, "source path", file), file);
    writeString(source, "sha256", adapter.source.sha256, file);
    writeUInt(source, "bytes", adapter.source.bytes, file);
    if (adapter.source.configJson)
        writeString(source, "adapter_config",
                    freeText(*adapter.source.configJson, "adapter config", file), file);
    writeString(source, "safetensors_metadata", metadataJson(adapter.source.metadata), file);

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

// The module table and the three data arrays, concatenated in module order.
struct ModuleArrays
{
    TableLayout layout;
    std::vector<std::uint8_t> table, codes, zeros;
    std::vector<std::uint16_t> scales16;
    std::vector<float> scales32;
};

// Checks that every part uses the adapter's group settings and sizes the table's name columns
// and the arrays.
ModuleArrays planModuleArrays(const PackedAdapter& adapter, const std::string& file)
{
    ModuleArrays arrays;
    TableLayout& layout = arrays.layout;
    std::uint64_t codeBytes = 0, scaleCount = 0, zeroBytes = 0;
    for (const PackedModule& module : adapter.modules) {
        if (module.bHigh.groupSize != adapter.settings.groupSize ||
            module.bHigh.layout != adapter.settings.layout ||
            module.bHigh.scaleFormat != adapter.settings.scaleFormat)
            throw Error(file, moduleLabel(module) +
                                  " was quantized with other group settings than the adapter's");
        for (int p = 0; p < 4; ++p) {
            const PackedVectors& part = *partsOf(module, p);
            if (part.groupSize != module.bHigh.groupSize || part.layout != module.bHigh.layout ||
                part.scaleFormat != module.bHigh.scaleFormat)
                throw Error(file, moduleLabel(module) + " mixes group settings");
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
    arrays.codes.reserve(codeBytes);
    arrays.zeros.reserve(zeroBytes);
    if (adapter.settings.scaleFormat == ScaleFormat::F16)
        arrays.scales16.reserve(scaleCount);
    else
        arrays.scales32.reserve(scaleCount);
    arrays.table.reserve(layout.rowSize() * adapter.modules.size());
    return arrays;
}

// Appends one module's table row (its offsets: where the arrays end now) and its data.
void appendModule(ModuleArrays& arrays, const PackedModule& module, bool f16,
                  const std::string& file)
{
    const TableLayout& layout = arrays.layout;
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
    put(row, layout.codesOffset(), std::uint64_t(arrays.codes.size()));
    put(row, layout.scalesOffset(),
        std::uint64_t(f16 ? arrays.scales16.size() : arrays.scales32.size()));
    put(row, layout.zerosOffset(), std::uint64_t(arrays.zeros.size()));
    arrays.table.insert(arrays.table.end(), row.begin(), row.end());
    for (int p = 0; p < 4; ++p) {
        const PackedVectors& part = *partsOf(module, p);
        arrays.codes.insert(arrays.codes.end(), part.codes.begin(),
                            part.codes.begin() + part.codeBytes());
        arrays.zeros.insert(arrays.zeros.end(), part.zeros.begin(),
                            part.zeros.begin() + part.zeroBytes());
        if (f16)
            arrays.scales16.insert(arrays.scales16.end(), part.scalesF16.begin(),
                                   part.scalesF16.end());
        else
            arrays.scales32.insert(arrays.scales32.end(), part.scalesF32.begin(),
                                   part.scalesF32.end());
    }
}

void writeModuleArrays(hid_t f, const ModuleArrays& arrays, std::size_t modules, bool f16,
                       const std::string& file)
{
    const Handle rowType = tableType(arrays.layout, file);
    writeDataset(f, kModulesTable, rowType, rowType, arrays.table.data(), modules, true, file);
    writeDataset(f, kCodes, H5T_STD_U8LE, H5T_NATIVE_UINT8, arrays.codes.data(),
                 arrays.codes.size(), true, file);
    if (f16) {
        const Handle half = halfType(file);
        writeDataset(f, kScales, half, half, arrays.scales16.data(), arrays.scales16.size(), true,
                     file);
    } else {
        writeDataset(f, kScales, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, arrays.scales32.data(),
                     arrays.scales32.size(), true, file);
    }
    writeDataset(f, kZeros, H5T_STD_U8LE, H5T_NATIVE_UINT8, arrays.zeros.data(),
                 arrays.zeros.size(), true, file);
}

// Every non-LoRA tensor of the source, as raw bytes with its name, dtype and shape.
void writeOtherTensors(hid_t f, const std::vector<TensorData>& otherTensors,
                       const std::string& file)
{
    const Handle tensors = createGroup(f, kTensorsGroup, file);
    for (std::size_t i = 0; i < otherTensors.size(); ++i) {
        const TensorData& tensor = otherTensors[i];
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
}

// The bytes of the file HDF5 built in memory.
std::vector<std::byte> imageBytes(hid_t f, const std::string& file)
{
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

// The file is built in memory and returned as its bytes: the disk is then written by
// writeFileAtomically, whose failures name the system's reason ("No space left on device",
// "Read-only file system"). Through HDF5's own POSIX driver they would only read "unable to
// create file" or "unable to flush", and a half-written temporary file would be HDF5's to close.
std::vector<std::byte> fileImage(const std::string& file, const PackedAdapter& adapter)
{
    checkRepresentable(adapter, file);
    const Handle f = createImageFile(file);
    writeAttributes(f, adapter, file);

    const bool f16 = adapter.settings.scaleFormat == ScaleFormat::F16;
    ModuleArrays arrays = planModuleArrays(adapter, file);
    std::set<std::string> names;
    for (const PackedModule& module : adapter.modules) {
        module.validate(file);
        if (module.name.empty() || !names.insert(module.name).second)
            throw Error(file, "module name '" + module.name + "' is empty or not unique");
        appendModule(arrays, module, f16, file);
    }
    writeModuleArrays(f, arrays, adapter.modules.size(), f16, file);
    writeOtherTensors(f, adapter.otherTensors, file);
    return imageBytes(f, file);
}
} // namespace

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

} // namespace lq
