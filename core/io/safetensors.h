#pragma once

#include "core/io/dtype.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lq {

class StagedFiles; // atomicfile.h

class LoadedFile;

// A shape as "[2048, 4]", for messages.
std::string shapeText(const std::vector<std::int64_t>& shape);
// Bytes a tensor of this shape and dtype holds, or empty on a negative extent or overflow.
std::optional<std::uint64_t> tensorByteSize(const std::vector<std::int64_t>& shape, DType dtype);

// One tensor as described in a safetensors header. Offsets are relative to the start of the data
// section (after the 8-byte length and the JSON header), as in the format.
struct TensorEntry
{
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;

    std::int64_t elementCount() const;
};

// A safetensors file read into memory (loadedfile.h says why it is not mapped). open() validates
// everything before anything is handed out: a regular file, header length within the file, JSON
// well formed and nested at most kMaxJsonDepth deep, no key given twice, every dtype known, names
// free of NUL, shape x element size equal to the byte range, ranges inside the data section and
// not overlapping. Failures throw lq::Error naming the file. Copies share the bytes.
class SafetensorsFile
{
public:
    static SafetensorsFile open(const std::string& path);
    // The header alone, with every check above (ranges against the file's size), reading
    // 8 + header bytes: enough to list tensors, shapes and sizes of many adapters quickly.
    // bytes() and toFloat() throw lq::Error on such a file.
    static SafetensorsFile openHeader(const std::string& path);

    const std::string& path() const { return m_path; }
    // Tensors in the order of the header.
    const std::vector<TensorEntry>& tensors() const { return m_tensors; }
    const TensorEntry* find(std::string_view name) const;
    // `__metadata__` string pairs, kept so that a written adapter loses nothing.
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }

    std::span<const std::byte> bytes(const TensorEntry& entry) const;
    // The tensor converted to float32, row-major as stored; lq::Error for a type that is not a
    // floating-point one (isFactorType).
    std::vector<float> toFloat(const TensorEntry& entry) const;
    std::uint64_t fileSize() const;

private:
    // Validates the JSON header and the tensors' ranges; m_path and m_fileSize are set.
    void parseHeader(std::string_view headerText);

    std::string m_path;
    std::shared_ptr<const LoadedFile> m_file; // null after openHeader()
    std::uint64_t m_fileSize = 0;
    std::uint64_t m_dataStart = 0;
    std::vector<TensorEntry> m_tensors;
    std::unordered_map<std::string, std::size_t> m_index; // name -> position in m_tensors
    std::map<std::string, std::string> m_metadata;
};

// A tensor to write: raw little-endian bytes of `dtype`, row-major, owned.
struct TensorData
{
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> bytes;
};

// A tensor to write whose bytes live elsewhere (a loaded source file, a caller's buffer); they
// must stay valid during the write. Or, with `make` set, bytes made only when the tensor is
// written and dropped after it, so that a file of converted tensors never holds all of them in
// memory at once; they must be exactly as many as the shape and dtype say.
struct TensorView
{
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::span<const std::byte> bytes;
    std::function<std::vector<std::byte>()> make;
};

// Writes a safetensors file atomically (temporary file in the same folder, then rename). The
// header is compact JSON with `__metadata__` first and the tensors in the given order, padded
// with spaces to a multiple of 8 bytes, as the reference Python writer does; so an adapter read
// and written back unchanged is byte-identical. Throws lq::Error naming `path` on failure, and
// leaves nothing behind.
void writeSafetensors(const std::string& path, const std::vector<TensorData>& tensors,
                      const std::map<std::string, std::string>& metadata);
// The same, for tensors whose bytes live elsewhere (no copy). A separate name keeps brace-list
// calls of writeSafetensors unambiguous. With `group`, the file is only staged there and appears
// when the group commits (a PEFT folder's files together).
void writeSafetensorViews(const std::string& path, const std::vector<TensorView>& tensors,
                          const std::map<std::string, std::string>& metadata,
                          StagedFiles* group = nullptr);

} // namespace lq
