// bench_kernels: the packed CPU kernel against float weights on a 7B-class adapter (issue 4).
//
//   bench_kernels [--passes N] [--decoding] [ADAPTER]
//
// Without ADAPTER it writes the synthetic llama2-7b rank-16 all-linear F16 adapter (224 modules,
// 40 M parameters) to a temporary folder. It quantizes it with LoRAQuant (rho 0.9, b_h 2, g 128,
// fp16 scales), then for T = 1, 8, 64 activation vectors times one pass over all modules of
//   (a)  the packed kernel (applyPacked: codes, scales and zero points read directly), one call
//        per module as a forward pass makes them,
//   (a2) the same kernel on all modules in one call (applyPackedModules: threads take whole
//        modules, as when many adapters' modules are applied together),
//   (b)  Eigen float32 with the original B and A: Y = s B (A X), as a program would write it,
//   (b2) the same float32 product with the work split over the OpenMP threads like (a),
//   (c)  float16-stored B and A converted to float on the fly, tiled and threaded like (a),
// the bytes of weights each reads, and a STREAM-like copy bandwidth measured in the same run.
// Targets at T = 1: (a) at least 1.5x faster than (b), and (a)'s weight bytes per second at least
// a quarter of the copy bandwidth (printed for (a2) too). Each time is the best (and the median)
// of N passes after a warm-up pass; "hot" passes run back to back (the 6 MB of packed weights may
// stay in the last-level cache, the 160 MB of float32 weights cannot), "cold" ones after
// streaming 512 MB through the caches. --decoding sends every module through the decoding path
// (ScopedKernelPath(KernelPath::Decoding), kerneldispatch.h), to see what the mask and lookup
// kernels gain on this CPU. Not a test: run it by hand on an otherwise idle machine.

#include "core/engine/adapterquantizer.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "core/io/synthesizer.h"
#include "core/packed/kerneldispatch.h"
#include "core/packed/kernelvalidation.h"
#include "core/packed/packedformat.h"
#include "core/packed/packedkernel.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <omp.h>
#include <optional>
#include <string>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fs = std::filesystem;

namespace {

constexpr double kTargetSpeedup = 1.5;          // (a) vs (b) at T = 1
constexpr double kTargetBandwidthShare = 0.25;  // (a)'s weight bytes/s vs copy bandwidth
constexpr std::size_t kScrubBytes = 512u << 20; // "cold" passes stream this much first
constexpr std::size_t kCopyBytes = 256u << 20;  // per array of the copy bandwidth test
constexpr int kTile = lq::kKernelTile;

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Timing
{
    double best = 0;
    double median = 0;
};

// Best and median of `passes` timed runs after one warm-up run; `before` runs untimed first.
Timing timePasses(int passes, const std::function<void()>& pass,
                  const std::function<void()>& before = {})
{
    pass();
    std::vector<double> times;
    for (int i = 0; i < passes; ++i) {
        if (before)
            before();
        const auto start = Clock::now();
        pass();
        times.push_back(seconds(start));
    }
    std::sort(times.begin(), times.end());
    return {times.front(), times[times.size() / 2]};
}

// STREAM "copy" (a[i] = b[i]) over two arrays far larger than the caches, on all threads;
// bandwidth counts the bytes read and the bytes written, as STREAM does.
double copyBandwidth()
{
    const std::size_t count = kCopyBytes / sizeof(double);
    std::vector<double> a(count), b(count);
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < count; ++i) {
        a[i] = 0.0;
        b[i] = double(i);
    }
    const Timing t = timePasses(5, [&] {
#pragma omp parallel for schedule(static)
        for (std::size_t i = 0; i < count; ++i)
            a[i] = b[i];
    });
    return 2.0 * double(kCopyBytes) / t.best;
}

std::vector<char> g_scrub(kScrubBytes, 1);
volatile long g_scrubSink = 0;

void scrubCaches()
{
    long sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (std::size_t i = 0; i < g_scrub.size(); i += 64) {
        g_scrub[i] = char(g_scrub[i] + 1);
        sum += g_scrub[i];
    }
    g_scrubSink = g_scrubSink + sum;
}

// ---- the mask kernel's ceiling on this CPU ------------------------------------------------------

#if defined(__GNUC__) && defined(__x86_64__)
constexpr int kCeilingRows = 15; // the binary rows of an r = 16, h = 1 module
constexpr int kCeilingLength = 4096;

