#include "arguments.h"
#include "commands.h"
#include "core/fleet/batchinputs.h"
#include "core/fleet/batchrun.h"
#include "core/fleet/batchtotals.h"
#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "quantizeoptions.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <unistd.h>

#ifndef LQ_VERSION
#define LQ_VERSION "unknown"
#endif

namespace lq::cli {

const char* const kBatchUsage =
    "usage: loraquant batch INPUT... -o OUTDIR [--manifest FILE] [--shard I/N]\n"
    "                       [--shard-count N] [--jobs J] [--force] [--export-peft] [--report]\n"
    "                       [quantize's options: --rho, --split, --bits-high, --group-size,\n"
    "                        --refine, --paper-exact, --budget, --budget-count, --plan]\n"
    "       loraquant batch --merge OUTDIR\n"
    "\n"
    "Quantizes many adapters with the same settings. Each INPUT is an adapter (a folder, its\n"
    "adapter_config.json or a .safetensors file) or a folder searched recursively for adapters\n"
    "(folders holding adapter_config.json or adapter_model.safetensors, and loose\n"
    ".safetensors files; hidden folders and OUTDIR are not searched).\n"
    "\n"
    "Per adapter it writes OUTDIR/<name>.lqa.h5, where <name> is the adapter's path relative to\n"
    "its INPUT folder (an INPUT that is itself an adapter: its folder's name), and with\n"
    "--export-peft OUTDIR/<name>.peft/ (the dequantized PEFT adapter), with --report\n"
    "OUTDIR/<name>.report.json; then OUTDIR/<name>.fingerprint.json, which records the input's\n"
    "SHA-256, its config and the settings. All writes are atomic; inputs are never written.\n"
    "\n"
    "Each adapter appends one JSON line to OUTDIR/batch-summary.jsonl (with a shard,\n"
    "batch-summary.shard-I-of-N.jsonl), flushed as it finishes: input, relative, sha256,\n"
    "status ok | failed | skipped, error, base_model, modules, lora_parameters, bytes_before,\n"
    "bytes_after, bits_paper, bits_true, rel_error, seconds, output, settings. A bad adapter\n"
    "(unreadable, truncated, NaN, no LoRA pairs) is a failed line with the reader's message,\n"
    "and the batch goes on.\n"
    "\n"
    "  -o, --output OUTDIR  output folder (created if needed); not an INPUT or inside one\n"
    "  --manifest FILE   more INPUTs, one path per line ('#' starts a comment line); relative\n"
    "                    paths are relative to FILE's folder, and outputs are named by the\n"
    "                    line's path (a line team-a/c1 gives OUTDIR/team-a/c1.lqa.h5)\n"
    "  --shard I/N       only the I-th (1..N) of N disjoint slices: the adapters sorted by\n"
    "                    name, every N-th from the I-th, whatever the order of the INPUTs.\n"
    "                    Default from the environment: Slurm job arrays (SLURM_ARRAY_TASK_ID,\n"
    "                    SLURM_ARRAY_TASK_MIN/MAX or _COUNT: the array's first task is shard 1)\n"
    "                    or Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX 0-based, with\n"
    "                    --shard-count N or LQ_SHARD_COUNT)\n"
    "  --shard-count N   the number of shards when the environment gives only an index\n"
    "  --jobs J          small adapters (under 16 MB) quantized at once, one thread each\n"
    "                    (default: OMP_NUM_THREADS, else the cores); larger ones run one at a\n"
    "                    time on all threads. Outputs are byte-identical whatever J\n"
    "  --force           redo adapters whose outputs are up to date\n"
    "  --export-peft     also write each dequantized PEFT adapter\n"
    "  --report          also write each JSON report\n"
    "  --merge OUTDIR    read every summary in OUTDIR (all shards, reruns) and print and\n"
    "                    write the totals: OUTDIR/batch-totals.json and .csv\n"
    "\n"
    "Resuming: a rerun of the same command skips each adapter whose fingerprint matches (same\n"
    "tensor bytes and config, same settings, same loraquant version; a stat() when the file's\n"
    "size and time are unchanged) and records it as skipped.\n"
    "SIGTERM and SIGINT (Slurm's time limit, preemption, Ctrl-C) stop the batch at the next\n"
    "module: the adapters in progress leave no output and no summary line, every finished one is\n"
    "recorded, and a rerun finishes the rest. A second signal ends the process at once.\n"
    "\n"
    "Progress on stderr: a live line on a terminal, else one line per adapter.\n"
    "Exit status: 0 every adapter ok or skipped; 3 some failed (see the summary); 1 a fatal\n"
    "error (OUTDIR or the summary cannot be written, disk full; the message on stderr);\n"
    "2 a wrong call; 128 + the signal (130 SIGINT, 143 SIGTERM) when stopped.\n";

namespace {

namespace fs = std::filesystem;

std::atomic<int> g_stopSignal = 0;
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void onStopSignal(int signal)
{
    g_stopSignal = signal;
}

// SA_RESETHAND: the first signal asks for a clean stop, a second one ends the process.
void installStopHandlers()
{
    struct sigaction action
    {
    };
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
}

std::optional<std::string> environment(const char* name)
{
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
}

std::string duration(double seconds)
{
    char text[32];
    if (seconds < 60)
        std::snprintf(text, sizeof text, "%.0fs", seconds);
    else if (seconds < 3600)
        std::snprintf(text, sizeof text, "%dm%02ds", int(seconds) / 60, int(seconds) % 60);
    else
        std::snprintf(text, sizeof text, "%dh%02dm", int(seconds) / 3600, int(seconds) / 60 % 60);
    return text;
}

// A live line on a terminal (at most a few redraws a second); elsewhere (a log, Slurm's output
// file) one line per adapter.
BatchProgressFn progressPrinter(bool terminal)
{
    auto lastDraw = std::make_shared<std::chrono::steady_clock::time_point>();
    return [terminal, lastDraw](const BatchProgress& p) {
        const double mbPerSecond = p.seconds > 0 ? double(p.inputBytes) / 1e6 / p.seconds : 0;
        if (terminal) {
            const auto now = std::chrono::steady_clock::now();
            if (p.done == p.total || now - *lastDraw > std::chrono::milliseconds(200)) {
                *lastDraw = now;
                const double eta = p.done > 0 ? p.seconds / p.done * (p.total - p.done) : 0.0;
                char line[160];
                std::snprintf(line, sizeof line,
                              "\r%d/%d done, %d failed, %d skipped, %.1f MB/s, ETA %s   ", p.done,
                              p.total, p.failed, p.skipped, mbPerSecond,
                              p.done > 0 ? duration(eta).c_str() : "?");
                std::cerr << line << (p.done == p.total && p.record ? "\n" : "") << std::flush;
            }
        } else if (p.record) {
            const BatchRecord& r = *p.record;
            std::cerr << '[' << p.done << '/' << p.total << "] " << batchStatusName(r.status) << ' '
                      << r.relative;
            if (r.status == BatchStatus::Failed)
                std::cerr << ": " << r.error;
            else {
                char figures[96];
                std::snprintf(figures, sizeof figures, " (%.2f s, %.3f bits, error %.4f)",
                              r.seconds, r.bitsPaper, r.relError);
                std::cerr << figures;
            }
            std::cerr << '\n';
        }
        return g_stopSignal == 0;
    };
}

int runMerge(const std::string& outdir);

} // namespace

int runBatch(const std::vector<std::string>& args)
{
    OptionSpec spec = quantOptionSpec();
    spec.insert(spec.end(), {{"output", true, 'o'},
                             {"manifest", true},
                             {"shard", true},
                             {"shard-count", true},
                             {"jobs", true},
                             {"force", false},
                             {"export-peft", false},
                             {"report", false},
                             {"merge", true}});
    const Arguments arguments(args, spec);
    if (const auto merge = arguments.value("merge")) {
        if (args.size() != 2 && !(args.size() == 1 && args[0].starts_with("--merge=")))
            throw UsageError("--merge takes only the output folder");
        return runMerge(*merge);
    }
    if (arguments.has("components"))
        throw UsageError("--components does not apply to batch (a packed file records no order)");
    const QuantRecipe recipe = parseQuantRecipe(arguments);
    const auto outdir = arguments.value("output");
    if (!outdir || outdir->empty())
        throw UsageError("missing -o OUTDIR");
    std::vector<std::string> manifests;
    if (const auto manifest = arguments.value("manifest"))
        manifests.push_back(*manifest);
    if (arguments.positionals().empty() && manifests.empty())
        throw UsageError("missing INPUT (adapters, folders of adapters, or --manifest FILE)");

    std::optional<int> shardCount;
    if (arguments.has("shard-count")) {
        shardCount = arguments.integer("shard-count", 1);
        if (*shardCount < 1)
            throw UsageError("--shard-count must be at least 1");
    }
    std::optional<Shard> shard;
    if (const auto text = arguments.value("shard")) {
        shard = parseShard(*text);
        if (!shard)
            throw UsageError("--shard must be I/N with 1 <= I <= N, got '" + *text + "'");
        if (shardCount && *shardCount != shard->count)
            throw UsageError("--shard-count " + std::to_string(*shardCount) +
                             " disagrees with --shard " + *text);
    } else {
        shard = shardFromEnvironment(environment, shardCount);
    }
    const int jobs = arguments.integer("jobs", 0);
    if (jobs < 0)
        throw UsageError("--jobs must be at least 1");

    BatchInputList list = discoverBatchInputs(arguments.positionals(), manifests, *outdir);
    for (const std::string& warning : list.warnings)
        std::cerr << "warning: " << warning << '\n';
    if (list.inputs.empty())
        throw Error(*outdir, "no adapters found in the INPUTs; nothing to do");

    BatchSettings settings;
    settings.inputs = shard ? selectShard(list.inputs, *shard) : std::move(list.inputs);
    settings.outdir = *outdir;
    settings.summaryFile =
        (fs::path(*outdir) /
         batchSummaryFileName(shard ? std::optional(std::pair(shard->index, shard->count))
                                    : std::nullopt))
            .string();
    settings.recipe = recipe;
    settings.exportPeft = arguments.has("export-peft");
    settings.report = arguments.has("report");
    settings.force = arguments.has("force");
    settings.jobs = jobs;
    settings.tool = std::string("loraquant ") + LQ_VERSION;

    installStopHandlers();
    const bool terminal = ::isatty(STDERR_FILENO);
    const BatchOutcome outcome = lq::runBatch(settings, progressPrinter(terminal));
    if (terminal && outcome.cancelled)
        std::cerr << '\n';

    char line[256];
    std::snprintf(
        line, sizeof line,
        "batch%s: %d ok, %d failed, %d skipped of %d adapters in %.1f s (%.1f MB/s)\n",
        shard ? (" shard " + std::to_string(shard->index) + "/" + std::to_string(shard->count))
                    .c_str()
              : "",
        outcome.ok, outcome.failed, outcome.skipped, outcome.total, outcome.seconds,
        outcome.seconds > 0 ? double(outcome.inputBytes) / 1e6 / outcome.seconds : 0.0);
    std::cout << line << "summary    " << settings.summaryFile << '\n';
    if (outcome.cancelled) {
        const int signal = g_stopSignal.load();
        std::cerr << "loraquant batch: stopped by "
                  << (signal == SIGTERM  ? "SIGTERM"
                      : signal == SIGINT ? "SIGINT"
                                         : "a signal")
                  << " after " << outcome.ok + outcome.failed + outcome.skipped << " of "
                  << outcome.total << " adapters; run the same command again to finish the rest\n";
        return 128 + (signal ? signal : SIGTERM);
    }
    return outcome.failed > 0 ? 3 : 0;
}

namespace {

int runMerge(const std::string& outdir)
{
    const BatchTotals totals = batchTotals(readBatchSummaries(outdir));
    const std::string json = (fs::path(outdir) / "batch-totals.json").string();
    const std::string csv = (fs::path(outdir) / "batch-totals.csv").string();
    writeFileAtomically(json, batchTotalsJson(totals));
    writeFileAtomically(csv, batchTotalsCsv(totals));
    std::cout << batchTotalsText(totals) << "totals     " << json << ", " << csv << '\n';
    return 0;
}

} // namespace

} // namespace lq::cli
