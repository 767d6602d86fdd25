#include "core/io/safetensors.h"

#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "core/io/inputfile.h"
#include "core/io/jsontext.h"
#include "core/io/loadedfile.h"
#include "core/io/untrustedtext.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

namespace lq {
namespace {

using OrderedJson = nlohmann::ordered_json;

// The reference implementation refuses headers above 100 MB; a larger one is a corrupt length,
// and accepting it would let a bad file make us parse gigabytes of garbage.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

std::string rangeText(std::uint64_t begin, std::uint64_t end)
{
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

TensorEntry parseEntry(const std::string& path, const std::string& name, const OrderedJson& value)
{
    const std::string where = "tensor '" + excerpt(name) + "': ";
    if (!value.is_object())
        throw Error(path, where + "the header entry is not a JSON object");
    const auto dtype = value.find("dtype");
    const auto shape = value.find("shape");
    const auto offsets = value.find("data_offsets");
    if (dtype == value.end() || !dtype->is_string())
        throw Error(path, where + "missing or non-string 'dtype'");
    if (shape == value.end() || !shape->is_array())
        throw Error(path, where + "missing or non-array 'shape'");
    if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2)
        throw Error(path, where + "'data_offsets' must be an array of two numbers");

    TensorEntry entry;
    entry.name = name;
    const auto type = dtypeFromName(dtype->get<std::string>());
    if (!type)
        throw Error(path, where + "unknown dtype '" + excerpt(dtype->get<std::string>()) +
                              "' (known: " + knownDtypeNames() + ")");
    entry.dtype = *type;
    for (const auto& extent : *shape) {
        if (!extent.is_number_integer() || extent.get<std::int64_t>() < 0)
            throw Error(path, where + "shape must hold non-negative whole numbers, got " +
                                  describeJson(extent));
        entry.shape.push_back(extent.get<std::int64_t>());
    }
    for (const auto& offset : *offsets) {
        if (!offset.is_number_unsigned())
            throw Error(path, where + "data_offsets must hold non-negative whole numbers, got " +
                                  describeJson(offset));
    }
    entry.begin = (*offsets)[0].get<std::uint64_t>();
    entry.end = (*offsets)[1].get<std::uint64_t>();
    if (entry.end < entry.begin)
        throw Error(path, where + "data_offsets " + rangeText(entry.begin, entry.end) +
                              " end before they begin");
    const auto needed = tensorByteSize(entry.shape, entry.dtype);
    if (!needed || *needed != entry.end - entry.begin)
        throw Error(path, where + "shape/size mismatch: shape " + shapeText(entry.shape) + " of " +
                              std::string(dtypeName(entry.dtype)) + " needs " +
                              (needed ? std::to_string(*needed) : std::string("too many")) +
                              " bytes but data_offsets " + rangeText(entry.begin, entry.end) +
                              " hold " + std::to_string(entry.end - entry.begin));
    return entry;
}

} // namespace

std::string shapeText(const std::vector<std::int64_t>& shape)
{
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

std::optional<std::uint64_t> tensorByteSize(const std::vector<std::int64_t>& shape, DType dtype)
{
    std::uint64_t total = elementSize(dtype);
    for (std::int64_t extent : shape) {
        if (extent < 0)
            return std::nullopt;
        const auto e = static_cast<std::uint64_t>(extent);
        if (e != 0 && total > std::numeric_limits<std::uint64_t>::max() / e)
            return std::nullopt;
        total *= e;
    }
    return total;
}

std::int64_t TensorEntry::elementCount() const
{
    return std::accumulate(shape.begin(), shape.end(), std::int64_t(1), std::multiplies<>());
}

namespace {

// The header's length from the first 8 bytes, checked against the file's size.
std::uint64_t checkedHeaderLength(const std::string& path, const std::byte* first8,
                                  std::uint64_t fileSize)
{
    if (fileSize < 8)
        throw Error(path, "too short for a safetensors file (" + std::to_string(fileSize) +
                              " bytes; the header length alone takes 8)");
    std::uint64_t headerLength = 0;
    std::memcpy(&headerLength, first8, 8); // little endian, as the format says
    if (headerLength > fileSize - 8)
        throw Error(path, "the file looks incomplete (truncated) or is not safetensors: its "
                          "header length " +
                              std::to_string(headerLength) + " is larger than the file (" +
                              std::to_string(fileSize) + " bytes)");
    if (headerLength > kMaxHeaderBytes)
        throw Error(path, "header length " + std::to_string(headerLength) +
                              " exceeds the 100 MB limit of the format");
    if (headerLength < 2)
        throw Error(path, "the JSON header is empty");
    return headerLength;
}

} // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path)
{
    SafetensorsFile file;
    file.m_path = path;
    file.m_file = LoadedFile::open(path);
    const auto all = file.m_file->bytes();
    file.m_fileSize = all.size();
    const std::uint64_t headerLength = checkedHeaderLength(path, all.data(), all.size());
    file.parseHeader(std::string_view(reinterpret_cast<const char*>(all.data() + 8), headerLength));
    return file;
}

SafetensorsFile SafetensorsFile::openHeader(const std::string& path)
{
    SafetensorsFile file;
    file.m_path = path;
    const InputFile input = InputFile::open(path, "safetensors file");
    file.m_fileSize = input.size();
    std::byte first8[8] = {};
    input.readAt(0, first8, std::min<std::uint64_t>(8, input.size()));
    const std::uint64_t headerLength = checkedHeaderLength(path, first8, input.size());
    std::string header(headerLength, '\0');
    input.readAt(8, reinterpret_cast<std::byte*>(header.data()), headerLength);
    file.parseHeader(header);
    return file;
}

void SafetensorsFile::parseHeader(std::string_view headerText)
{
    SafetensorsFile& file = *this;
    const std::string& path = m_path;
    file.m_dataStart = 8 + headerText.size();
    const std::uint64_t dataSize = m_fileSize - file.m_dataStart;

    // Duplicate keys are refused as the reference library refuses them: which of two tensors
    // of one name is "the" tensor is not for a reader to guess.
    const OrderedJson header =
        parseOrderedJson(headerText, path, "JSON header", DuplicateKeys::Refuse);
    if (!header.is_object())
        throw Error(path, "malformed JSON header: not a JSON object");

    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__") {
            if (!value.is_object())
                throw Error(path, "__metadata__ is not a JSON object");
            for (const auto& [name, text] : value.items()) {
                if (!text.is_string())
                    throw Error(path,
                                "__metadata__ value of '" + excerpt(name) + "' is not a string");
                file.m_metadata[name] = text.get<std::string>();
            }
            continue;
        }
        // A NUL would cut the name wherever it meets a C string (HDF5, the file systems of
        // exports), silently renaming the tensor.
        if (key.find('\0') != std::string::npos)
            throw Error(path, "tensor name '" + excerpt(key.substr(0, key.find('\0'))) +
                                  "\\0...' holds a NUL character");
        if (key.empty())
            throw Error(path, "a tensor has an empty name");
        TensorEntry entry = parseEntry(path, key, value);
        if (entry.begin > dataSize) // empty tensors are not in the range checks below
            throw Error(path, "tensor '" + excerpt(key) + "': data_offsets " +
                                  rangeText(entry.begin, entry.end) +
                                  " point outside the file (its data section holds " +
                                  std::to_string(dataSize) + " bytes)");
        file.m_index.emplace(entry.name, file.m_tensors.size());
        file.m_tensors.push_back(std::move(entry));
    }

