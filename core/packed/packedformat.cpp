#include "core/packed/packedformat.h"

#include "core/engine/bitcount.h"
#include "core/io/error.h"
#include "core/packed/sha256.h"

#include <cmath>
#include <filesystem>

namespace lq {
namespace {

std::string str(std::int64_t value)
{
    return std::to_string(value);
}

const char* schemeName(const PackedVectors& part)
{
    return part.isBinary() ? "binary" : "RTN";
}

std::vector<std::uint8_t> paddedStream(std::span<const std::uint8_t> codes, int bits)
{
    std::vector<std::uint8_t> stream(
        std::size_t(packedByteCount(std::int64_t(codes.size()), bits)) + kStreamPadding, 0);
    packCodes(codes, bits, std::span(stream).first(stream.size() - kStreamPadding));
    return stream;
}

} // namespace

float PackedVectors::dequantize(int v, int i) const
{
    const int group = spanAt(v, i).group;
    return reconstruct(codeAt(codes.data(), bits, std::int64_t(v) * length + i), zero(group),
                       scale(group));
}

void PackedVectors::validate(const std::string& file, const std::string& where) const
{
    const auto fail = [&](const std::string& problem) {
        throw Error(file, where + ": " + problem);
    };
    if (bits < kMinCodeBits || bits > kMaxCodeBits)
        fail("code bit width " + str(bits) + " is not in 1..8");
    if (isBinary() && bits != 1)
        fail("binary codes must be 1 bit, not " + str(bits));
    if (count < 0 || length < 0)
        fail("negative shape");
    if (groupSize < 1)
        fail("group size " + str(groupSize) + " is not positive");
    if (std::int64_t(codes.size()) != codeBytes() + std::int64_t(kStreamPadding))
        fail("codes hold " + str(std::int64_t(codes.size()) - std::int64_t(kStreamPadding)) +
             " bytes, " + str(valueCount()) + " codes of " + str(bits) + " bits need " +
             str(codeBytes()));
    const int groups = groupCount();
    const std::size_t scaleCount =
        scaleFormat == ScaleFormat::F16 ? scalesF16.size() : scalesF32.size();
    const std::size_t otherCount =
        scaleFormat == ScaleFormat::F16 ? scalesF32.size() : scalesF16.size();
    if (scaleCount != std::size_t(groups) || otherCount != 0)
        fail("holds " + str(std::int64_t(scaleCount)) + " scales for " + str(groups) + " groups");
    if (!isBinary() && std::int64_t(zeros.size()) != zeroBytes() + std::int64_t(kStreamPadding))
        fail("zero points hold " + str(std::int64_t(zeros.size()) - std::int64_t(kStreamPadding)) +
             " bytes, " + str(groups) + " zero points of " + str(bits) + " bits need " +
             str(zeroBytes()));
    if (isBinary() && !zeros.empty())
        fail("binary groups have no zero points");
    for (int g = 0; g < groups; ++g) {
        float d = 0;
        if (scaleFormat == ScaleFormat::F16) {
            // Exponent all ones: Inf or NaN; finiteHalfToFloat is only defined for finite ones.
            if ((scalesF16[std::size_t(g)] & 0x7C00u) == 0x7C00u)
                fail("scale of group " + str(g) + " is not finite");
            d = finiteHalfToFloat(scalesF16[std::size_t(g)]);
        } else {
            d = scalesF32[std::size_t(g)];
            if (!std::isfinite(d))
                fail("scale of group " + str(g) + " is not finite");
        }
        if (d < 0)
            fail("scale of group " + str(g) + " is negative (" + std::to_string(d) + ")");
    }
    // In a dense b-bit stream every code is within [0, 2^b - 1] by construction; the only
    // out-of-range content is a set bit past the last code, or in the in-memory padding.
    const auto trailingZero = [&](const std::vector<std::uint8_t>& stream, std::int64_t n) {
        return paddingIsZero(stream, bits, n);
    };
    if (!trailingZero(codes, valueCount()))
        fail("codes: bits past the last code are set (a stream for another length or bit width)");
    if (!isBinary() && !trailingZero(zeros, groups))
        fail("zero points: bits past the last zero point are set (a stream for another length or "
             "bit width)");
}

PackedVectors packVectors(const QuantizedVectors& part, const std::string& where)
{
    const auto fail = [&](const std::string& problem) { throw Error(where, problem); };
    PackedVectors packed;
    static_cast<VectorGroups&>(packed) = part;
    if (part.bits < kMinCodeBits || part.bits > kMaxCodeBits)
        fail("code bit width " + str(part.bits) + " is not in 1..8");
    if (packed.isBinary() && part.bits != 1)
        fail("binary codes must be 1 bit");
    if (std::int64_t(part.codes.size()) != part.valueCount())
        fail("holds " + str(std::int64_t(part.codes.size())) + " codes for " +
             str(part.valueCount()) + " values");
    const int groups = packed.groupCount();
    if (part.groupCount() != groups || std::int64_t(part.scales.size()) != groups ||
        (!packed.isBinary() && std::int64_t(part.zeros.size()) != groups))
        fail("holds " + str(std::int64_t(part.scales.size())) + " scales and " +
             str(std::int64_t(part.zeros.size())) + " zero points for " + str(groups) + " groups");

    packed.codes = paddedStream(part.codes, part.bits);
    if (!packed.isBinary())
        packed.zeros = paddedStream(part.zeros, part.bits);
    if (part.scaleFormat == ScaleFormat::F16) {
        packed.scalesF16.resize(part.scales.size());
        for (std::size_t g = 0; g < part.scales.size(); ++g) {
            const float d = part.scales[g];
            const std::uint16_t half = floatToHalf(d);
            if (halfToFloat(half) != d)
                fail("scale " + std::to_string(d) + " of group " + str(std::int64_t(g)) +
                     " is not a binary16 value; the engine stores F16 scales rounded");
            packed.scalesF16[g] = half;
        }
    } else {
        packed.scalesF32 = part.scales;
    }
    packed.validate(where, std::string(schemeName(packed)) + " part");
    return packed;
}

QuantizedVectors unpackVectors(const PackedVectors& part)
{
    QuantizedVectors q;
    static_cast<VectorGroups&>(q) = part;
    q.codes.resize(std::size_t(part.valueCount()));
    unpackCodes(part.codes, part.bits, 0, q.codes);
    const int groups = part.groupCount();
    q.scales.resize(std::size_t(groups));
    for (int g = 0; g < groups; ++g)
        q.scales[std::size_t(g)] = part.scale(g);
    if (!part.isBinary()) {
        q.zeros.resize(std::size_t(groups));
        unpackCodes(part.zeros, part.bits, 0, q.zeros);
    }
    return q;
}

std::int64_t PackedModule::storedBits() const
{
    return bHigh.storedBits() + aHigh.storedBits() + bLow.storedBits() + aLow.storedBits() +
           kModuleHeaderBits;
}

void PackedModule::validate(const std::string& file) const
{
    const std::string where = "module " + name;
    const auto fail = [&](const std::string& problem) {
        throw Error(file, where + ": " + problem);
    };
    if (m < 1 || n < 1 || r < 1)
        fail("shape m " + str(m) + ", n " + str(n) + ", r " + str(r) + " is not positive");
    if (h < 0 || h > r)
        fail("h = " + str(h) + " is outside 0..r = " + str(r));
    if (bitsHigh < kMinCodeBits || bitsHigh > kMaxCodeBits)
        fail("high bit width " + str(bitsHigh) + " is not in 1..8");
    if (!std::isfinite(loraScale))
        fail("the LoRA scale is not finite");
    struct Expect
    {
        const PackedVectors& part;
        const char* label;
        int count;
        int length;
        bool binary;
        int bits;
    };
    const Expect parts[] = {{bHigh, "B high", h, m, false, bitsHigh},
                            {aHigh, "A high", h, n, false, bitsHigh},
                            {bLow, "B low", r - h, m, true, 1},
                            {aLow, "A low", r - h, n, true, 1}};
    for (const Expect& e : parts) {
        if (e.part.count != e.count || e.part.length != e.length)
            fail(std::string(e.label) + " has " + str(e.part.count) + " vectors of " +
                 str(e.part.length) + ", expected " + str(e.count) + " of " + str(e.length));
        if (e.part.isBinary() != e.binary || e.part.bits != e.bits)
            fail(std::string(e.label) + " is " + schemeName(e.part) + " with " + str(e.part.bits) +
                 " bits, expected " + (e.binary ? "binary" : "RTN") + " with " + str(e.bits));
        e.part.validate(file, where + ", " + e.label);
    }
}

namespace {

// Fills columns [first, first + part.count) of `target` (rows = vector positions), or the
// transposed rows when `rows` is set.
void putDequantized(Eigen::MatrixXf& target, int first, const PackedVectors& part, bool rows)
{
    for (int v = 0; v < part.count; ++v)
        for (int i = 0; i < part.length; ++i) {
            const float value = part.dequantize(v, i);
            if (rows)
                target(first + v, i) = value;
            else
                target(i, first + v) = value;
        }
}

} // namespace

Eigen::MatrixXf dequantizedB(const PackedModule& module)
{
    Eigen::MatrixXf b(module.m, module.r);
    putDequantized(b, 0, module.bHigh, false);
    putDequantized(b, module.h, module.bLow, false);
    return b;
}

Eigen::MatrixXf dequantizedA(const PackedModule& module)
{
    Eigen::MatrixXf a(module.r, module.n);
    putDequantized(a, 0, module.aHigh, true);
    putDequantized(a, module.h, module.aLow, true);
    return a;
}

std::int64_t PackedAdapter::parameterCount() const
{
    std::int64_t total = 0;
    for (const PackedModule& module : modules)
        total += module.parameterCount();
    return total;
}

std::int64_t PackedAdapter::storedBits() const
{
    std::int64_t total = 0;
    for (const PackedModule& module : modules)
        total += module.storedBits();
    return total;
}

double PackedAdapter::avgBitsTrue() const
{
    const std::int64_t parameters = parameterCount();
    return parameters ? double(storedBits()) / double(parameters) : 0.0;
}

double PackedAdapter::avgBitsPaper() const
{
    double bits = 0;
    for (const PackedModule& module : modules)
        bits += paperModuleBits(module.m, module.n, module.r, module.h, module.bitsHigh);
    const std::int64_t parameters = parameterCount();
    return parameters ? bits / double(parameters) : 0.0;
}

PackedAdapter packAdapter(const Adapter& adapter, const QuantResult& result)
{
    const std::string& source = adapter.path();
    if (result.cancelled)
        throw Error(source, "the quantization was cancelled; there is nothing to pack");
    if (result.method != "loraquant")
        throw Error(source, "only LoRAQuant results are packed; '" + result.method +
                                "' is a whole-adapter baseline");
    if (result.modules.size() != adapter.modules().size())
        throw Error(source, "the result has " + str(std::int64_t(result.modules.size())) +
                                " modules, the adapter " +
                                str(std::int64_t(adapter.modules().size())));

    PackedAdapter packed;
    packed.settings = result.settings;
    packed.settings.hOverride.clear();
    packed.settings.bitsHighOverride.clear();
    packed.relErrTotal = result.relErrTotal;
    packed.source.path = source;
    if (const SafetensorsFile* file = adapter.file()) {
        packed.source.sha256 = sha256File(file->path());
        packed.source.bytes = file->fileSize();
    }
    packed.source.metadata = adapter.metadata();
    for (std::size_t i = 0; i < adapter.otherTensors().size(); ++i) {
        const TensorView tensor = adapter.otherTensor(i);
        packed.otherTensors.push_back(
            {tensor.name, tensor.dtype, tensor.shape, {tensor.bytes.begin(), tensor.bytes.end()}});
    }
    if (adapter.config())
        packed.source.configJson = adapter.config()->rawJson;

    packed.modules.reserve(result.modules.size());
    for (std::size_t i = 0; i < result.modules.size(); ++i) {
        const ModuleResult& r = result.modules[i];
        const LoraModule& module = adapter.modules()[i];
        if (r.name != module.name || r.m != module.m || r.n != module.n || r.r != module.r)
            throw Error(source, "result module " + r.name + " does not match adapter module " +
                                    module.name);
        PackedModule p;
        p.name = module.name;
        p.keyA = module.keyA;
        p.keyB = module.keyB;
        p.dtypeA = p.dtypeB = module.dtype;
        if (const SafetensorsFile* file = adapter.file()) {
            if (const TensorEntry* a = file->find(module.keyA))
                p.dtypeA = a->dtype;
            if (const TensorEntry* b = file->find(module.keyB))
                p.dtypeB = b->dtype;
        }
        p.m = r.m;
        p.n = r.n;
        p.r = r.r;
        p.h = r.h;
        p.bitsHigh = r.bitsHigh;
        p.loraScale = module.scale.value_or(1.0);
        p.relErr = r.relErr;
        const std::string where = source + ": module " + module.name;
        p.bHigh = packVectors(r.bHigh, where + ", B high");
        p.aHigh = packVectors(r.aHigh, where + ", A high");
        p.bLow = packVectors(r.bLow, where + ", B low");
        p.aLow = packVectors(r.aLow, where + ", A low");
        p.validate(source);
        packed.modules.push_back(std::move(p));
    }
    return packed;
}

} // namespace lq
