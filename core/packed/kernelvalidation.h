#pragma once

#include "core/io/progress.h"
#include "core/packed/packedformat.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lq {

// The kernel's tolerance against the scalar reference, per module, norm-wise:
//   rel = max |Y - Y_ref| / max |Y_ref|   over all m x T outputs.
// Why 1e-5: the reference is exact to one float32 rounding (it accumulates in double), so rel is
// the kernel's own float32 error. Each output is a sum over n products (A_hat X, in tiles of 512
// with vector lanes, then at most ceil(n / 512) tile sums) followed by r more; with random
// rounding that error is about u sqrt(#additions) |terms| with u = 2^-24 = 6e-8, i.e. below
// 1e-6 for n <= 16384, so 1e-5 leaves a factor of ten for correlated rounding and cancellation.
// Elementwise relative error is not used: outputs that cancel to near zero have no meaningful
// relative error in any float32 order. A decoding mistake (a wrong code, scale, zero point or
// group boundary) moves outputs by a sizeable fraction of a scale, orders of magnitude above it.
inline constexpr double kKernelRelTolerance = 1e-5;

struct KernelValidationSettings
{
    int tokens = 8;         // T activation vectors per module (1 .. 256)
    std::uint64_t seed = 1; // activations: N(0, 1), module i uses seed + i
    double tolerance = kKernelRelTolerance;
    int timingRuns = 3; // the kernel's time is the best of this many runs after the compared one
};

struct ModuleValidation
{
    std::string name;
    int m = 0, n = 0, r = 0, h = 0, bitsHigh = 0;
    double maxAbsError = 0;  // max |Y - Y_ref|
    double maxAbsOutput = 0; // max |Y_ref|
    double relError = 0;     // maxAbsError / maxAbsOutput (0 / 0 = 0; x / 0 = infinity)
    double kernelSeconds = 0;
    double referenceSeconds = 0;
    std::int64_t weightBytes = 0; // packed bytes the kernel reads (packedWeightBytes)
    bool passed = false;          // finite and relError <= tolerance
};

struct KernelValidationResult
{
    int tokens = 0;
    double tolerance = 0;
    std::vector<ModuleValidation> modules;
    bool cancelled = false;
    bool passed = false; // every module passed and the run was not cancelled
    double maxRelError = 0;
    double kernelSeconds = 0;    // sum over modules
    double referenceSeconds = 0; // sum over modules
    std::int64_t weightBytes = 0;
    // Packed weight bytes read per second of kernel time, and multiply-adds per second
    // (2 r (m + n) T per module).
    double weightBytesPerSecond() const;
    double flopsPerSecond() const;
    std::vector<std::string> warnings;
};

// Runs applyPacked and applyReference on the same seeded random activations for every module and
// compares them. Reports progress per module (done, total); cancelling stops after the current
// module with `cancelled` set. Throws lq::Error("kernel validation", ...) for settings out of
// range (tokens outside 1..4096, tolerance not positive, timingRuns < 1).
// Threads: reads `adapter` only; safe to run on a worker thread while nothing modifies it.
KernelValidationResult validateKernels(const PackedAdapter& adapter,
                                       const KernelValidationSettings& settings,
                                       const ProgressFn& progress = {});

// Seeded N(0, 1) activations, n x T (deterministic for a given seed on every platform).
Eigen::MatrixXf randomActivations(int n, int tokens, std::uint64_t seed);

} // namespace lq
