// bench_batch: `loraquant batch` over many adapters (issue 28). Not a test: run it by hand.
//
//   bench_batch [--tiny N] [--large N] [--keep DIR]
//
// (a) N tiny synthetic adapters (default 1000; synth --count's variants of the tiny preset):
//     adapters per second, and the batch's overhead: `batch --jobs 1` against the same work
//     (read, quantize, pack and write each adapter) done by a plain loop in this process. Target
//     under 10 %.
// (b) N llama2-7b rank-16 all-linear F16 adapters (default 20, 80 MB each, 1.6 GB): input MB/s,
//     average CPU use (user + system time over wall time; target at least 1.8 of 2 cores), peak
//     resident memory (target under 3x one adapter's file).
// (c) the same batch again over its finished outputs: target under 5 % of the first run.
// The batches run as child processes of the real CLI, so that the CPU time and the peak memory
// printed are theirs alone (wait4's rusage).

#include "core/engine/adapterquantizer.h"
#include "core/fleet/batchinputs.h"
#include "core/fleet/batchrecord.h"
#include "core/io/adapter.h"
#include "core/io/synthesizer.h"
#include "core/packed/packedfile.h"
#include "core/packed/packedformat.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <omp.h>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kTargetOverhead = 0.10;
constexpr double kTargetCores = 1.8;
constexpr double kTargetMemoryRatio = 3.0;
constexpr double kTargetRerun = 0.05;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct ChildRun
{
    int status = -1;
    double wall = 0;
    double cpu = 0;       // user + system seconds
    double peakBytes = 0; // ru_maxrss
};

ChildRun waitFor(pid_t child, Clock::time_point start)
{
    ChildRun run;
    rusage usage{};
    int status = 0;
    ::wait4(child, &status, 0, &usage);
    run.wall = secondsSince(start);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.cpu = double(usage.ru_utime.tv_sec) + double(usage.ru_utime.tv_usec) / 1e6 +
              double(usage.ru_stime.tv_sec) + double(usage.ru_stime.tv_usec) / 1e6;
    run.peakBytes = double(usage.ru_maxrss) * 1024.0;
    return run;
}

ChildRun runCli(const std::vector<std::string>& arguments)
{
    std::vector<char*> argv;
    std::string program = LQ_CLI_PATH;
    argv.push_back(program.data());
    std::vector<std::string> copies = arguments;
    for (std::string& argument : copies)
        argv.push_back(argument.data());
    argv.push_back(nullptr);
    std::cout.flush();
    const auto start = Clock::now();
    const pid_t child = ::fork();
    if (child == 0) {
        // The per-adapter lines would drown the figures.
        std::freopen("/dev/null", "w", stderr);
        std::freopen("/dev/null", "w", stdout);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return waitFor(child, start);
}

void writeAdapters(const fs::path& folder, const std::string& preset, int count, bool vary)
{
    lq::SynthSettings base;
    base.preset = preset;
    base.rank = 16;
    for (int i = 0; i < count; ++i) {
        lq::SynthSettings settings = vary ? lq::synthVariant(base, std::uint64_t(i)) : base;
        if (!vary)
            settings.seed = std::uint64_t(i + 1);
        char name[32];
        std::snprintf(name, sizeof name, "adapter-%05d", i + 1);
        lq::writeSyntheticAdapter((folder / name).string(), settings);
    }
}

// The per-adapter work alone, one adapter after another, one thread each as the batch's small
// adapters run: read, quantize, pack (with the source's SHA-256) and write.
void plainLoop(const fs::path& inputs, const fs::path& outdir)
{
    omp_set_num_threads(1);
    const auto list = lq::discoverBatchInputs({inputs.string()}, {}, outdir.string()).inputs;
    for (const lq::BatchInput& input : list) {
        const lq::Adapter adapter = lq::Adapter::load(input.path);
        const lq::QuantResult result = lq::quantizeAdapter(adapter, lq::QuantSettings{});
        const fs::path packed = outdir / (input.relative + ".lqa.h5");
        fs::create_directories(packed.parent_path());
        lq::writePackedAdapter(packed.string(), lq::packAdapter(adapter, result));
    }
}

// The plain loop in a child process, measured like the batches.
ChildRun runPlainLoop(const fs::path& inputs, const fs::path& outdir)
{
    std::cout.flush();
    const auto start = Clock::now();
    const pid_t child = ::fork();
    if (child == 0) {
        plainLoop(inputs, outdir);
        ::_exit(0);
    }
    return waitFor(child, start);
}

std::string loadAverage()
{
    char text[64] = "?";
    if (std::FILE* file = std::fopen("/proc/loadavg", "r")) {
        if (!std::fgets(text, sizeof text, file))
            text[0] = 0;
        std::fclose(file);
    }
    std::string load(text);
    return load.substr(0, load.find(' '));
}

double directoryBytes(const fs::path& folder)
{
    double bytes = 0;
    for (const auto& entry : fs::recursive_directory_iterator(folder))
        if (entry.is_regular_file() && entry.path().extension() == ".safetensors")
            bytes += double(entry.file_size());
    return bytes;
}

} // namespace

