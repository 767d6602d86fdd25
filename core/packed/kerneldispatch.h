#pragma once

// Which kernel applies each part of a packed module: the one place that decides (packedkernel.cpp
// only follows the answer). The kernels themselves (lookupkernel.h, maskkernel.h,
// avx2maskkernel.h and the decoding tiles of packedkernel.cpp) run what they are given; none of
// them asks the CPU or checks a shape again.

#include "core/packed/packedformat.h"

#include <cstdint>

namespace lq {

// The paths in the order the dispatch prefers them where each applies. Every path gives the same
// result to within float32 rounding (the test runs every shape through each); each is bit-for-bit
// deterministic on its own, for any number of threads.
enum class KernelPath
{
    Lookup,           // lookupkernel.h: 16 weights per VPERMPS (binary, RTN up to 4 bits)
    MaskAvx512,       // maskkernel.h: one masked add per bit plane of 16 weights (any width)
    Avx2DecodedTiles, // avx2maskkernel.h, a factor's tiles decoded by blends, then register blocks
    MaskAvx2,         // avx2maskkernel.h, part by part: one blend or lookup per 8 weights
    Decoding          // packedkernel.cpp's tiles: decode to floats, dot products (any CPU, shape)
};

const char* kernelPathName(KernelPath path);

// What the vector kernels need of the CPU. detected() asks the CPU once, on first use; tests pass
// other values to choosePath to see what another CPU would run.
struct CpuFeatures
{
    bool avx512 = false;       // AVX-512 F and DQ, BMI2 (and F16C, which such CPUs all have)
    bool avx512Lookup = false; // avx512, and AVX-512 BW, VL, VBMI and GFNI
    bool avx2 = false;         // AVX2 and FMA (and F16C, which such CPUs all have)
    static const CpuFeatures& detected();
};

// From this many tokens on, the AVX2 form applies a factor's tiles decoded (avx2FactorRowsTimesX,
// avx2FactorColumnsTimesT): the codes are unpacked once per call instead of once per token, and
// each value loaded feeds several tokens' multiply-adds, which pays once the tokens outweigh the
// decoding. The llama2-7b pass of bench_kernels on a 2-core Zen 3 (docs/KERNELS.md, "Many
// tokens"): part by part 3.0, 4.5, 7.0 ms at T = 2, 3, 4; decoded 4.0, 5.2, 6.3 ms. The AVX-512
// paths take every T part by part (not measured on such a CPU since the AVX2 change).
inline constexpr int kAvx2DecodedTokens = 4;

// Below this many multiply-adds per call (r (m + n) T) the fork and join of a parallel region
// cost more than they save: one thread decodes about 2^17 codes in 30 us, a fork/join costs 1-5
// us on an idle machine and far more on a loaded one. The AVX2 paths use it too: on a 2-core
// Zen 3 the llama2-7b pass of bench_kernels at T = 1 took 3.3 ms with every module on two
// threads against 4.3 ms at 2^19.
inline constexpr std::int64_t kParallelWork = std::int64_t(1) << 17;
// The AVX-512 paths do the same work about three times as fast, so the fork and join weigh more:
// a 4096 x 4096 rank-16 module at T = 1 runs faster on one thread.
inline constexpr std::int64_t kParallelWorkAvx512 = std::int64_t(1) << 19;

// The path for one part of a module at `tokens` activation vectors per call, on a CPU with `cpu`,
// taking none that comes before `preferred` in KernelPath's order (ScopedKernelPath). In order:
//   - Decoding when the part's shape does not suit the vector kernels: they step 16 codes at a
//     time, each run starting on a byte of the stream and lying in one group, so the length and
//     the group size must be multiples of 16 and the groups restart at each vector
//     (GroupLayout::PerComponent, or flattened groups that are whole vectors);
//   - Lookup for binary parts and RTN parts of up to kMaxLookupCodeBits (lookupkernel.h: wider
//     codes would need more than one 16-entry table), with AVX-512 BW, VL, VBMI and GFNI: about
//     twice the mask kernel's speed, which one mask register per cycle bounds;
//   - MaskAvx512 for every other width, with AVX-512 (about three times decoding);
//   - on AVX2 only, parts of up to kMaxAvx2MaskBits (avx2maskkernel.h: wider codes would need 4 to
//     32 tables): Avx2DecodedTiles from kAvx2DecodedTokens tokens on, MaskAvx2 below;
//   - Decoding otherwise (no AVX2, or wider codes on AVX2).
KernelPath choosePath(const PackedVectors& part, int tokens, const CpuFeatures& cpu,
                      KernelPath preferred = KernelPath::Lookup);

// The paths one call takes for a module: choosePath for its four parts on this CPU, within the
// current ScopedKernelPath, except that the module decodes whole when any part must (the decoding
// tiles take a factor's components together). The high and low parts of a factor then agree on
// Avx2DecodedTiles, which takes a factor whole.
struct ModulePaths
{
    KernelPath aHigh = KernelPath::Decoding;
    KernelPath aLow = KernelPath::Decoding;
    KernelPath bHigh = KernelPath::Decoding;
    KernelPath bLow = KernelPath::Decoding;
    std::int64_t parallelWork = kParallelWork; // kParallelWorkAvx512 when the module uses AVX-512

    bool decodes() const { return aHigh == KernelPath::Decoding; }
};
ModulePaths chooseModulePaths(const PackedModule& module, int tokens);

// The path the kernel takes for one part on this CPU, within the current ScopedKernelPath.
KernelPath currentPath(const PackedVectors& part, int tokens);

// For tests and benchmarks: while alive, forces `preferred` on every part whose shape, width and
// token count allow it on this CPU, and the paths after it in KernelPath's order on the others
// (never one before it, as on a CPU without those), for the whole process (the kernels' OpenMP
// threads see it too). Destruction restores the preference that was in force before; nest them
// on one thread, and create or destroy one only while no kernel runs.
class ScopedKernelPath
{
public:
    explicit ScopedKernelPath(KernelPath preferred);
    ~ScopedKernelPath();
    ScopedKernelPath(const ScopedKernelPath&) = delete;
    ScopedKernelPath& operator=(const ScopedKernelPath&) = delete;

private:
    KernelPath previous_;
};

} // namespace lq