// The innermost work of maskkernel.cpp's binary rows and nothing else: per 16 weights, load 16
// bits of a 1-bit stream, move them into a mask register and do one masked add, for 15 rows in
// L1. No group epilogue, no tiles, no B side: an upper bound for what the kernel can do per core.
// The result is returned so that the loop cannot be dropped.
[[gnu::target("avx512f,avx512dq"), gnu::noinline]] float
maskedAddLoop(const float* x, const std::uint16_t* codes, long repeats)
{
    __m512 acc[kCeilingRows];
    for (__m512& a : acc)
        a = _mm512_setzero_ps();
    constexpr int words = kCeilingLength / 16;
    for (long rep = 0; rep < repeats; ++rep)
        for (int j = 0; j < words; ++j) {
            const __m512 xv = _mm512_loadu_ps(x + 16 * j);
#pragma GCC unroll 16
            for (int b = 0; b < kCeilingRows; ++b)
                acc[b] =
                    _mm512_mask_add_ps(acc[b], _cvtu32_mask16(codes[b * words + j]), acc[b], xv);
        }
    float sum = 0;
    for (const __m512& a : acc) {
        alignas(64) float lane[16];
        _mm512_store_ps(lane, a);
        for (const float v : lane)
            sum += v;
    }
    return sum;
}

volatile float g_ceilingSink = 0;

// Weights per nanosecond on one core (best of 5 runs of about 20 ms); 0 without AVX-512.
double maskCeiling()
{
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512dq"))
        return 0;
    std::vector<float> x(kCeilingLength, 0.5f);
    std::vector<std::uint16_t> codes(std::size_t(kCeilingRows) * kCeilingLength / 16);
    std::uint32_t state = 12345;
    for (std::uint16_t& word : codes) {
        state = state * 1664525u + 1013904223u;
        word = std::uint16_t(state >> 16);
    }
    constexpr long repeats = 2000;
    const Timing t = timePasses(
        5, [&] { g_ceilingSink = g_ceilingSink + maskedAddLoop(x.data(), codes.data(), repeats); });
    return double(repeats) * kCeilingRows * kCeilingLength / t.best / 1e9;
}
#else
double maskCeiling()
{
    return 0;
}
#endif

// ---- (c): float16 weights converted on the fly, tiled like the packed kernel ----------------

struct HalfModule
{
    int m = 0, n = 0, r = 0;
    float scale = 1;
    std::vector<std::uint16_t> a; // r rows of n (row c contiguous)
    std::vector<std::uint16_t> b; // r columns of m (column c contiguous)
};

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define BENCH_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BENCH_CLONES
#endif

BENCH_CLONES void halfTileA(const HalfModule& h, const float* x, int tokens, int tile,
                            float* partial)
{
    const int i0 = tile * kTile, len = std::min(h.n, i0 + kTile) - i0;
    alignas(64) float row[kTile];
    for (int c = 0; c < h.r; ++c) {
        const std::uint16_t* src = h.a.data() + std::size_t(c) * h.n + i0;
        for (int j = 0; j < len; ++j)
            row[j] = lq::finiteHalfToFloat(src[j]);
        for (int t = 0; t < tokens; ++t) {
            const float* xt = x + std::size_t(t) * h.n + i0;
            float acc[64] = {};
            int j = 0;
            for (; j + 64 <= len; j += 64)
                for (int k = 0; k < 64; ++k)
                    acc[k] += row[j + k] * xt[j + k];
            float sum = 0;
            for (; j < len; ++j)
                sum += row[j] * xt[j];
            for (int k = 0; k < 64; ++k)
                sum += acc[k];
            partial[(std::size_t(tile) * h.r + c) * tokens + t] = sum;
        }
    }
}

BENCH_CLONES void halfTileB(const HalfModule& h, const float* t, int tokens, int tile, float* y)
{
    const int i0 = tile * kTile, len = std::min(h.m, i0 + kTile) - i0;
    alignas(64) float column[kTile];
    for (int token = 0; token < tokens; ++token)
        std::fill_n(y + std::size_t(token) * h.m + i0, len, 0.0f);
    for (int c = 0; c < h.r; ++c) {
        const std::uint16_t* src = h.b.data() + std::size_t(c) * h.m + i0;
        for (int j = 0; j < len; ++j)
            column[j] = lq::finiteHalfToFloat(src[j]);
        for (int token = 0; token < tokens; ++token) {
            const float coefficient = t[std::size_t(c) * tokens + token];
            float* yt = y + std::size_t(token) * h.m + i0;
            for (int j = 0; j < len; ++j)
                yt[j] += column[j] * coefficient;
        }
    }
}

