#pragma once

#include "core/engine/quantizedvectors.h"
#include "core/engine/quantresult.h"
#include "core/engine/quantsettings.h"
#include "core/io/adapter.h"
#include "core/io/dtype.h"
#include "core/io/safetensors.h"
#include "core/packed/bitpacking.h"

#include <Eigen/Core>
#include <bit>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lq {

// ---------------------------------------------------------------------------------------------
// The packed LoRAQuant adapter, declared once (the file layout is in docs/FORMAT.md).
//
// A module's update is dW = s * B_hat A_hat, with B_hat (m x r) and A_hat (r x n) held in four
// parts (METHOD 2, 3):
//   part    vectors                 length  scheme   code bits
//   bHigh   columns 0 .. h-1 of B'  m       RTN      b_h (1..8)
//   aHigh   rows    0 .. h-1 of A'  n       RTN      b_h
//   bLow    columns h .. r-1 of B'  m       binary   1
//   aLow    rows    h .. r-1 of A'  n       binary   1
// A part is `count` vectors of `length` values, vector after vector, cut into groups of g:
// GroupLayout::PerComponent restarts the groups at every vector (the last group of a vector may
// be short, so a group never mixes components); GroupLayout::Flattened runs them on across the
// part's vectors as the reference does. Both are stored and applied. Per group G:
//   RTN     x = (q - z) * d      q, z in [0, 2^b - 1]   (b-bit code, b-bit zero point)
//   binary  x = (2 q - 1) * d    q in {0, 1}            (d = mean |w| over G; w = 0 -> q = 1)
// with d stored as IEEE binary16 (ScaleFormat::F16) or binary32 (F32), exactly the value the
// engine used, so the packed module dequantizes bit for bit like the in-memory result.
//
// Storage of a part: the codes as one dense b-bit stream (bitpacking.h), one scale per group,
// and for RTN the zero points as a second dense b-bit stream, one per group. Bits per weight
// when the vectors are multiples of g long (s = 16 or 32 scale bits):
//   RTN     b + (s + b) / g        (b = 2, g = 128, f16: 2.140625)
//   binary  1 + s / g              (g = 128, f16: 1.125)
// Per module the engine's true count adds a 16-byte header (core/engine/bitcount.h): m, n, r as
// uint32 and h, b_h, layout, scale format as uint8, which is what a row of the file's module
// table holds besides the names (FORMAT.md).
// ---------------------------------------------------------------------------------------------

inline constexpr const char* kPackedFormatName = "loraquant-packed-adapter";
inline constexpr int kPackedFormatVersion = 1;
inline constexpr const char* kPackedExtension = ".lqa.h5";

// What a packed file can hold, defined once: the writer refuses an adapter beyond any of these
// before it writes anything, and the reader refuses a file beyond them, so that every file the
// writer makes is one the readers read (FORMAT.md).
// A module name and each tensor-name suffix (the module table's fixed-width string columns).
inline constexpr std::size_t kMaxPackedNameBytes = 65536;
// Any other string attribute: a non-LoRA tensor's name, the source path, the config text.
inline constexpr std::size_t kMaxPackedStringBytes = std::size_t(1) << 26;
// m, n, r, the group size, fixed_h and refine_steps: beyond this the int group counts overflow,
// and no adapter comes near it (the largest LLM projections are ~2^18 wide).
inline constexpr std::int64_t kMaxPackedDimension = std::int64_t(1) << 30;
// r (m + n) of one module.
inline constexpr std::int64_t kMaxPackedModuleValues = std::int64_t(1) << 31;
// Modules of one adapter: 2^20, far above any real one (a LoRA on every expert of a large MoE
// model has ~50,000), so that a file of tiny modules cannot make the reader hold gigabytes of
// module records (~1 KB each in memory for ~70 bytes in the file).
inline constexpr std::uint64_t kMaxPackedModules = std::uint64_t(1) << 20;
// Elements of one non-LoRA tensor, and each of its extents.
inline constexpr std::int64_t kMaxPackedTensorElements = std::int64_t(1) << 40;

// In memory every code and zero-point stream carries this many zero bytes after its last byte,
// so that a decoder may load a whole 64-bit word at any byte of the stream. Not in the file.
inline constexpr std::size_t kStreamPadding = 8;

// Scales are stored as these types (scaleBits(), quantsettings.h, counts them).
static_assert(sizeof(std::uint16_t) * 8 == kScaleBitsF16 && sizeof(float) * 8 == kScaleBitsF32);
static_assert(std::numeric_limits<float>::is_iec559, "scales are IEEE binary32");

constexpr double rtnBitsPerWeight(int bits, int groupSize, ScaleFormat format)
{
    return bits + double(scaleBits(format) + bits) / groupSize;
}

constexpr double binaryBitsPerWeight(int groupSize, ScaleFormat format)
{
    return 1 + double(scaleBits(format)) / groupSize;
}

static_assert(rtnBitsPerWeight(2, 128, ScaleFormat::F16) == 2.140625);
static_assert(rtnBitsPerWeight(3, 128, ScaleFormat::F16) == 3.1484375);
static_assert(binaryBitsPerWeight(128, ScaleFormat::F16) == 1.125);
static_assert(packedByteCount(128, 3) == 48 && packedByteCount(5, 3) == 2);

