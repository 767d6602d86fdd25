#pragma once

// What the .lqa.h5 writer (packedfilewriter.cpp) and reader (packedfilereader.cpp) share: the
// names of the file's objects, its HDF5 types and the module table's row layout. Private to
// core/packed; the layout is documented in docs/FORMAT.md.

#include "core/io/untrustedtext.h"
#include "core/packed/hdf5handle.h"
#include "core/packed/packedformat.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace lq::packedfile {

// Names in the file (FORMAT.md). Changing any of them is a new format version.
inline constexpr const char* kModulesTable = "modules";
inline constexpr const char* kCodes = "codes";
inline constexpr const char* kScales = "scales";
inline constexpr const char* kZeros = "zeros";
inline constexpr const char* kSourceGroup = "source";
inline constexpr const char* kSettingsGroup = "settings";
inline constexpr const char* kTensorsGroup = "tensors";

inline std::string str(std::int64_t value)
{
    return std::to_string(value);
}

// Text from a file or an adapter as it may appear in a packed file's messages: excerpt() cut at
// 80 bytes (a name may be 64 MiB long). The string attributes the file declares UTF-8 go
// through toValidUtf8 (untrustedtext.h), so that JSON output of them never fails.
std::string shown(std::string_view text);

// Why `name` cannot be a name in a packed file, or an empty string when it can: a NUL byte
// (the fixed-width strings would cut it there and rename it), more than `limit` bytes, or not
// UTF-8 (replacing bytes would rename it). The writer and the reader both apply it.
std::string nameProblem(std::string_view name, std::size_t limit);

h5::Handle typeHandle(hid_t id);
// IEEE binary16, little-endian: sign bit 15, exponent bits 10..14 (bias 15), mantissa 0..9. h5py
// reads it as numpy float16.
h5::Handle halfType(const std::string& file);
// A UTF-8 string of `size` bytes, NUL-padded.
h5::Handle fixedStringType(std::size_t size, const std::string& file);
// The source's element types, as an HDF5 enum over uint8 with lq::DType's values.
h5::Handle dtypeEnumType(const std::string& file);

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
h5::Handle tableType(const TableLayout& layout, const std::string& file);

// Where a module's data starts in /codes, /scales and /zeros (elements).
struct Offsets
{
    std::uint64_t codes = 0, scales = 0, zeros = 0;
};

// Part i of a module in file order: bHigh, aHigh, bLow, aLow.
const PackedVectors* partsOf(const PackedModule& module, int i);

} // namespace lq::packedfile
