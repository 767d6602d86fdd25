#pragma once

#include <cstdint>
#include <string>

namespace lq {

// Which LoRA factor values the engine can compute with: the one rule, applied by Adapter::load
// to every file's factors and by the engine (finiteresults.h) to factors that did not come from
// a file. Past it, float32 overflows inside the SVD and the results are finite nonsense (zero or
// unsorted singular values, a relative error of 0), not an exception, so it must be checked
// before the work.
//
// Every computation runs in float32, so a value must convert to a finite float32 (F64 holds up
// to 1.8e308). Then the sums the engine forms must stay finite. With v the largest magnitude of
// a factor of `rows` x r values, its squared norm is at most v^2 rows r: the Householder QR of
// the SVD sums such squares, so each factor's bound must stay finite; and the squares of the
// singular values (the energies s_i^2, which the refinements form in float32) are at most the
// product of the two bounds, which must stay finite as well. Both are held below float32's
// maximum / 2^16, headroom for the sums of a few such terms. Measured on a 256 x 128 rank-8
// module of random values scaled up: every method's relative error is that of the unscaled
// module (4 digits) up to this limit, while --refine best drifted once the product of the
// bounds passed about 1e52 and crashed (SIGSEGV) near 1e56, and the SVD of a 32 x 24 rank-4
// module returned 4e-11 for values of 1e20. Far beyond any trained adapter: a 4096 x 4096
// rank-64 module may hold values up to 1.6e5 in both factors, or any balance of them with the
// same product.
//
// `largestA` / `largestB`: the largest magnitude in lora_A (r x n) and lora_B (m x r), as
// stored (double, so that an F64 value beyond float32 is seen). Returns "" when the factors are
// safe, else the problem in words, starting with the factor ("lora_A holds values up to ...").
std::string factorRangeProblem(double largestA, double largestB, std::int64_t m, std::int64_t n,
                               std::int64_t r);

} // namespace lq
