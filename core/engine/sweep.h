#pragma once

#include "core/engine/fieldbaseline.h"
#include "core/engine/quantsettings.h"
#include "core/io/adapter.h"
#include "core/io/progress.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lq {

// A sweep (issue 6, part 3): one adapter quantized by every method over a range of settings, one
// row per (method, setting) with both bit counts and both errors, so that methods can be compared
// at equal bits (`loraquant sweep`, docs/COMPARISON.md, the workbench's Pareto plot).
//
// Every row equals an ordinary quantizeAdapter / quantizeBaseline run; sweepQuantSettings() gives
// the settings of a LoRAQuant row, so any row can be reproduced exactly (the sweep test does).
// The rows of one LoRAQuant method (and the budget rows, with SvdSplit's) share the result of
// every module whose h and b_h they agree on, since nothing else changes it: a row computes only
// the modules no earlier row did, and its `seconds` count only those.
// The RTN, binary and LoRAQuant rows share the sweep's group settings (group size, layout, scale
// format); the default is the reference's storage (paper-exact: flattened groups, float32
// scales). The field baselines (Truncate .. Compeft) keep their own formats. Every row's true
// bits count every stored bit, so all rows are comparable at equal true bits.

enum class SweepMethod
{
    Rtn,         // whole-adapter RTN of the original B and A (baseline.h); a row per rtnBits
    Binary,      // whole-adapter binary (baseline.h); one row
    RandomSplit, // LoRAQuant on the original components in a seeded random order (the paper's
                 // ablation); h as the SVD split's, no refinement; a row per (b_h, rho)
    NormSplit,   // LoRAQuant on the original components ranked by ||b_i a_i^T||_F (ablation)
    SvdSplit,    // LoRAQuant paper-exact without refinement; a row per (b_h, rho)
    PaperRefine, // LoRAQuant paper-exact with the reference's refinement (300 SGD steps)
    BestRefine,  // LoRAQuant with --refine best (same storage, so the same bits as SvdSplit)
    Budget,      // the bit-budget allocation (bitbudget.h), no refinement; a row per SvdSplit
                 // row, with that row's average true bits as the budget (capped at what the
                 // widest allowed b_h reaches)
    // The methods people use today (fieldbaseline.h, METHOD 10). Each has its own storage
    // format, so the sweep's group settings do not apply to them; their true bits count every
    // bit of that format.
    Truncate,  // rank truncation in fp16; a row per truncateBits (average true bits budget)
    Nf4,       // NF4 on B and A as stored; two rows, without and with double quantization
    Nf4Svd,    // NF4 on B', A' after the SVD; two rows as Nf4
    Q8_0,      // llama.cpp q8_0; one row (8.5 bits per value)
    DeltaCome, // Delta-CoMe 8/3/2-bit tiers, data-free (RTN); a row per deltaComeBits target
    Compeft,   // ComPEFT; a row per compeftDensities
};

// "rtn", "binary", "random-split", "norm-split", "svd-split", "paper-refine", "best-refine",
// "budget", "truncate", "nf4", "nf4-svd", "q8_0", "deltacome", "compeft"
std::string toString(SweepMethod method);
std::optional<SweepMethod> sweepMethodFromString(std::string_view name);
// Every method, in the order above (the order of the rows).
std::vector<SweepMethod> allSweepMethods();