// binary16 bits -> float for finite values (scales are validated finite before use): the
// magnitude bits moved into a binary32's exponent and mantissa fields read as value * 2^-112,
// for normal and subnormal halves alike; the multiply by 2^112 is exact. Branch-free, so the
// kernels call it once per group.
inline float finiteHalfToFloat(std::uint16_t half)
{
    const std::uint32_t sign = std::uint32_t(half & 0x8000u) << 16;
    const float magnitude = std::bit_cast<float>(std::uint32_t(half & 0x7fffu) << 13) * 0x1p112f;
    return std::bit_cast<float>(std::bit_cast<std::uint32_t>(magnitude) | sign);
}

// One part of one factor, packed (see above).
struct PackedVectors : VectorGroups
{
    std::vector<std::uint8_t> codes;      // codeBytes() + kStreamPadding
    std::vector<std::uint16_t> scalesF16; // groupCount() binary16 bit patterns, for F16
    std::vector<float> scalesF32;         // groupCount() values, for F32
    std::vector<std::uint8_t> zeros;      // RTN: zeroBytes() + kStreamPadding; binary: empty

    std::int64_t codeBytes() const { return packedByteCount(valueCount(), bits); }
    std::int64_t zeroBytes() const { return isBinary() ? 0 : packedByteCount(groupCount(), bits); }

    float scale(int group) const
    {
        return scaleFormat == ScaleFormat::F16 ? finiteHalfToFloat(scalesF16[std::size_t(group)])
                                               : scalesF32[std::size_t(group)];
    }
    unsigned zero(int group) const { return isBinary() ? 0u : codeAt(zeros.data(), bits, group); }
    // Value i of vector v, one code at a time (the scalar reference).
    float dequantize(int v, int i) const;

    // Checks sizes against the shape, finite non-negative scales and zero padding bits after
    // each stream; throws lq::Error(file, "<where>: problem").
    void validate(const std::string& file, const std::string& where) const;
};

// Packs one part of an engine result. Throws lq::Error(where, ...) when the part is
// inconsistent (sizes, a code or zero point that does not fit in its bits, an F16 scale that is
// not a binary16 value: the engine rounds scales before computing codes, quantizedvectors.h).
PackedVectors packVectors(const QuantizedVectors& part, const std::string& where);
// The engine's form again: one code per byte, float scales.
QuantizedVectors unpackVectors(const PackedVectors& part);

struct PackedModule
{
    std::string name; // tensor-name prefix of the source module
    std::string keyA; // the source's tensor names, so that unpack writes the same ones
    std::string keyB;
    DType dtypeA = DType::F32; // the source's stored types
    DType dtypeB = DType::F32;
    int m = 0;
    int n = 0;
    int r = 0;
    int h = 0;
    int bitsHigh = 2;
    double loraScale = 1; // s in dW = s B A (1 when the source's config does not say)
    double relErr = 0;    // ||B A - B_hat A_hat||_F / ||B A||_F as the engine measured it
    PackedVectors bHigh, aHigh, bLow, aLow;

    std::int64_t parameterCount() const { return std::int64_t(r) * (m + n); }
    // Codes, scales and zero points of the four parts plus the engine's 16-byte module header:
    // equals ModuleResult::bitsTrue.
    std::int64_t storedBits() const;
    // Checks the parts against m, n, r, h, b_h (counts, lengths, bit widths, schemes) and each
    // part's own content; throws lq::Error(file, "module <name>: problem").
    void validate(const std::string& file) const;
};

// B_hat (m x r) and A_hat (r x n), value by value through PackedVectors::dequantize: the scalar
// reference for the kernels and what unpack writes. Bit-identical to the ModuleResult's own
// dequantizedB() / dequantizedA().
Eigen::MatrixXf dequantizedB(const PackedModule& module);
Eigen::MatrixXf dequantizedA(const PackedModule& module);

// Where the adapter came from, so that unpack loses nothing and a reader can tell which file a
// packed adapter belongs to.
struct PackedSource
{
    std::string path;        // as given to Adapter::load (folder or .safetensors)
    std::string sha256;      // of adapter_model.safetensors, lower-case hex; empty in memory
    std::uint64_t bytes = 0; // size of that file
    std::optional<std::string> configJson;       // adapter_config.json text, if there was one
    std::map<std::string, std::string> metadata; // the safetensors __metadata__
};

struct PackedAdapter
{
    PackedSource source;
    // The settings the modules were quantized with; per-module h and b_h are in the modules
    // (overrides are not kept).
    QuantSettings settings;
    std::string createdBy;
    double relErrTotal = 0; // the engine's energy-weighted total error
    std::vector<PackedModule> modules;
    std::vector<TensorData> otherTensors; // every non-LoRA tensor of the source, bytes as stored

    std::int64_t parameterCount() const;
    std::int64_t storedBits() const; // sum of the modules' storedBits()
    double avgBitsTrue() const;      // storedBits / parameterCount
    double avgBitsPaper() const;     // h (m + n) b_h + (r - h)(m + n), over parameterCount
};

// Packs a LoRAQuant result of `adapter` (quantizeAdapter). Throws lq::Error when the result is
// not a LoRAQuant result (whole-adapter baselines are not packed), was cancelled, or does not
// match the adapter's modules. Computes the source file's SHA-256.
PackedAdapter packAdapter(const Adapter& adapter, const QuantResult& result);

} // namespace lq
