#pragma once

// One line of a batch summary: what `loraquant batch` did with one input adapter. A batch appends
// one JSON object per line to a summary file in its output folder and flushes it as each adapter
// finishes, so that a batch killed at any point leaves every finished adapter recorded; the Fleet
// view and `loraquant batch --merge` read the same lines. docs/FLEET.md shows an example.
//
// Files: OUTDIR/batch-summary.jsonl for a run over all inputs, and
// OUTDIR/batch-summary.shard-I-of-N.jsonl for shard I (1-based) of N, so that shards running at
// once on different machines never append to the same file.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lq {

enum class BatchStatus
{
    Ok,      // quantized; the figures and the output are set
    Failed,  // the reader's or the quantizer's message is in `error`; no output was written
    Skipped, // a previous run made the output from the same input and settings
};

const char* batchStatusName(BatchStatus status);

struct BatchRecord
{
    std::string input;    // the path as given or found (a folder or a .safetensors file)
    std::string relative; // the path relative to its INPUT root; the output is named after it
    std::string sha256;   // of the tensor file's bytes; empty when it could not be read
    BatchStatus status = BatchStatus::Ok;
    std::string error;     // set when status is Failed
    std::string baseModel; // adapter_config.json's base_model_name_or_path, when known
    std::int64_t modules = 0;
    std::int64_t loraParameters = 0;
    std::int64_t bytesBefore = 0; // the LoRA factors as stored in the input
    std::int64_t bytesAfter = 0;  // the packed file
    double bitsPaper = 0.0;       // average bits per LoRA parameter, paper count (METHOD 5)
    double bitsTrue = 0.0;        // every stored bit, scales and headers included
    double relError = 0.0;        // total relative error, energy-weighted (METHOD 6)
    double seconds = 0.0;         // wall time for this adapter, reading and writing included
    std::string output;           // the packed file, relative to OUTDIR
    nlohmann::json settings;      // the quantize settings, as `quantize --report` records them
};

// One summary line (no newline) for `record`.
std::string batchRecordLine(const BatchRecord& record);

// Parses one line; throws lq::Error(file, "line N: ...") for a line that is not such a record.
BatchRecord parseBatchRecord(std::string_view line, const std::string& file,
                             std::size_t lineNumber);

// The summary file's name inside OUTDIR: "batch-summary.jsonl", or with a shard
// "batch-summary.shard-I-of-N.jsonl".
std::string batchSummaryFileName(std::optional<std::pair<int, int>> shard = std::nullopt);

// Every batch-summary*.jsonl in `outdir`, in name order, each line parsed. An input recorded
// more than once (a resumed or repeated run) keeps its last Ok or Failed record; a Skipped line
// counts only when nothing else is recorded for that input. A final line without its newline (a
// run killed mid-write) is ignored; any other malformed line throws lq::Error naming its file and
// line. The records come out sorted by their relative path (then input), whatever order the
// shards finished them in.
std::vector<BatchRecord> readBatchSummaries(const std::string& outdir);

} // namespace lq
