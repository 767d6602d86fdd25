#pragma once

// What made an adapter's outputs in a batch, so that a rerun can skip it cheaply and safely.
// Written as OUTDIR/<relative>.fingerprint.json after every other output of the adapter, and
// removed before any of them is rewritten: it exists only beside a complete set of outputs made
// from the input and recipe it names. A rerun then needs a stat() of the tensor file, not its
// SHA-256, unless its size or modification time changed (a copy, a touch): then the digest
// decides.

#include "core/fleet/batchrecord.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lq {

struct BatchFingerprint
{
    std::string tool;              // "loraquant <version>": another version may quantize otherwise
    std::string tensorSha256;      // of the tensor file
    std::uint64_t tensorBytes = 0; // its size and modification time when it was hashed
    std::int64_t tensorMtimeNs = 0;
    std::string configSha256;      // of adapter_config.json's bytes; empty when there was none
    nlohmann::ordered_json recipe; // recipeJson()
    std::uint64_t packedBytes = 0; // the packed file's size, to notice a damaged output
    bool peft = false;             // which optional outputs were made
    bool report = false;
    BatchRecord record; // the ok record, reported again as skipped
};

// The file's text (one JSON object) and its parse; parse throws lq::Error for anything else.
std::string fingerprintJson(const BatchFingerprint& fingerprint);
BatchFingerprint parseFingerprint(const std::string& text, const std::string& file);

// Size and modification time (ns) of a file; nullopt when it cannot be stat'ed.
struct FileStamp
{
    std::uint64_t bytes = 0;
    std::int64_t mtimeNs = 0;
};
std::optional<FileStamp> fileStamp(const std::string& path);

// SHA-256 of a file's bytes, or "" when it does not exist (a missing config). Throws lq::Error
// when it exists but cannot be read.
std::string sha256OrEmpty(const std::string& path);

} // namespace lq