struct SweepSettings
{
    std::vector<SweepMethod> methods = allSweepMethods();
    std::vector<double> rhos = {0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
    std::vector<int> bitsHigh = {2, 3}; // b_h of the LoRAQuant rows
    std::vector<int> rtnBits = {1, 2, 3, 4};
    std::vector<int> budgetBitsHigh = {2, 3, 4}; // widths the budget allocation may choose
    std::vector<double> truncateBits = {1, 2, 3, 4, 6, 8};  // budgets of the Truncate rows
    std::vector<double> deltaComeBits = {1, 2, 3, 4, 6, 8}; // targets of the DeltaCome rows
    std::vector<double> compeftDensities = {0.05, 0.1, 0.2, 0.5, 1.0};
    int groupSize = 128;
    GroupLayout layout = GroupLayout::Flattened;
    ScaleFormat scaleFormat = ScaleFormat::F32;
    std::uint64_t seed = 1; // of the random split

    // Throws lq::Error("sweep settings", what is wrong): no methods, rho outside (0, 1], bit
    // widths outside 1..8, group size < 1, a LoRAQuant method with no rho or b_h, a field
    // baseline with no setting or one out of range.
    void validate() const;
};

struct SweepRow
{
    SweepMethod method = SweepMethod::SvdSplit;
    std::string setting; // human label: "b=2", "b_h=2 rho=0.8", "budget=1.71 true"; field
                         // baselines: their --baseline spelling ("nf4-dq", "compeft:0.1")
    int bits = 0;        // RTN: bits; binary: 1; LoRAQuant rows: b_h; budget: 0 (per module);
                         // NF4 4, q8_0 8, other field baselines 0
    double rho = 0;      // LoRAQuant rows; 0 otherwise
    double budget = 0;   // budget, Truncate and DeltaCome rows: the target average bits, true
                         // count; 0 otherwise
    double avgBitsPaper = 0;
    double avgBitsTrue = 0;
    double relErrTotal = 0; // energy-weighted, sqrt(sum errSq / sum normSq)
    double relErrMean = 0;  // mean of the per-module relative errors
    double seconds = 0;
};

struct SweepResult
{
    std::string adapter; // the adapter's path (or name)
    SweepSettings settings;
    std::vector<SweepRow> rows; // by method (settings order), then b_h, then rho (or bits)
    std::vector<std::string> warnings;
    bool cancelled = false; // rows finished before the cancel are kept
    double seconds = 0;
};

// The settings of the field-baseline rows (Truncate .. Compeft), in row order; with `only`, those
// of one method. Every such row equals quantizeFieldBaseline with these settings.
std::vector<FieldBaselineSettings> fieldBaselineRows(const SweepSettings& settings,
                                                     std::optional<SweepMethod> only = {});

// The QuantSettings of a LoRAQuant row (RandomSplit .. BestRefine; not Budget, whose h and b_h
// are per module): the sweep's group settings, the reference's ratio rule, rho and b_h of the
// row, its component order and refinement.
QuantSettings sweepQuantSettings(const SweepSettings& settings, SweepMethod method, double rho,
                                 int bitsHigh);

// Runs every row. progress(done, total) counts modules over all rows (the budget's error curves
// count as one row); returning false cancels at the next module. Modules run in parallel inside
// each row; the rows' values do not depend on the number of threads. Throws lq::Error for
// invalid settings.
SweepResult runSweep(const Adapter& adapter, const SweepSettings& settings,
                     const ProgressFn& progress = {});

// JSON (2-space indented): tool, adapter, settings {methods, rhos, bits_high, rtn_bits,
// budget_bits_high, truncate_bits, deltacome_bits, compeft_densities, group_size, group_layout,
// scale_format, seed}, bits_note, seconds, cancelled,
// warnings [...], rows [{method, setting, bits, rho, budget, avg_bits_paper, avg_bits_true,
// rel_err_total, rel_err_mean, seconds}]. Numbers are written so that they read back exactly.
std::string sweepJson(const SweepResult& result);
// CSV (RFC 4180): a header line with the row fields above, one line per row; numbers with 17
// significant digits (they read back exactly).
std::string sweepCsv(const SweepResult& result);
// A readable fixed-width table for a terminal, both bit counts labelled.
std::string sweepTable(const SweepResult& result);
// sweepJson or sweepCsv by the extension of `path` (.json / .csv, any case), atomically.
// Throws lq::Error naming `path` for another extension or a failed write.
void writeSweep(const std::string& path, const SweepResult& result);

} // namespace lq
