#include "core/packed/kerneldispatch.h"

#include "core/packed/avx2maskkernel.h"
#include "core/packed/lookupkernel.h"

#include <atomic>

namespace lq {
namespace {

// The first path, in KernelPath's order, that the kernels may take (ScopedKernelPath). Atomic so
// that no read of it is a data race; relaxed because it changes only while no kernel runs.
std::atomic<KernelPath> g_preferred{KernelPath::Lookup};

// Every run of 16 codes the vector kernels read starts on a byte of the stream and lies in one
// group (kerneldispatch.h, choosePath).
bool vectorKernelsFit(const PackedVectors& part)
{
    constexpr int kStepCodes = 16;
    const bool wholeGroups =
        part.layout == GroupLayout::PerComponent || part.length % part.groupSize == 0;
    return part.bits >= kMinCodeBits && part.bits <= kMaxCodeBits && wholeGroups &&
           part.length % kStepCodes == 0 && part.groupSize % kStepCodes == 0;
}

bool usesAvx512(KernelPath path)
{
    return path == KernelPath::Lookup || path == KernelPath::MaskAvx512;
}

} // namespace

const char* kernelPathName(KernelPath path)
{
    switch (path) {
    case KernelPath::Lookup:
        return "lookup";
    case KernelPath::MaskAvx512:
        return "AVX-512 mask";
    case KernelPath::Avx2DecodedTiles:
        return "AVX2 decoded tiles";
    case KernelPath::MaskAvx2:
        return "AVX2 mask";
    case KernelPath::Decoding:
        break;
    }
    return "decoding";
}

const CpuFeatures& CpuFeatures::detected()
{
    static const CpuFeatures features = [] {
        CpuFeatures cpu;
#if defined(__x86_64__) && defined(__GNUC__)
        // Not asked for F16C: every CPU with AVX-512 or AVX2 + FMA has it, and clang 14 cannot
        // test for it.
        cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                     __builtin_cpu_supports("bmi2");
        cpu.avx512Lookup = cpu.avx512 && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") &&
                           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni");
        cpu.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
        return cpu;
    }();
    return features;
}

KernelPath choosePath(const PackedVectors& part, int tokens, const CpuFeatures& cpu,
                      KernelPath preferred)
{
    const auto allowed = [preferred](KernelPath path) { return path >= preferred; };
    if (!vectorKernelsFit(part))
        return KernelPath::Decoding;
    if (allowed(KernelPath::Lookup) && cpu.avx512Lookup &&
        part.bits <= packed_detail::kMaxLookupCodeBits)
        return KernelPath::Lookup;
    if (allowed(KernelPath::MaskAvx512) && cpu.avx512)
        return KernelPath::MaskAvx512;
    if (cpu.avx2 && part.bits <= packed_detail::kMaxAvx2MaskBits) {
        if (allowed(KernelPath::Avx2DecodedTiles) && tokens >= kAvx2DecodedTokens)
            return KernelPath::Avx2DecodedTiles;
        if (allowed(KernelPath::MaskAvx2))
            return KernelPath::MaskAvx2;
    }
    return KernelPath::Decoding;
}

KernelPath currentPath(const PackedVectors& part, int tokens)
{
    return choosePath(part, tokens, CpuFeatures::detected(),
                      g_preferred.load(std::memory_order_relaxed));
}

ModulePaths chooseModulePaths(const PackedModule& module, int tokens)
{
    ModulePaths paths{currentPath(module.aHigh, tokens), currentPath(module.aLow, tokens),
                      currentPath(module.bHigh, tokens), currentPath(module.bLow, tokens)};
    const KernelPath parts[] = {paths.aHigh, paths.aLow, paths.bHigh, paths.bLow};
    for (const KernelPath path : parts)
        if (path == KernelPath::Decoding)
            return ModulePaths{};
    if (usesAvx512(paths.aHigh))
        paths.parallelWork = kParallelWorkAvx512;
    return paths;
}

ScopedKernelPath::ScopedKernelPath(KernelPath preferred)
    : previous_(g_preferred.exchange(preferred, std::memory_order_relaxed))
{}

ScopedKernelPath::~ScopedKernelPath()
{
    g_preferred.store(previous_, std::memory_order_relaxed);
}

} // namespace lq