void applyHalf(const HalfModule& h, const Eigen::MatrixXf& x, Eigen::MatrixXf& y)
{
    const int tokens = int(x.cols());
    const int aTiles = (h.n + kTile - 1) / kTile, bTiles = (h.m + kTile - 1) / kTile;
    std::vector<float> partial(std::size_t(aTiles) * h.r * tokens), t(std::size_t(h.r) * tokens);
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int tile = 0; tile < aTiles; ++tile)
            halfTileA(h, x.data(), tokens, tile, partial.data());
#pragma omp for schedule(static)
        for (std::size_t k = 0; k < t.size(); ++k) {
            float sum = 0;
            for (int tile = 0; tile < aTiles; ++tile)
                sum += partial[std::size_t(tile) * t.size() + k];
            t[k] = h.scale * sum;
        }
#pragma omp for schedule(static)
        for (int tile = 0; tile < bTiles; ++tile)
            halfTileB(h, t.data(), tokens, tile, y.data());
    }
}

// ---- (b2): float32, split over the threads --------------------------------------------------

void applyFloatThreaded(const lq::ModuleFactors& f, float scale, const Eigen::MatrixXf& x,
                        Eigen::MatrixXf& y)
{
    const Eigen::Index n = f.A.cols(), m = f.B.rows(), r = f.A.rows();
    const int threads = omp_get_max_threads();
    std::vector<Eigen::MatrixXf> partial(std::size_t(threads), Eigen::MatrixXf::Zero(r, x.cols()));
    Eigen::MatrixXf t(r, x.cols());
#pragma omp parallel
    {
        const int id = omp_get_thread_num(), count = omp_get_num_threads();
        const Eigen::Index c0 = n * id / count, c1 = n * (id + 1) / count;
        partial[std::size_t(id)].noalias() =
            f.A.middleCols(c0, c1 - c0) * x.middleRows(c0, c1 - c0);
#pragma omp barrier
#pragma omp single
        {
            t = partial[0];
            for (int k = 1; k < count; ++k)
                t += partial[std::size_t(k)];
            t *= scale;
        }
        const Eigen::Index r0 = m * id / count, r1 = m * (id + 1) / count;
        y.middleRows(r0, r1 - r0).noalias() = f.B.middleRows(r0, r1 - r0) * t;
    }
}

std::string fixed(double value, int decimals)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string pad(const std::string& text, std::size_t width)
{
    return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
}

} // namespace