    // Overlap: sorted by begin, each non-empty range must start at or after the previous end.
    std::vector<const TensorEntry*> byOffset;
    for (const auto& entry : file.m_tensors) {
        if (entry.end > entry.begin)
            byOffset.push_back(&entry);
    }
    std::sort(byOffset.begin(), byOffset.end(),
              [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
    bool contiguous = byOffset.empty() || byOffset.front()->begin == 0;
    for (std::size_t i = 1; i < byOffset.size(); ++i) {
        const TensorEntry& a = *byOffset[i - 1];
        const TensorEntry& b = *byOffset[i];
        if (b.begin < a.end)
            throw Error(path, "tensors '" + excerpt(a.name) + "' and '" + excerpt(b.name) +
                                  "' overlap: data_offsets " + rangeText(a.begin, a.end) + " and " +
                                  rangeText(b.begin, b.end));
        contiguous = contiguous && b.begin == a.end;
    }

    // Ranges past the end: when the tensors tile the data section without gaps the header is
    // consistent and the file lost its tail; otherwise a tensor's offsets are wrong.
    if (!byOffset.empty() && byOffset.back()->end > dataSize) {
        if (contiguous)
            throw Error(path, "the file is truncated: its header describes " +
                                  std::to_string(byOffset.back()->end) +
                                  " bytes of tensor data but only " + std::to_string(dataSize) +
                                  " follow the header");
        for (const TensorEntry* entry : byOffset) {
            if (entry->end > dataSize)
                throw Error(path, "tensor '" + excerpt(entry->name) + "': data_offsets " +
                                      rangeText(entry->begin, entry->end) +
                                      " point outside the file (its data section holds " +
                                      std::to_string(dataSize) + " bytes)");
        }
    }
}

const TensorEntry* SafetensorsFile::find(std::string_view name) const
{
    const auto it = m_index.find(std::string(name));
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorEntry& entry) const
{
    if (!m_file)
        throw Error(m_path, "tensor '" + excerpt(entry.name) +
                                "': only the header was read (SafetensorsFile::openHeader)");
    return m_file->bytes().subspan(m_dataStart + entry.begin, entry.end - entry.begin);
}

std::vector<float> SafetensorsFile::toFloat(const TensorEntry& entry) const
{
    if (!isFactorType(entry.dtype))
        throw Error(m_path, "tensor '" + entry.name + "' is " +
                                std::string(dtypeName(entry.dtype)) +
                                ", which does not convert to float32 (F32, F16, BF16 and F64 do)");
    std::vector<float> values(static_cast<std::size_t>(entry.elementCount()));
    convertToFloat(entry.dtype, bytes(entry), values);
    return values;
}

std::uint64_t SafetensorsFile::fileSize() const
{
    return m_fileSize;
}

void writeSafetensors(const std::string& path, const std::vector<TensorData>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    std::vector<TensorView> views;
    views.reserve(tensors.size());
    for (const TensorData& tensor : tensors)
        views.push_back({tensor.name, tensor.dtype, tensor.shape, tensor.bytes, {}});
    writeSafetensorViews(path, views, metadata);
}

void writeSafetensorViews(const std::string& path, const std::vector<TensorView>& tensors,
                          const std::map<std::string, std::string>& metadata, StagedFiles* group)
{
    OrderedJson header = OrderedJson::object();
    if (!metadata.empty()) {
        OrderedJson meta = OrderedJson::object();
        for (const auto& [key, value] : metadata)
            meta[key] = value;
        header["__metadata__"] = std::move(meta);
    }
    std::set<std::string> names;
    std::vector<std::uint64_t> sizes; // each tensor's bytes, as the header gives them
    sizes.reserve(tensors.size());
    std::uint64_t offset = 0;
    for (const TensorView& tensor : tensors) {
        if (tensor.name == "__metadata__" || !names.insert(tensor.name).second)
            throw Error(path, "tensor name '" + tensor.name + "' is reserved or used twice");
        const auto needed = tensorByteSize(tensor.shape, tensor.dtype);
        if (!needed)
            throw Error(path, "tensor '" + tensor.name + "': shape " + shapeText(tensor.shape) +
                                  " is too large");
        if (!tensor.make && *needed != tensor.bytes.size())
            throw Error(path, "tensor '" + tensor.name + "': shape " + shapeText(tensor.shape) +
                                  " does not match its " + std::to_string(tensor.bytes.size()) +
                                  " bytes");
        OrderedJson entry = OrderedJson::object();
        entry["dtype"] = std::string(dtypeName(tensor.dtype));
        entry["shape"] = tensor.shape;
        entry["data_offsets"] = {offset, offset + *needed};
        header[tensor.name] = std::move(entry);
        offset += *needed;
        sizes.push_back(*needed);
    }
    std::string text = header.dump(); // compact, UTF-8 as is, like the reference writer
    // Pad with spaces so that the data section starts 8-byte aligned (8 + length = 0 mod 8).
    text.append((8 - text.size() % 8) % 8, ' ');
    const std::uint64_t length = text.size();

    const auto produce = [&](const std::string& temporary) {
        std::FILE* out = std::fopen(temporary.c_str(), "wbx");
        if (!out)
            throw Error(path, std::string("cannot create a file in that folder: ") +
                                  std::strerror(errno));
        bool ok = std::fwrite(&length, 8, 1, out) == 1 &&
                  std::fwrite(text.data(), 1, text.size(), out) == text.size();
        for (std::size_t i = 0; ok && i < tensors.size(); ++i) {
            const TensorView& tensor = tensors[i];
            std::vector<std::byte> made;
            if (tensor.make) {
                try {
                    made = tensor.make();
                    if (made.size() != sizes[i])
                        throw Error(path, "tensor '" + tensor.name + "': shape " +
                                              shapeText(tensor.shape) + " does not match its " +
                                              std::to_string(made.size()) + " bytes");
                } catch (...) {
                    std::fclose(out);
                    throw;
                }
            }
            const std::span<const std::byte> bytes = tensor.make ? made : tensor.bytes;
            ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
        }
        const int code = errno;
        if (std::fclose(out) != 0 && ok)
            throw Error(path, std::string("write failed: ") + std::strerror(errno));
        if (!ok)
            throw Error(path, std::string("write failed: ") + std::strerror(code));
    };
    if (group)
        group->add(path, produce);
    else
        writeFileAtomically(path, produce);
}

} // namespace lq
