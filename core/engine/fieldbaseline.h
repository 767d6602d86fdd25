#pragma once

#include "core/engine/quantresult.h"
#include "core/io/adapter.h"
#include "core/io/progress.h"

#include <optional>
#include <string>
#include <string_view>

namespace lq {

// The adapter-compression methods people use today, run on a whole adapter for comparison with
// LoRAQuant at equal bits (issue 29; METHOD 10). Each module's result holds the reconstructed
// factors (ModuleResult::fieldB / fieldA), its exact update error (METHOD 6) and both bit counts:
// paper = codes (and a sparse format's positions), true = every stored bit of the method's own
// format plus the 16-byte module header all methods pay. None of them is a packed format of this
// project; they exist for the summary, the report, --export-peft and the sweep.
enum class FieldMethod
{
    Truncate,  // rank truncation, fp16 (ranktruncation.h)
    Nf4,       // QLoRA NF4, blocks of 64 (nf4.h), on B and A or on B', A'
    Q8_0,      // llama.cpp q8_0, blocks of 32 (q8_0.h)
    DeltaCome, // 8 / 3 / 2-bit tiers over the SVD components, RTN (deltacome.h)
    Compeft,   // top-density signs with one scale per factor (compeft.h)
};

enum class TruncateBy
{
    Count,  // k components in every module (clamped to r)
    Energy, // per module the fewest components reaching an energy share
    Budget, // per module by energy per bit, within an average true bit budget
};

struct FieldBaselineSettings
{
    FieldMethod method = FieldMethod::Nf4;
    TruncateBy truncateBy = TruncateBy::Budget;
    int rank = 1;             // Truncate / Count
    double energy = 0.9;      // Truncate / Energy, in (0, 1]
    double bits = 2;          // Truncate / Budget and DeltaCome: average true bits per parameter
    bool svd = false;         // Nf4: quantize B', A' (METHOD 1) instead of B, A as stored
    bool doubleQuant = false; // Nf4
    double density = 0.1;     // Compeft, in (0, 1]

    // Throws lq::Error("baseline settings", ...) for a value out of range.
    void validate() const;
};

// The command-line spelling, which fromString reads back: "truncate:4", "truncate:energy=0.9",
// "truncate:bits=2", "nf4", "nf4-dq", "nf4-svd", "nf4-svd-dq", "q8_0", "deltacome:2",
// "compeft:0.1".
std::string toString(const FieldBaselineSettings& settings);
std::optional<FieldBaselineSettings> fieldBaselineFromString(std::string_view text);
// The accepted spellings, for usage messages.
extern const char* const kFieldBaselineForms;
// One line for a summary: what is stored and how.
std::string describe(const FieldBaselineSettings& settings);

// Every module, in parallel (OpenMP over modules, as the other baselines). QuantResult::method is
// toString(settings); baselineBits 0; methodNote says how the factors are stored. Cancelling as
// quantizeAdapter: progress counts two passes over the modules for the methods that first
// allocate across modules (truncation by budget, Delta-CoMe), one for the others.
QuantResult quantizeFieldBaseline(const Adapter& adapter, const FieldBaselineSettings& settings,
                                  const ProgressFn& progress = {});

} // namespace lq
