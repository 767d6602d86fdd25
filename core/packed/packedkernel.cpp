#include "core/packed/packedkernel.h"

#include "core/io/error.h"
#include "core/io/firsterror.h"
#include "core/packed/avx2maskkernel.h"
#include "core/packed/codedecode.h"
#include "core/packed/kerneldispatch.h"
#include "core/packed/lookupkernel.h"
#include "core/packed/maskkernel.h"

#include <algorithm>
#include <omp.h>
#include <vector>

// The tile functions are compiled three times and picked by the CPU at load time. Only GCC on
// x86-64 (clang's target_clones syntax differs; the fuzz build uses clang and gets one version).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LQ_KERNEL_CLONES                                                                           \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LQ_KERNEL_CLONES
#endif
// Everything the tile functions call must be inlined into them, or it would be compiled for the
// baseline target only.
#define LQ_INLINE [[gnu::always_inline]] inline

namespace lq {
namespace {

using packed_detail::decodeRun;

// Everything a tile needs, as plain pointers (no Eigen in the cloned functions).
struct Job
{
    const PackedModule* module;
    const float* x;
    std::int64_t xStride; // between columns of X
    float* y;
    std::int64_t yStride;
    int tokens;
    float* partial; // [A tile][component][token]: partial sums of A_hat X
    float* t;       // [component][token]: s * A_hat X (written by the sum over tiles)
    ModulePaths paths;
};

// sum a[j] b[j] in 4 x 16 fixed lanes (lane k of block q adds j = 64 i + 16 q + k), folded in a
// fixed order at the end. The lanes are written out, so the compiler vectorizes it without
// reassociating (no -ffast-math): four independent accumulators (one AVX-512 register each, two
// AVX2 ones) hide the latency of the multiply-add, and the fold costs 3 vector adds and 4 halving
// steps.
LQ_INLINE float dot(const float* a, const float* b, int len)
{
    constexpr int lanes = 16;
    float acc0[lanes] = {}, acc1[lanes] = {}, acc2[lanes] = {}, acc3[lanes] = {};
    int j = 0;
    for (; j + 4 * lanes <= len; j += 4 * lanes)
        for (int k = 0; k < lanes; ++k) {
            acc0[k] += a[j + k] * b[j + k];
            acc1[k] += a[j + lanes + k] * b[j + lanes + k];
            acc2[k] += a[j + 2 * lanes + k] * b[j + 2 * lanes + k];
            acc3[k] += a[j + 3 * lanes + k] * b[j + 3 * lanes + k];
        }
    for (; j + lanes <= len; j += lanes)
        for (int k = 0; k < lanes; ++k)
            acc1[k] += a[j + k] * b[j + k];
    for (int k = 0; j < len; ++j, ++k)
        acc2[k] += a[j] * b[j];
    for (int k = 0; k < lanes; ++k)
        acc0[k] = (acc0[k] + acc1[k]) + (acc2[k] + acc3[k]);
    for (int k = 0; k < 8; ++k)
        acc0[k] += acc0[k + 8];
    for (int k = 0; k < 4; ++k)
        acc0[k] += acc0[k + 4];
    return (acc0[0] + acc0[2]) + (acc0[1] + acc0[3]);
}

// Values [i0, i1) of vector v of `part`, dequantized into out[0 .. i1 - i0), group by group.
template <int Bits, bool Binary>
LQ_INLINE void decodeRange(const PackedVectors& part, int v, int i0, int i1, float* out)
{
    constexpr int chunkBytes = packed_detail::kChunkCodes * Bits / 8;
    const int g = part.groupSize;
    PackedVectors::Span span = part.spanAt(v, i0);
    if (g % packed_detail::kChunkCodes == 0 && part.length % packed_detail::kChunkCodes == 0 &&
        i0 % packed_detail::kChunkCodes == 0) {
        // Every 32-code chunk starts on a chunk boundary of the stream and lies in one group
        // (the vector, the group and the tile all start on multiples of 32 codes): one scale
        // and zero point per chunk, no per-group calls. The usual case (g = 128, m, n % 32 = 0).
        const int chunks = (i1 - i0) / packed_detail::kChunkCodes;
        const std::uint8_t* bytes = part.codes.data() + (std::int64_t(v) * part.length + i0) /
                                                            packed_detail::kChunkCodes * chunkBytes;
        float scale = part.scale(span.group);
        float zero = Binary ? 0.0f : float(part.zero(span.group));
        for (int c = 0; c < chunks; ++c) {
            const int i = i0 + c * packed_detail::kChunkCodes;
            if (i >= span.end) {
                ++span.group;
                span.end = std::min(span.end + g, part.length);
                scale = part.scale(span.group);
                zero = Binary ? 0.0f : float(part.zero(span.group));
            }
            packed_detail::decodeChunk<Bits, Binary>(bytes + c * chunkBytes, zero, scale,
                                                     out + c * packed_detail::kChunkCodes);
        }
        return;
    }
    // General case: runs of one group each, with unaligned heads and short tails. The next group
    // of the vector always starts where one ends and ends g later or at the vector's end (both
    // layouts).
    const std::int64_t base = std::int64_t(v) * part.length;
    for (int i = i0; i < i1;) {
        const int end = std::min(span.end, i1);
        const float scale = part.scale(span.group);
        const float zero = Binary ? 0.0f : float(part.zero(span.group));
        decodeRun<Bits, Binary>(part.codes.data(), base + i, end - i, zero, scale, out + (i - i0));
        i = end;
        ++span.group;
        span.end = int(std::min<std::int64_t>(std::int64_t(span.end) + g, part.length));
    }
}

// Component c of a factor: the high part's vector c, or the low part's vector c - h.
template <int Bits>
LQ_INLINE void decodeComponent(const PackedVectors& high, const PackedVectors& low, int h, int c,
                               int i0, int i1, float* out)
{
    if (c < h)
        decodeRange<Bits, false>(high, c, i0, i1, out);
    else
        decodeRange<1, true>(low, c - h, i0, i1, out);
}

// partial[tile][c][token] = sum over j in the tile of A_hat(c, j) X(j, token).
template <int Bits>
LQ_INLINE void tileA(const Job& job, int tile)
{
    const PackedModule& module = *job.module;
    const int i0 = tile * kKernelTile, i1 = std::min(module.n, i0 + kKernelTile);
    const int len = i1 - i0;
    alignas(64) float row[kKernelTile];
    for (int c = 0; c < module.r; ++c) {
        decodeComponent<Bits>(module.aHigh, module.aLow, module.h, c, i0, i1, row);
        float* out = job.partial + (std::int64_t(tile) * module.r + c) * job.tokens;
        for (int token = 0; token < job.tokens; ++token) {
            out[token] = dot(row, job.x + token * job.xStride + i0, len);
        }
    }
}

// Y(i, token) = sum over c of B_hat(i, c) t(c, token) for the rows i of the tile: decode up to
// kBlock component columns of the tile, then add them up in 16-lane registers and store each
// output once (instead of a load and a store of Y per component).
template <int Bits>
LQ_INLINE void tileB(const Job& job, int tile)
{
    constexpr int kBlock = 8; // 8 columns of 512 floats: 16 KiB, in L1 with the rest
    constexpr int lanes = 16;
    const PackedModule& module = *job.module;
    const int i0 = tile * kKernelTile, i1 = std::min(module.m, i0 + kKernelTile);
    const int len = i1 - i0;
    alignas(64) float columns[kBlock][kKernelTile];
    for (int c0 = 0; c0 < module.r; c0 += kBlock) {
        const int block = std::min(kBlock, module.r - c0);
        for (int c = 0; c < block; ++c)
            decodeComponent<Bits>(module.bHigh, module.bLow, module.h, c0 + c, i0, i1, columns[c]);
        for (int token = 0; token < job.tokens; ++token) {
            float coefficient[kBlock];
            for (int c = 0; c < block; ++c)
                coefficient[c] = job.t[std::int64_t(c0 + c) * job.tokens + token];
            float* y = job.y + token * job.yStride + i0;
            int j = 0;
            for (; j + lanes <= len; j += lanes) {
                float acc[lanes];
                for (int k = 0; k < lanes; ++k)
                    acc[k] = c0 == 0 ? 0.0f : y[j + k];
                for (int c = 0; c < block; ++c)
                    for (int k = 0; k < lanes; ++k)
                        acc[k] += columns[c][j + k] * coefficient[c];
                for (int k = 0; k < lanes; ++k)
                    y[j + k] = acc[k];
            }
            for (; j < len; ++j) {
                float acc = c0 == 0 ? 0.0f : y[j];
                for (int c = 0; c < block; ++c)
                    acc += columns[c][j] * coefficient[c];
                y[j] = acc;
            }
        }
    }
}

LQ_KERNEL_CLONES void runTileA(const Job& job, int tile)
{
    switch (job.module->bitsHigh) {
    case 1:
        return tileA<1>(job, tile);
    case 2:
        return tileA<2>(job, tile);
    case 3:
        return tileA<3>(job, tile);
    case 4:
        return tileA<4>(job, tile);
    case 5:
        return tileA<5>(job, tile);
    case 6:
        return tileA<6>(job, tile);
    case 7:
        return tileA<7>(job, tile);
    default:
        return tileA<8>(job, tile);
    }
}

LQ_KERNEL_CLONES void runTileB(const Job& job, int tile)
{
    switch (job.module->bitsHigh) {
    case 1:
        return tileB<1>(job, tile);
    case 2:
        return tileB<2>(job, tile);
    case 3:
        return tileB<3>(job, tile);
    case 4:
        return tileB<4>(job, tile);
    case 5:
        return tileB<5>(job, tile);
    case 6:
        return tileB<6>(job, tile);
    case 7:
        return tileB<7>(job, tile);
    default:
        return tileB<8>(job, tile);
    }
}

// The part-by-part functions of a vector path (kerneldispatch.h). Avx2DecodedTiles takes a
// factor whole (vectorTileA, vectorTileB), Decoding the module (runTileA, runTileB).
struct PartKernel
{
    decltype(&packed_detail::maskRowsTimesX) rowsTimesX;
    decltype(&packed_detail::maskColumnsTimesT) columnsTimesT;
};

PartKernel partKernel(KernelPath path)
{
    switch (path) {
    case KernelPath::Lookup:
        return {packed_detail::lookupRowsTimesX, packed_detail::lookupColumnsTimesT};
    case KernelPath::MaskAvx512:
        return {packed_detail::maskRowsTimesX, packed_detail::maskColumnsTimesT};
    case KernelPath::MaskAvx2:
    case KernelPath::Avx2DecodedTiles:
    case KernelPath::Decoding:
        break;
    }
    return {packed_detail::avx2RowsTimesX, packed_detail::avx2ColumnsTimesT};
}

void partRowsTimesX(KernelPath path, const PackedVectors& part, int i0, int i1, const Job& job,
                    float* out)
{
    partKernel(path).rowsTimesX(part, i0, i1, job.x, job.xStride, job.tokens, out);
}

void partColumnsTimesT(KernelPath path, const PackedVectors& part, int i0, int i1, const Job& job,
                       const float* t, bool accumulate)
{
    partKernel(path).columnsTimesT(part, i0, i1, t, job.tokens, job.y, job.yStride, accumulate);
}

// The same tiles as the decoding path, part by part: high part, then binary part, in the
// decoding path's order of components; or, on Avx2DecodedTiles, the factor whole.
void vectorTileA(const Job& job, int tile)
{
    const PackedModule& module = *job.module;
    const int i0 = tile * kKernelTile, i1 = std::min(module.n, i0 + kKernelTile);
    float* out = job.partial + std::int64_t(tile) * module.r * job.tokens;
    if (job.paths.aHigh == KernelPath::Avx2DecodedTiles)
        return packed_detail::avx2FactorRowsTimesX(module.aHigh, module.aLow, i0, i1, job.x,
                                                   job.xStride, job.tokens, out);
    if (module.h > 0)
        partRowsTimesX(job.paths.aHigh, module.aHigh, i0, i1, job, out);
    if (module.r > module.h)
        partRowsTimesX(job.paths.aLow, module.aLow, i0, i1, job,
                       out + std::int64_t(module.h) * job.tokens);
}

void vectorTileB(const Job& job, int tile)
{
    const PackedModule& module = *job.module;
    const int i0 = tile * kKernelTile, i1 = std::min(module.m, i0 + kKernelTile);
    if (job.paths.bHigh == KernelPath::Avx2DecodedTiles)
        return packed_detail::avx2FactorColumnsTimesT(module.bHigh, module.bLow, i0, i1, job.t,
                                                      job.tokens, job.y, job.yStride);
    if (module.h > 0)
        partColumnsTimesT(job.paths.bHigh, module.bHigh, i0, i1, job, job.t, false);
    if (module.r > module.h)
        partColumnsTimesT(job.paths.bLow, module.bLow, i0, i1, job,
                          job.t + std::int64_t(module.h) * job.tokens, module.h > 0);
}

void checkShapes(const PackedModule& module, Eigen::Index xRows, Eigen::Index xCols,
                 Eigen::Index yRows, Eigen::Index yCols)
{
    if (xRows != module.n || yRows != module.m || xCols != yCols || xCols < 1)
        throw Error("module " + module.name,
                    "activations are " + std::to_string(xRows) + " x " + std::to_string(xCols) +
                        " and the output " + std::to_string(yRows) + " x " + std::to_string(yCols) +
                        "; the module needs n = " + std::to_string(module.n) + " rows in, m = " +
                        std::to_string(module.m) + " rows out, T >= 1 columns in both");
    if (module.bitsHigh < kMinCodeBits || module.bitsHigh > kMaxCodeBits)
        throw Error("module " + module.name, "high bit width is not in 1..8");
}

// One module: t = s A_hat X over the A tiles, then Y = B_hat t over the B tiles, by the kernels
// `paths` name (chooseModulePaths), the threads splitting each when `parallel` (same tiles and
// sums either way, so the same result).
void applyModule(const PackedModule& module, const Eigen::Ref<const Eigen::MatrixXf>& X,
                 Eigen::Ref<Eigen::MatrixXf> Y, const ModulePaths& paths, bool parallel)
{
    const int tokens = int(X.cols());
    const int r = module.r;
    const int aTiles = (module.n + kKernelTile - 1) / kKernelTile;
    const int bTiles = (module.m + kKernelTile - 1) / kKernelTile;
    // Reused between calls: at T = 1 a module takes microseconds, an allocation is noticeable.
    thread_local std::vector<float> partial, t;
    partial.resize(std::size_t(aTiles) * std::size_t(r) * std::size_t(tokens));
    t.resize(std::size_t(r) * std::size_t(tokens));
    const Job job{&module, X.data(),       X.outerStride(), Y.data(), Y.outerStride(),
                  tokens,  partial.data(), t.data(),        paths};
    const auto scale = float(module.loraScale);
    const std::int64_t rt = std::int64_t(r) * tokens;
    const bool decodes = paths.decodes();
    const auto tileA = [&](int tile) { decodes ? runTileA(job, tile) : vectorTileA(job, tile); };
    const auto tileB = [&](const Job& with, int tile) {
        decodes ? runTileB(with, tile) : vectorTileB(with, tile);
    };
    // t(c, token) = s * (tile sums in tile order): fixed order, same result on any number of
    // threads. (Through job.partial: inside the parallel region `partial` names each thread's
    // own buffer.)
    const auto sumTiles = [&](float* into) {
        for (std::int64_t k = 0; k < rt; ++k) {
            float sum = 0;
            for (int tile = 0; tile < aTiles; ++tile)
                sum += job.partial[tile * rt + k];
            into[k] = scale * sum;
        }
    };
    if (!parallel) {
        for (int tile = 0; tile < aTiles; ++tile)
            tileA(tile);
        sumTiles(job.t);
        for (int tile = 0; tile < bTiles; ++tile)
            tileB(job, tile);
        return;
    }
    // Every thread still reaches both loops after a failure (they are worksharing constructs);
    // the work left is skipped and the error rethrown here.
    FirstError error;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int tile = 0; tile < aTiles; ++tile)
            error.run([&] { tileA(tile); });
        // Every thread makes its own t (r T sums of aTiles terms, a small fraction of the
        // module's r (m + n) T multiply-adds), where sharing one would cost a barrier more per
        // module: at T = 1 as long as the sums themselves.
        thread_local std::vector<float> own;
        Job mine = job;
        error.run([&] {
            own.resize(std::size_t(rt));
            sumTiles(own.data());
            mine.t = own.data();
        });
#pragma omp for schedule(static) nowait
        for (int tile = 0; tile < bTiles; ++tile)
            error.run([&] { tileB(mine, tile); });
    }
    error.rethrow();
}

} // namespace

