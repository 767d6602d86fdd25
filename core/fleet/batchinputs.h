#pragma once

// Which adapters a batch works on, what each output is called, and which of them one shard
// takes. Pure functions of the file tree and the arguments, so that every shard of a job array
// computes the same list and takes its own disjoint part of it.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lq {

struct BatchInput
{
    std::string path;     // the adapter: a folder, or a .safetensors file
    std::string relative; // '/'-separated, relative to its INPUT root; names every output
};

struct BatchInputList
{
    std::vector<BatchInput> inputs; // sorted by `relative` (byte order), each adapter once
    std::vector<std::string> warnings;
};

// A folder that holds adapter_config.json or adapter_model.safetensors is one adapter.
bool isAdapterFolder(const std::string& folder);

// Finds the adapters of `roots` (command-line INPUTs) and of the manifests' lines:
// - an adapter folder, its adapter_config.json or a .safetensors file is one adapter, named by
//   its folder's name (by the file's stem for a loose .safetensors);
// - any other folder is searched recursively: each adapter folder in it (not searched further)
//   and each loose .safetensors file, named by its path relative to the folder. Hidden folders
//   (a leading '.') and `outdir` are not searched; symbolic links are followed once;
// - a manifest lists one INPUT per line (blank lines and lines starting with '#' are skipped);
//   relative lines are relative to the manifest's folder, which is their root: a line's adapter
//   is named by the line's path (a line "team-a/c1" gives the output team-a/c1.lqa.h5);
// - an INPUT that does not exist stays in the list (its adapter fails with the reader's
//   message, and the batch goes on), named like an adapter.
// The same adapter reached twice (a folder and an adapter inside it) is kept once, under the
// smaller name, so that the list does not depend on the order of the arguments. Two different
// adapters with the same name, an `outdir` that is an INPUT or inside an adapter, and an
// unreadable manifest throw lq::Error before anything is written.
BatchInputList discoverBatchInputs(const std::vector<std::string>& roots,
                                   const std::vector<std::string>& manifests,
                                   const std::string& outdir);

// A shard: `index` of `count`, 1-based (1/4 .. 4/4).
struct Shard
{
    int index = 1;
    int count = 1;
};

// "I/N" with 1 <= I <= N; nullopt for anything else.
std::optional<Shard> parseShard(const std::string& text);

// The shard the environment asks for, when a scheduler set one:
// - Slurm job arrays: SLURM_ARRAY_TASK_ID, with SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX
//   (or SLURM_ARRAY_TASK_COUNT with a minimum of 0): shard ID - MIN + 1 of MAX - MIN + 1.
//   Arrays with a step or a list of ids (MAX - MIN + 1 != COUNT) are refused: give --shard;
// - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based), with the count from `count` (the
//   --shard-count option) or LQ_SHARD_COUNT.
// `lookup` reads a variable (std::getenv in the CLI; tests pass their own). Returns nullopt when
// no scheduler variable is set; throws lq::Error("environment", ...) for values that do not
// make a shard.
using EnvironmentLookup = std::optional<std::string> (*)(const char* name);
std::optional<Shard> shardFromEnvironment(EnvironmentLookup lookup, std::optional<int> count = {});

// Shard `shard` of `inputs` (sorted by name, as discoverBatchInputs returns them): the inputs at
// positions p with p % count == index - 1. Round robin rather than contiguous blocks: a tree
// sorted by name often groups similar sizes together, and this spreads them over the shards.
std::vector<BatchInput> selectShard(const std::vector<BatchInput>& inputs, Shard shard);

// Outputs of one adapter under OUTDIR, from its relative name.
struct BatchOutputNames
{
    std::string packed;      // OUTDIR/<relative>.lqa.h5
    std::string peft;        // OUTDIR/<relative>.peft/   (--export-peft)
    std::string report;      // OUTDIR/<relative>.report.json   (--report)
    std::string fingerprint; // OUTDIR/<relative>.fingerprint.json: what made the outputs
};
BatchOutputNames batchOutputNames(const std::string& outdir, const std::string& relative);

// The files an adapter input is read from: the tensor file and the config (which may not exist).
struct AdapterFiles
{
    std::string tensors;
    std::string config;
};
AdapterFiles adapterFilesOf(const std::string& input);

} // namespace lq
