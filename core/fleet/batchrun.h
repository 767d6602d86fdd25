#pragma once

// The work of `loraquant batch`: quantize many adapters, write each one's outputs under OUTDIR,
// append one summary line per adapter, and survive bad inputs and interruptions.

#include "core/fleet/batchinputs.h"
#include "core/fleet/batchrecord.h"
#include "core/fleet/quantrecipe.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lq {

struct BatchSettings
{
    std::vector<BatchInput> inputs; // this run's share (selectShard), in order
    std::string outdir;
    std::string summaryFile; // appended to, one line per adapter; under outdir as a rule
    QuantRecipe recipe;
    bool exportPeft = false; // OUTDIR/<relative>.peft/ (batchOutputNames)
    bool report = false;     // OUTDIR/<relative>.report.json
    bool force = false;      // redo adapters whose outputs are up to date
    std::string tool;        // "loraquant <version>", recorded in the fingerprints
    // Adapters whose tensor file is smaller than `largeBytes` run `jobs` at once, one thread
    // each; larger ones run one at a time with every OpenMP thread on its modules. 0 jobs: as
    // many as OpenMP threads (OMP_NUM_THREADS, else the cores).
    int jobs = 0;
    std::uint64_t largeBytes = 16u << 20;
};

// Where a batch is. `record` is the adapter that just finished (null for a tick inside one, so
// that a display can refresh and a cancel is seen during a large adapter).
struct BatchProgress
{
    int total = 0;
    int done = 0; // ok + failed + skipped
    int ok = 0;
    int failed = 0;
    int skipped = 0;
    std::uint64_t inputBytes = 0; // tensor bytes of the adapters done (skipped ones included)
    double seconds = 0;           // since the batch started
    const BatchRecord* record = nullptr;
};

// Return false to stop: no adapter is started after that, those running are cancelled at their
// next module (leaving no output under a final name and no summary line), and runBatch returns
// with `cancelled` set. Calls come from worker threads, never two at once.
using BatchProgressFn = std::function<bool(const BatchProgress&)>;

struct BatchOutcome
{
    int total = 0;
    int ok = 0;
    int failed = 0;
    int skipped = 0;
    bool cancelled = false;
    std::uint64_t inputBytes = 0;
    double seconds = 0;
    // The quantizer's wall time summed over the adapters quantized (reading, quantizing,
    // writing each one), against which a benchmark measures the batch's own overhead.
    double adapterSeconds = 0;
};

// Runs the batch. Each adapter: skipped when its fingerprint says the outputs were made from
// the same input bytes, config and recipe by the same tool (unless `force`); otherwise read,
// quantized and written (packed file, then the optional outputs, then the fingerprint, each
// atomically), or recorded as failed with the reader's or quantizer's message. The summary line
// is appended and flushed as each adapter finishes. Memory: the adapters in flight only; nothing
// is kept per finished adapter but counts.
// Throws lq::Error for what stops the whole batch: the output folder or summary file cannot be
// written, the disk is full. The adapters recorded before stay recorded.
BatchOutcome runBatch(const BatchSettings& settings, const BatchProgressFn& progress = {});

} // namespace lq