int main(int argc, char** argv)
{
    int tiny = 1000, large = 20;
    std::string keep;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--tiny" && i + 1 < argc)
            tiny = std::atoi(argv[++i]);
        else if (arg == "--large" && i + 1 < argc)
            large = std::atoi(argv[++i]);
        else if (arg == "--keep" && i + 1 < argc)
            keep = argv[++i];
        else {
            std::cerr << "usage: bench_batch [--tiny N] [--large N] [--keep DIR]\n";
            return 2;
        }
    }
    const fs::path root =
        keep.empty() ? fs::temp_directory_path() / ("bench_batch-" + std::to_string(::getpid()))
                     : fs::path(keep);
    fs::create_directories(root);
    std::printf("bench_batch: %d cores (OpenMP threads %d), work folder %s\n",
                int(std::thread::hardware_concurrency()), omp_get_max_threads(),
                root.string().c_str());
    int failures = 0;

    if (tiny > 0) {
        const fs::path inputs = root / "tiny";
        if (!fs::exists(inputs))
            writeAdapters(inputs, "tiny", tiny, true);
        const double bytes = directoryBytes(inputs);
        fs::remove_all(root / "tiny-loop");
        const std::string load = loadAverage();
        const ChildRun loop = runPlainLoop(inputs, root / "tiny-loop");
        fs::remove_all(root / "tiny-serial");
        const ChildRun serial = runCli(
            {"batch", inputs.string(), "-o", (root / "tiny-serial").string(), "--jobs", "1"});
        fs::remove_all(root / "tiny-out");
        const ChildRun batch =
            runCli({"batch", inputs.string(), "-o", (root / "tiny-out").string()});
        const ChildRun rerun =
            runCli({"batch", inputs.string(), "-o", (root / "tiny-out").string()});
        // CPU time, not wall time, decides: on a machine shared with other work the wall time
        // of two runs minutes apart says more about the neighbours than about the batch.
        const double overhead = (serial.cpu - loop.cpu) / loop.cpu;
        std::printf("(a) %d tiny adapters (%.1f MB), load average %s before:\n"
                    "    plain loop %.2f s wall, %.2f s CPU; batch --jobs 1 %.2f s wall, %.2f s "
                    "CPU: overhead %+.1f %% of CPU (target < %.0f %%), %+.1f %% of wall\n"
                    "    batch on all cores: %.2f s = %.0f adapters/s, CPU %.2f cores, peak RSS "
                    "%.0f MB; rerun %.2f s (%.1f %%)\n",
                    tiny, bytes / 1e6, load.c_str(), loop.wall, loop.cpu, serial.wall, serial.cpu,
                    100 * overhead, 100 * kTargetOverhead,
                    100 * (serial.wall - loop.wall) / loop.wall, batch.wall, tiny / batch.wall,
                    batch.cpu / batch.wall, batch.peakBytes / 1e6, rerun.wall,
                    100 * rerun.wall / batch.wall);
        failures += serial.status != 0 || batch.status != 0 || rerun.status != 0;
        if (overhead > kTargetOverhead)
            std::printf("    overhead above target\n");
    }

    if (large > 0) {
        const fs::path inputs = root / "large";
        if (!fs::exists(inputs)) {
            const auto start = Clock::now();
            writeAdapters(inputs, "llama2-7b", large, false);
            std::printf("    wrote %d llama2-7b r16 all-linear F16 adapters in %.1f s\n", large,
                        secondsSince(start));
        }
        const double bytes = directoryBytes(inputs);
        const double oneFile = bytes / large;
        fs::remove_all(root / "large-out");
        const std::string load = loadAverage();
        const ChildRun batch =
            runCli({"batch", inputs.string(), "-o", (root / "large-out").string()});
        const ChildRun rerun =
            runCli({"batch", inputs.string(), "-o", (root / "large-out").string()});
        const double cores = batch.cpu / batch.wall;
        const double memory = batch.peakBytes / oneFile;
        std::printf("(b) %d llama2-7b r16 adapters (%.2f GB), load average %s before: %.1f s, "
                    "%.1f MB/s input, CPU %.2f cores (target >= %.1f), peak RSS %.0f MB = %.2fx "
                    "one adapter's file (target < %.0fx)\n",
                    large, bytes / 1e9, load.c_str(), batch.wall, bytes / 1e6 / batch.wall, cores,
                    kTargetCores, batch.peakBytes / 1e6, memory, kTargetMemoryRatio);
        std::printf("(c) rerun over the finished outputs: %.2f s = %.2f %% of the first run "
                    "(target < %.0f %%)\n",
                    rerun.wall, 100 * rerun.wall / batch.wall, 100 * kTargetRerun);
        failures += batch.status != 0 || rerun.status != 0;
    }
    if (keep.empty())
        fs::remove_all(root);
    return failures ? 1 : 0;
}