int main(int argc, char** argv)
{
    int passes = 15;
    std::string adapterPath;
    std::optional<lq::ScopedKernelPath> onlyPath;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--passes" && i + 1 < argc) {
            passes = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--decoding") {
            onlyPath.emplace(lq::KernelPath::Decoding);
        } else if (arg == "--help" || arg == "-h") {
            std::cout << "usage: bench_kernels [--passes N] [--decoding] [ADAPTER]\n"
                         "  --decoding  every module through the decoding path (no mask kernel,\n"
                         "              no lookup), to compare the paths on this CPU\n";
            return 0;
        } else {
            adapterPath = arg;
        }
    }

    std::string temporary;
    try {
        if (adapterPath.empty()) {
            const fs::path base = fs::temp_directory_path() / "bench_kernels.XXXXXX";
            std::string pattern = base.string();
            if (!::mkdtemp(pattern.data())) {
                std::perror("bench_kernels: mkdtemp");
                return 1;
            }
            temporary = pattern;
            adapterPath = temporary;
            lq::SynthSettings synth;
            synth.preset = "llama2-7b";
            synth.rank = 16;
            synth.targets = lq::SynthTargets::All;
            synth.dtype = lq::DType::F16;
            std::cout << "writing the synthetic llama2-7b rank-16 all-linear adapter to "
                      << temporary << '\n';
            lq::writeSyntheticAdapter(temporary, synth);
        }
        const lq::Adapter adapter = lq::Adapter::load(adapterPath);

        lq::QuantSettings settings;
        settings.rho = 0.9;
        settings.bitsHigh = 2;
        auto start = Clock::now();
        const lq::QuantResult result = lq::quantizeAdapter(adapter, settings);
        const double quantizeSeconds = seconds(start);
        const lq::PackedAdapter packed = lq::packAdapter(adapter, result);

        // The weights of (b) and (c), and the activations.
        std::vector<lq::ModuleFactors> factors;
        std::vector<HalfModule> halves;
        std::int64_t packedBytes = 0, floatBytes = 0, halfBytes = 0;
        double hSum = 0;
        for (std::size_t i = 0; i < adapter.modules().size(); ++i) {
            factors.push_back(adapter.factors(i));
            const lq::ModuleFactors& f = factors.back();
            HalfModule h;
            h.m = int(f.B.rows());
            h.n = int(f.A.cols());
            h.r = int(f.A.rows());
            h.scale = float(packed.modules[i].loraScale);
            h.a.resize(std::size_t(h.r) * h.n);
            h.b.resize(std::size_t(h.r) * h.m);
            for (int c = 0; c < h.r; ++c) {
                for (int j = 0; j < h.n; ++j)
                    h.a[std::size_t(c) * h.n + j] = lq::floatToHalf(f.A(c, j));
                for (int j = 0; j < h.m; ++j)
                    h.b[std::size_t(c) * h.m + j] = lq::floatToHalf(f.B(j, c));
            }
            halves.push_back(std::move(h));
            packedBytes += lq::packedWeightBytes(packed.modules[i]);
            floatBytes += 4 * packed.modules[i].parameterCount();
            halfBytes += 2 * packed.modules[i].parameterCount();
            hSum += packed.modules[i].h;
        }
        const std::size_t moduleCount = packed.modules.size();
        const int threads = omp_get_max_threads();

        std::cout << "adapter    " << adapterPath << ": " << moduleCount << " modules, "
                  << packed.parameterCount() << " LoRA parameters\n"
                  << "quantized  LoRAQuant rho 0.9, b_h 2, g 128, fp16 scales in "
                  << fixed(quantizeSeconds, 2) << " s; mean h "
                  << fixed(hSum / double(moduleCount), 2) << " of 16; bits per parameter: paper "
                  << fixed(packed.avgBitsPaper(), 3) << ", true " << fixed(packed.avgBitsTrue(), 3)
                  << '\n'
                  << "weights    packed " << fixed(double(packedBytes) / 1e6, 2) << " MB, float32 "
                  << fixed(double(floatBytes) / 1e6, 2) << " MB, float16 "
                  << fixed(double(halfBytes) / 1e6, 2) << " MB\n";
        // Which path the binary parts (about nine tenths of the weights) take on this CPU.
        std::size_t lookups = 0, masks = 0;
        for (const lq::PackedModule& module : packed.modules) {
            const lq::KernelPath path = lq::currentPath(module.bLow, 1);
            lookups += path == lq::KernelPath::Lookup ? 1 : 0;
            masks += path != lq::KernelPath::Decoding ? 1 : 0;
        }
        const char* isa = lq::CpuFeatures::detected().avx512 ? "AVX-512" : "AVX2";
        std::cout << "kernel     binary parts of " << lookups << " modules by table lookup "
                  << "(lookupkernel.h), " << masks - lookups << " by masks (maskkernel.h, " << isa
                  << "), " << moduleCount - masks << " decoded\n";
        const double bandwidth = copyBandwidth();
        std::cout << "memory     STREAM-like copy on " << threads
                  << " threads: " << fixed(bandwidth / 1e9, 2) << " GB/s (bytes read + written)\n"
                  << "passes     best and median of " << passes << " after a warm-up\n\n";

        std::cout << "  T  variant                               ms/pass best  median  weight MB"
                     "  weight GB/s  vs (b)\n";
        double packedT1 = 0, batchT1 = 0, eigenT1 = 0;
        for (const int tokens : {1, 8, 64}) {
            std::vector<Eigen::MatrixXf> xs, ys;
            for (const lq::PackedModule& module : packed.modules) {
                xs.push_back(lq::randomActivations(module.n, tokens, 7));
                ys.emplace_back(module.m, tokens);
            }
            const auto packedPass = [&] {
                for (std::size_t i = 0; i < moduleCount; ++i)
                    lq::applyPacked(packed.modules[i], xs[i], ys[i]);
            };
            const auto batchPass = [&] { lq::applyPackedModules(packed.modules, xs, ys); };
            const auto eigenPass = [&] {
                for (std::size_t i = 0; i < moduleCount; ++i) {
                    const Eigen::MatrixXf t = factors[i].A * xs[i];
                    ys[i].noalias() = halves[i].scale * (factors[i].B * t);
                }
            };
            const auto threadedPass = [&] {
                for (std::size_t i = 0; i < moduleCount; ++i)
                    applyFloatThreaded(factors[i], halves[i].scale, xs[i], ys[i]);
            };
            const auto halfPass = [&] {
                for (std::size_t i = 0; i < moduleCount; ++i)
                    applyHalf(halves[i], xs[i], ys[i]);
            };
            const Timing a = timePasses(passes, packedPass);
            const Timing a2 = timePasses(passes, batchPass);
            const Timing b = timePasses(passes, eigenPass);
            const Timing b2 = timePasses(passes, threadedPass);
            const Timing c = timePasses(passes, halfPass);
            const struct
            {
                const char* name;
                Timing timing;
                std::int64_t bytes;
            } rows[] = {{"(a)  packed kernel", a, packedBytes},
                        {"(a2) packed kernel, one call", a2, packedBytes},
                        {"(b)  Eigen float32 B, A", b, floatBytes},
                        {"(b2) float32 B, A, threads split", b2, floatBytes},
                        {"(c)  float16 B, A, converted", c, halfBytes}};
            for (const auto& row : rows)
                std::cout << pad(std::to_string(tokens), 3) << "  " << row.name
                          << std::string(38 - std::strlen(row.name), ' ')
                          << pad(fixed(row.timing.best * 1e3, 2), 12)
                          << pad(fixed(row.timing.median * 1e3, 2), 8)
                          << pad(fixed(double(row.bytes) / 1e6, 1), 11)
                          << pad(fixed(double(row.bytes) / row.timing.best / 1e9, 2), 13)
                          << pad(fixed(b.best / row.timing.best, 2) + "x", 8) << '\n';
            if (tokens == 1) {
                packedT1 = a.best;
                eigenT1 = b.best;
                batchT1 = a2.best;
                const Timing aCold = timePasses(std::max(3, passes / 3), packedPass, scrubCaches);
                const Timing bCold = timePasses(std::max(3, passes / 3), eigenPass, scrubCaches);
                std::cout << "     cold caches (512 MB streamed before each pass): (a) "
                          << fixed(aCold.best * 1e3, 2) << " ms, (b) " << fixed(bCold.best * 1e3, 2)
                          << " ms, " << fixed(bCold.best / aCold.best, 2) << "x\n";
            }
        }

        const double speedup = eigenT1 / packedT1;
        const double packedRateT1 = double(packedBytes) / packedT1;
        const double batchRateT1 = double(packedBytes) / batchT1;
        const double share = packedRateT1 / bandwidth;
        std::cout << "\ntargets at T = 1\n"
                  << "  packed vs Eigen float32: " << fixed(speedup, 2)
                  << "x (target >= " << fixed(kTargetSpeedup, 1)
                  << "x): " << (speedup >= kTargetSpeedup ? "met" : "NOT met") << '\n'
                  << "  packed weight bytes/s: " << fixed(packedRateT1 / 1e9, 2)
                  << " GB/s = " << fixed(100 * share, 1)
                  << "% of the copy bandwidth (target >= " << fixed(100 * kTargetBandwidthShare, 0)
                  << "%): " << (share >= kTargetBandwidthShare ? "met" : "NOT met") << '\n'
                  << "  (a2) in one call: " << fixed(batchRateT1 / 1e9, 2)
                  << " GB/s = " << fixed(100 * batchRateT1 / bandwidth, 1)
                  << "% of the copy bandwidth\n";

        // What the share target asks, against what the cores can do at most with one mask per
        // 16 weights (maskCeiling's loop).
        const double weights = double(packed.parameterCount());
        const double needed =
            kTargetBandwidthShare * bandwidth / (double(packedBytes) / weights) / 1e9;
        const double ceiling = maskCeiling();
        std::cout << "\nweights per ns at T = 1\n"
                  << "  the share target needs " << fixed(needed, 1) << " ("
                  << fixed(needed / threads, 1) << " on each of " << threads
                  << " threads); (a) does " << fixed(weights / packedT1 / 1e9, 1) << ", (a2) "
                  << fixed(weights / batchT1 / 1e9, 1) << '\n';
        if (ceiling > 0)
            std::cout << "  ceiling of the mask kernel's inner loop alone on one core (15 binary "
                         "rows in L1, one mask load and one masked add per 16 weights; the "
                         "table lookup is not bound by it): "
                      << fixed(ceiling, 1) << '\n';
        else
            std::cout << "  ceiling of the mask kernel: n/a (no AVX-512 on this CPU)\n";
    } catch (const lq::Error& e) {
        std::cerr << "bench_kernels: " << e.what() << '\n';
        if (!temporary.empty())
            fs::remove_all(temporary);
        return 1;
    }
    if (!temporary.empty())
        fs::remove_all(temporary);
    return 0;
}
