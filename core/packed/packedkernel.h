#pragma once

#include "core/packed/packedformat.h"

#include <Eigen/Core>
#include <span>

namespace lq {

// Applies a packed module to a batch of T activation vectors (T = 1 .. 256 is the intended
// range; any T >= 1 works):
//   Y = s * B_hat (A_hat X),   X: n x T, Y: m x T (column-major: one activation per column)
// reading the packed codes directly. Y is overwritten; X and Y must not overlap.
//
// How: t = A_hat X is computed over tiles of kKernelTile columns of A_hat (each thread decodes
// one tile of one component row into a float buffer of 2 KiB and takes T dot products with it),
// the tiles' partial sums are added in tile order, then Y is computed over tiles of kKernelTile
// rows of B_hat (decode one tile of one component column, T axpys). OpenMP runs the tiles in
// parallel when the module is large enough to pay for it. No more than one tile of one vector
// is ever dequantized (the AVX2 form of the mask kernel decodes up to 8 components of one tile at
// T >= 4: avx2maskkernel.h). The tiles and the order of every sum are fixed, so the result does not
// depend on the number of threads (it may differ in the last bits between CPU generations: the
// AVX2 and AVX-512 versions fuse multiply-adds). Where the parts' shapes allow, the tiles are
// applied without decoding by the vector kernels (lookupkernel.h, maskkernel.h,
// avx2maskkernel.h): kerneldispatch.h picks the path for each part and token count. The decoding
// loops are compiled for AVX-512, AVX2 and baseline x86-64 and chosen at load time (GCC
// target_clones).
//
// Accuracy: float32 accumulation; each output differs from the exact product of the stored
// (dequantized) weights by a few float32 roundings of the terms' magnitudes; validate with
// kernelvalidation.h.
inline constexpr int kKernelTile = 512;

void applyPacked(const PackedModule& module, const Eigen::Ref<const Eigen::MatrixXf>& X,
                 Eigen::Ref<Eigen::MatrixXf> Y);

// applyPacked for many modules at once: ys[i] = module i applied to xs[i], the threads taking
// whole modules. For small T this is much faster than one call per module (no fork and join per
// module); the results are bit-identical to applyPacked's. Throws lq::Error, before computing
// anything, when the counts or a module's shapes do not match.
void applyPackedModules(std::span<const PackedModule> modules, std::span<const Eigen::MatrixXf> xs,
                        std::span<Eigen::MatrixXf> ys);

// The scalar reference: dequantize B_hat and A_hat whole (dequantizedB/A, value by value from
// the codes), then plain loops that accumulate in double and round once to float. It is the
// exact product of the stored weights to within one float32 rounding, so comparing the kernel
// against it measures the kernel's own error. Slow; for validation only.
void applyReference(const PackedModule& module, const Eigen::Ref<const Eigen::MatrixXf>& X,
                    Eigen::Ref<Eigen::MatrixXf> Y);

// Bytes of packed weights the kernel reads per call: codes, scales and zero points of the four
// parts (what one pass over the module streams from memory).
std::int64_t packedWeightBytes(const PackedModule& module);

} // namespace lq
