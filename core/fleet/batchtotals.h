#pragma once

// The totals of a batch over all its summaries (every shard, every rerun): what
// `loraquant batch --merge OUTDIR` prints and writes.

#include "core/fleet/batchrecord.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lq {

struct BatchTotals
{
    int adapters = 0;
    int ok = 0;
    int failed = 0;
    int skipped = 0; // up to date from an earlier run whose summary is gone; they have outputs
    // Over the adapters with an output (ok and skipped):
    std::int64_t bytesBefore = 0;
    std::int64_t bytesAfter = 0;
    double ratio = 0; // bytesBefore / bytesAfter; 0 without outputs
    double errorMean = 0;
    double errorP50 = 0; // nearest-rank percentiles of rel_error
    double errorP95 = 0;
    std::vector<std::pair<std::string, double>> worst; // up to five (relative name, rel_error)
    double seconds = 0; // summed per-adapter wall time of every record (not the batch's span)
    std::vector<std::pair<std::string, std::string>> failures; // (relative name, message)
};

BatchTotals batchTotals(const std::vector<BatchRecord>& records);

// JSON object (2-space indent) and CSV (a header line and one row; worst_1..worst_5 as name and
// error columns, empty when fewer). Both end with a newline.
std::string batchTotalsJson(const BatchTotals& totals);
std::string batchTotalsCsv(const BatchTotals& totals);
// The human text the CLI prints; lists at most `maxFailures` failures.
std::string batchTotalsText(const BatchTotals& totals, std::size_t maxFailures = 10);

} // namespace lq
