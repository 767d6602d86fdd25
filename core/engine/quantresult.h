#pragma once

#include "core/engine/quantizedvectors.h"
#include "core/engine/quantsettings.h"

#include <Eigen/Core>
#include <string>
#include <vector>

namespace lq {

// B' = U S^(1/2), A' = S^(1/2) V^T of one module, with B' A' = B A (METHOD 1). Components are
// ordered by singular value, signs fixed deterministically.
struct ModuleReparam
{
    Eigen::VectorXf singularValues; // r values, descending, >= 0
    Eigen::MatrixXf Bp;             // m x r
    Eigen::MatrixXf Ap;             // r x n
};

// The result of quantizing one module. Value object: the CLI, the GUI and the exporters consume
// it; nothing in it refers back to the adapter.
struct ModuleResult
{
    std::string name;
    int m = 0;
    int n = 0;
    int r = 0;
    int h = 0;        // high-precision components
    int bitsHigh = 0; // 0 for whole-adapter baselines

    // Quantized factors. For LoRAQuant: B' high (h columns), A' high (h rows), B' low, A' low.
    // For whole-adapter baselines only `baselineB` / `baselineA` are used (row-major groups
    // over the original B and A, see baseline.h).
    QuantizedVectors bHigh, aHigh, bLow, aLow;
    QuantizedVectors baselineB, baselineA;
    // Field baselines (fieldbaseline.h: NF4, q8_0, truncation, ...) have no QuantizedVectors
    // form: they keep B_hat (m x r) and A_hat (r x n) themselves. Empty otherwise.
    Eigen::MatrixXf fieldB, fieldA;

    double normSq = 0;    // ||B A||_F^2
    double errSq = 0;     // ||B A - Bhat Ahat||_F^2
    double relErr = 0;    // sqrt(errSq / normSq), 0 when normSq == 0
    double bitsPaper = 0; // total bits of this module, paper count
    double bitsTrue = 0;  // total bits of this module as stored, incl. scales, zeros, header

    // B_hat (m x r) and A_hat (r x n), decoded from the parts when asked for. A result keeps
    // only its codes (one byte per value): float32 copies would make every result held at once
    // (the window's current one and the one a job is computing, the baselines, the undo steps)
    // five times its size.
    Eigen::MatrixXf dequantizedB() const;
    Eigen::MatrixXf dequantizedA() const;
};

struct QuantResult
{
    QuantSettings settings;
    std::string method;     // "loraquant", "rtn", "binary", or a field baseline ("nf4", ...)
    std::string methodNote; // field baselines: how the factors are stored, for summaries
    std::string adapter;    // the adapter's path (or name, for one held in memory)
    int baselineBits = 0;   // whole-adapter baselines: bits per value (RTN b, binary 1); else 0
    std::vector<ModuleResult> modules;
    std::int64_t parameterCount = 0;
    double avgBitsPaper = 0; // sum bitsPaper / sum r (m + n)
    double avgBitsTrue = 0;  // sum bitsTrue / sum r (m + n)
    double relErrTotal = 0;  // sqrt(sum errSq / sum normSq)
    double relErrMean = 0;   // mean of relErr
    double seconds = 0;
    bool cancelled = false;
    std::vector<std::string> warnings;

    // Recomputes the adapter totals from `modules` (after one module was replaced). Leaves
    // `seconds` alone.
    void updateTotals();
};

} // namespace lq
