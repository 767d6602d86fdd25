#pragma once

#include "core/engine/quantresult.h"

#include <string>

namespace lq {

// Reports of a quantization result, shared by `loraquant quantize --report` and the workbench's
// Export Report, so that both write the same files.
//
// Bit figures always carry their count in the name: "paper" = codes only, as the paper counts
// (METHOD 5); "true" = every stored bit: codes, scales, zero points and the per-module header
// (bitcount.h). Per module, bits_paper / bits_true are bits per parameter, like the adapter's
// avg_bits_*; bits_paper_total / bits_true_total are the module's bits.

// One JSON object (2-space indented):
//   tool, method ("loraquant" | "rtn" | "binary"), adapter, settings {...}, group_layout,
//   group_layout_note, bits_note, modules_count, parameters, avg_bits_paper, avg_bits_true,
//   rel_err_total, rel_err_mean, seconds, cancelled, warnings [...],
//   modules [{name, m, n, r, h, bits_high, rel_err, bits_paper, bits_true, bits_paper_total,
//             bits_true_total, err_sq, norm_sq}]
std::string reportJson(const QuantResult& result);

// CSV (RFC 4180): a header line, one row per module with the JSON module fields, then one row
// named "(adapter)" with the totals (rel_err = energy-weighted total, bits = adapter averages).
std::string reportCsv(const QuantResult& result);

// The short human summary printed by the CLI: settings, modules, both bit figures labelled,
// total and mean error, time, warnings. Lines end with '\n'.
std::string reportSummary(const QuantResult& result);

// Writes reportJson or reportCsv by the extension of `path` (.json / .csv, any case), atomically
// (temporary file in the same folder, then rename). Throws lq::Error naming `path` for another
// extension or a failed write.
void writeReport(const std::string& path, const QuantResult& result);

// What writeReport would refuse, checked before the work that makes the result: another
// extension, or a file that cannot be created there (checkCanWriteFile: a missing or read-only
// folder). Throws the lq::Error writeReport would, naming `path`.
void checkReportPath(const std::string& path);

} // namespace lq