void applyPacked(const PackedModule& module, const Eigen::Ref<const Eigen::MatrixXf>& X,
                 Eigen::Ref<Eigen::MatrixXf> Y)
{
    checkShapes(module, X.rows(), X.cols(), Y.rows(), Y.cols());
    const ModulePaths paths = chooseModulePaths(module, int(X.cols()));
    const bool parallel = module.parameterCount() * X.cols() >= paths.parallelWork &&
                          omp_get_max_threads() > 1 && !omp_in_parallel();
    applyModule(module, X, Y, paths, parallel);
}

void applyPackedModules(std::span<const PackedModule> modules, std::span<const Eigen::MatrixXf> xs,
                        std::span<Eigen::MatrixXf> ys)
{
    if (xs.size() != modules.size() || ys.size() != modules.size())
        throw Error("applyPackedModules", std::to_string(modules.size()) + " modules, " +
                                              std::to_string(xs.size()) + " inputs and " +
                                              std::to_string(ys.size()) + " outputs");
    for (std::size_t i = 0; i < modules.size(); ++i)
        checkShapes(modules[i], xs[i].rows(), xs[i].cols(), ys[i].rows(), ys[i].cols());
    // Whole modules per thread: no fork, join or barrier per module, which at T = 1 cost as
    // much as a module's work. Dynamic: the modules' sizes differ (4096 x 4096 and 11008 x 4096
    // in a 7B model).
    const auto count = std::int64_t(modules.size());
    FirstError error;
#pragma omp parallel for schedule(dynamic, 1) if (count > 1)
    for (std::int64_t i = 0; i < count; ++i)
        error.run([&] {
            const PackedModule& module = modules[std::size_t(i)];
            const Eigen::MatrixXf& x = xs[std::size_t(i)];
            applyModule(module, x, ys[std::size_t(i)], chooseModulePaths(module, int(x.cols())),
                        false);
        });
    error.rethrow();
}

