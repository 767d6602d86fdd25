// bench_load: how long opening a 7B-class adapter and computing every module's singular spectrum
// takes, and how much memory it needs (issue 2's targets: under 1 s on 2 cores; peak resident
// memory under 1.5x the file size, i.e. never a float32 copy of the whole adapter).
//
//   bench_load [--repeat N] [--keep DIR] [ADAPTER]
//
// Without ADAPTER it writes a llama2-7b rank-16 all-linear F16 synthetic adapter (~80 MB) to a
// temporary folder first. The writing happens in a child process so that the peak memory printed
// is that of loading and computing alone. Each run is timed twice: "cold" after evicting the file
// from the page cache (posix_fadvise DONTNEED, this file only), and "warm" with it cached.

#include "core/engine/spectrumsummary.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "core/io/synthesizer.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <omp.h>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr double kTargetSeconds = 1.0;
constexpr double kTargetMemoryRatio = 1.5;

double peakResidentBytes(int who)
{
    rusage usage{};
    getrusage(who, &usage);
    return double(usage.ru_maxrss) * 1024.0; // Linux reports kilobytes
}

void evictFromPageCache(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

// Writes the synthetic adapter in a child process; returns false if that failed.
bool writeAdapterInChild(const std::string& folder)
{
    std::cout.flush();
    const pid_t child = ::fork();
    if (child < 0)
        return false;
    if (child == 0) {
        try {
            lq::SynthSettings settings;
            settings.preset = "llama2-7b";
            settings.rank = 16;
            settings.targets = lq::SynthTargets::All;
            settings.dtype = lq::DType::F16;
            settings.seed = 1;
            lq::writeSyntheticAdapter(folder, settings);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_load: %s\n", e.what());
            std::_Exit(1);
        }
        std::_Exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct Timing
{
    double load = 0;
    double spectra = 0;
    std::size_t modules = 0;
    double checksum = 0; // sum of every s_1: keeps the work observable
};

Timing runOnce(const std::string& path)
{
    using Clock = std::chrono::steady_clock;
    Timing timing;
    const auto start = Clock::now();
    const lq::Adapter adapter = lq::Adapter::load(path);
    const auto loaded = Clock::now();
    const std::vector<lq::SpectrumSummary> spectra = lq::adapterSpectra(adapter);
    const auto done = Clock::now();
    timing.load = std::chrono::duration<double>(loaded - start).count();
    timing.spectra = std::chrono::duration<double>(done - loaded).count();
    timing.modules = spectra.size();
    for (const auto& s : spectra)
        timing.checksum += s.singularValues.empty() ? 0 : s.singularValues[0];
    return timing;
}

} // namespace

int main(int argc, char** argv)
{
    int repeat = 3;
    std::string keep, adapterPath;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--repeat" && i + 1 < argc)
            repeat = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--keep" && i + 1 < argc)
            keep = argv[++i];
        else if (arg == "--help" || arg == "-h") {
            std::cout << "usage: bench_load [--repeat N] [--keep DIR] [ADAPTER]\n";
            return 0;
        } else
            adapterPath = arg;
    }

    std::string temporary;
    if (adapterPath.empty()) {
        if (keep.empty()) {
            const fs::path base = fs::temp_directory_path() / "bench_load.XXXXXX";
            std::string pattern = base.string();
            if (!::mkdtemp(pattern.data())) {
                std::perror("bench_load: mkdtemp");
                return 1;
            }
            temporary = pattern;
            adapterPath = temporary;
        } else {
            adapterPath = keep;
        }
        std::cout << "writing llama2-7b rank-16 all-linear F16 synthetic adapter to " << adapterPath
                  << " (child process) ...\n";
        if (!writeAdapterInChild(adapterPath)) {
            std::cerr << "bench_load: writing the synthetic adapter failed\n";
            return 1;
        }
    }

    int status = 0;
    try {
        // Facts about the file from a first load whose mapping is gone before the timed runs
        // (two live mappings of one file would count its pages twice in the resident size).
        std::string tensorFile;
        double fileBytes = 0;
        {
            const lq::Adapter probe = lq::Adapter::load(adapterPath);
            tensorFile = probe.safetensorsPath();
            fileBytes = double(probe.file()->fileSize());
            std::printf("adapter   %s\n", tensorFile.c_str());
            std::printf("file      %.1f MB (%zu modules, %.1f M LoRA parameters)\n",
                        fileBytes / 1e6, probe.modules().size(),
                        double(probe.parameterCount()) / 1e6);
        }
        std::printf("threads   %d (OpenMP)\n", omp_get_max_threads());

        double bestCold = 1e30, bestWarm = 1e30;
        for (int run = 0; run < repeat; ++run) {
            evictFromPageCache(tensorFile);
            const Timing cold = runOnce(adapterPath);
            const Timing warm = runOnce(adapterPath);
            std::printf(
                "run %d     cold: load %.3f s + spectra %.3f s = %.3f s | warm: load %.3f s "
                "+ spectra %.3f s = %.3f s  (checksum %.6g)\n",
                run + 1, cold.load, cold.spectra, cold.load + cold.spectra, warm.load, warm.spectra,
                warm.load + warm.spectra, warm.checksum);
            bestCold = std::min(bestCold, cold.load + cold.spectra);
            bestWarm = std::min(bestWarm, warm.load + warm.spectra);
        }
        const double peak = peakResidentBytes(RUSAGE_SELF);
        std::printf("best      cold %.3f s, warm %.3f s (target < %.1f s)%s\n", bestCold, bestWarm,
                    kTargetSeconds, bestWarm < kTargetSeconds ? "" : "  ** over target **");
        std::printf("peak RSS  %.1f MB = %.2fx the file (target < %.1fx)%s\n", peak / 1e6,
                    peak / fileBytes, kTargetMemoryRatio,
                    peak / fileBytes < kTargetMemoryRatio ? "" : "  ** over target **");
        if (!temporary.empty())
            std::printf("writer    peak RSS %.1f MB (child process, not counted above)\n",
                        peakResidentBytes(RUSAGE_CHILDREN) / 1e6);
    } catch (const lq::Error& e) {
        std::cerr << "bench_load: " << e.what() << '\n';
        status = 1;
    }
    if (!temporary.empty()) {
        std::error_code ec;
        fs::remove_all(temporary, ec);
    }
    return status;
}
