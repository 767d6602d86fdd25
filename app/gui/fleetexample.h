#pragma once

#include "core/fleet/batchrecord.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lq::gui {

// Batch records that look like a real fleet's, without quantizing anything: for the Fleet view's
// screenshot and the benchmarks. `count` adapters named customer-NNNN/task-MM over three base
// models and ranks 8, 16 and 32, with bits and errors scattered as LoRAQuant's are (more bits,
// less error); about one in forty fails with a reader's message. Deterministic for a seed.
std::vector<lq::BatchRecord> exampleBatchRecords(int count, std::uint64_t seed = 1);

// A tiny PEFT adapter in `folder` (created): `modules` q_proj LoRAs of 16 x 16 at rank 2 in
// float16 and an adapter_config.json naming `baseModel`; the values depend on `seed`. For
// folders of thousands of adapters that must be quick to make and to list.
void writeTinyAdapter(const std::string& folder, int modules, const std::string& baseModel,
                      std::uint64_t seed);

// Writes `records` as `outdir`/batch-summary.jsonl (atomically; the folder must exist).
void writeBatchSummary(const std::string& outdir, const std::vector<lq::BatchRecord>& records);

} // namespace lq::gui