void applyReference(const PackedModule& module, const Eigen::Ref<const Eigen::MatrixXf>& X,
                    Eigen::Ref<Eigen::MatrixXf> Y)
{
    checkShapes(module, X.rows(), X.cols(), Y.rows(), Y.cols());
    const Eigen::MatrixXf B = dequantizedB(module);
    const Eigen::MatrixXf A = dequantizedA(module);
    std::vector<double> t(std::size_t(module.r));
    for (Eigen::Index token = 0; token < X.cols(); ++token) {
        for (int c = 0; c < module.r; ++c) {
            double sum = 0;
            for (int j = 0; j < module.n; ++j)
                sum += double(A(c, j)) * double(X(j, token));
            t[std::size_t(c)] = sum;
        }
        for (int i = 0; i < module.m; ++i) {
            double sum = 0;
            for (int c = 0; c < module.r; ++c)
                sum += double(B(i, c)) * t[std::size_t(c)];
            Y(i, token) = float(module.loraScale * sum);
        }
    }
}

std::int64_t packedWeightBytes(const PackedModule& module)
{
    std::int64_t bytes = 0;
    for (const PackedVectors* part : {&module.bHigh, &module.aHigh, &module.bLow, &module.aLow})
        bytes += part->codeBytes() + part->zeroBytes() +
                 std::int64_t(part->groupCount()) * scaleBits(part->scaleFormat) / 8;
    return bytes;
}

} // namespace lq
