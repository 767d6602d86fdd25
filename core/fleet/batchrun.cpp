#include "core/fleet/batchrun.h"

#include "core/engine/dequantizedadapter.h"
#include "core/engine/report.h"
#include "core/fleet/batchfingerprint.h"
#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "core/io/textfile.h"
#include "core/packed/packedfile.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <omp.h>
#include <optional>
#include <thread>
#include <unistd.h>

namespace lq {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A failure that no other adapter could avoid either: the batch stops instead of recording the
// same failure for every adapter left.
bool isFatalWriteError(const std::string& message, const std::string& outdir)
{
    for (const char* reason :
         {"No space left on device", "Disk quota exceeded", "Read-only file system"})
        if (message.find(reason) != std::string::npos)
            return true;
    try {
        checkCanWriteFolder(outdir);
    } catch (const Error&) {
        return true;
    }
    return false;
}

// The summary file, appended to line by line. A line cut by a kill in an earlier run is cut
// off first: appended to, it would turn into a malformed line in the middle of the file.
class SummaryFile
{
public:
    explicit SummaryFile(const std::string& path) : m_path(path)
    {
        std::error_code ec;
        if (const auto size = fs::file_size(path, ec); !ec && size > 0) {
            const std::string text = readTextFile(path, "batch summary");
            const auto lastNewline = text.rfind('\n');
            const std::uint64_t keep = lastNewline == std::string::npos ? 0 : lastNewline + 1;
            if (keep != text.size() && ::truncate(path.c_str(), off_t(keep)) != 0)
                throw Error(path, "cannot cut the unfinished last line of the summary");
        }
        m_file = std::fopen(path.c_str(), "a");
        if (!m_file)
            throw Error(path, std::string("cannot open the batch summary for appending: ") +
                                  std::strerror(errno));
    }
    ~SummaryFile()
    {
        if (m_file)
            std::fclose(m_file);
    }
    SummaryFile(const SummaryFile&) = delete;
    SummaryFile& operator=(const SummaryFile&) = delete;

    void append(const std::string& line)
    {
        if (std::fputs(line.c_str(), m_file) < 0 || std::fputc('\n', m_file) < 0 ||
            std::fflush(m_file) != 0)
            throw Error(m_path,
                        std::string("cannot write the batch summary: ") + std::strerror(errno));
    }

private:
    std::string m_path;
    std::FILE* m_file = nullptr;
};

class BatchRunner
{
public:
    BatchRunner(const BatchSettings& settings, const BatchProgressFn& progress)
        : m_settings(settings), m_progress(progress), m_recipe(recipeJson(settings.recipe)),
          m_recipeText(m_recipe.dump()), m_summary(settings.summaryFile)
    {
        m_state.total = int(settings.inputs.size());
        m_outcome.total = m_state.total;
    }

    BatchOutcome run()
    {
        std::vector<const BatchInput*> small, large;
        for (const BatchInput& input : m_settings.inputs) {
            const auto stamp = fileStamp(adapterFilesOf(input.path).tensors);
            (stamp && stamp->bytes >= m_settings.largeBytes ? large : small).push_back(&input);
        }
        const int jobs = m_settings.jobs > 0 ? m_settings.jobs : omp_get_max_threads();

        // Small adapters: `jobs` at once, one thread each (their modules are too few and too
        // small to keep several threads busy).
        std::atomic<std::size_t> next = 0;
        auto worker = [&] {
            omp_set_num_threads(1);
            for (std::size_t i; !m_stop && (i = next++) < small.size();)
                guarded(*small[i]);
        };
        if (jobs <= 1 || small.size() <= 1) {
            const int threads = omp_get_max_threads();
            omp_set_num_threads(1);
            for (const BatchInput* input : small)
                if (!m_stop)
                    guarded(*input);
            omp_set_num_threads(threads);
        } else {
            std::vector<std::thread> threads;
            for (int t = 0; t < std::min<int>(jobs, int(small.size())); ++t)
                threads.emplace_back(worker);
            for (std::thread& thread : threads)
                thread.join();
        }
        // Large ones: one at a time, every thread on its modules.
        for (const BatchInput* input : large)
            if (!m_stop)
                guarded(*input);

        if (m_fatal)
            std::rethrow_exception(m_fatal);
        m_outcome.cancelled = m_cancelled;
        m_outcome.seconds = secondsSince(m_start);
        return m_outcome;
    }

private:
    // One adapter; anything that stops the batch is kept for run() to rethrow on its thread.
    void guarded(const BatchInput& input)
    {
        try {
            const auto record = process(input);
            if (record)
                finish(*record);
        } catch (...) {
            std::lock_guard lock(m_mutex);
            if (!m_fatal)
                m_fatal = std::current_exception();
            m_stop = true;
        }
    }

    void finish(const BatchRecord& record)
    {
        std::lock_guard lock(m_mutex);
        m_summary.append(batchRecordLine(record));
        ++m_state.done;
        switch (record.status) {
        case BatchStatus::Ok:
            ++m_state.ok;
            m_outcome.adapterSeconds += record.seconds;
            break;
        case BatchStatus::Failed:
            ++m_state.failed;
            m_outcome.adapterSeconds += record.seconds;
            break;
        case BatchStatus::Skipped:
            ++m_state.skipped;
            break;
        }
        if (const auto stamp = fileStamp(adapterFilesOf(record.input).tensors))
            m_state.inputBytes += stamp->bytes;
        m_outcome.ok = m_state.ok;
        m_outcome.failed = m_state.failed;
        m_outcome.skipped = m_state.skipped;
        m_outcome.inputBytes = m_state.inputBytes;
        m_state.record = &record;
        report();
        m_state.record = nullptr;
    }

    // Under m_mutex.
    void report()
    {
        if (!m_progress)
            return;
        m_state.seconds = secondsSince(m_start);
        if (!m_progress(m_state)) {
            m_stop = true;
            m_cancelled = true;
        }
    }

    bool tick()
    {
        if (m_stop)
            return false;
        std::lock_guard lock(m_mutex);
        report();
        return !m_stop;
    }

    std::optional<BatchRecord> trySkip(const BatchInput& input, const BatchOutputNames& names,
                                       const AdapterFiles& files, Clock::time_point start)
    {
        std::error_code ec;
        if (!fs::exists(names.fingerprint, ec))
            return std::nullopt;
        try {
            BatchFingerprint f =
                parseFingerprint(readTextFile(names.fingerprint, "fingerprint"), names.fingerprint);
            if (f.tool != m_settings.tool || f.recipe.dump() != m_recipeText ||
                (m_settings.exportPeft && !f.peft) || (m_settings.report && !f.report))
                return std::nullopt;
            const auto packed = fileStamp(names.packed);
            if (!packed || packed->bytes != f.packedBytes)
                return std::nullopt;
            if ((m_settings.report && !fs::exists(names.report, ec)) ||
                (m_settings.exportPeft &&
                 !fs::exists(fs::path(names.peft) / "adapter_model.safetensors", ec)))
                return std::nullopt;
            const auto tensors = fileStamp(files.tensors);
            if (!tensors || tensors->bytes != f.tensorBytes)
                return std::nullopt;
            if (tensors->mtimeNs != f.tensorMtimeNs) {
                // Touched or copied: the bytes decide, and the new time saves the next rerun.
                if (sha256OrEmpty(files.tensors) != f.tensorSha256)
                    return std::nullopt;
                f.tensorMtimeNs = tensors->mtimeNs;
                if (sha256OrEmpty(files.config) != f.configSha256)
                    return std::nullopt;
                writeFileAtomically(names.fingerprint, fingerprintJson(f));
            } else if (sha256OrEmpty(files.config) != f.configSha256) {
                return std::nullopt;
            }
            BatchRecord record = std::move(f.record);
            record.status = BatchStatus::Skipped;
            record.input = input.path;
            record.relative = input.relative;
            record.seconds = secondsSince(start);
            return record;
        } catch (const std::exception&) {
            return std::nullopt; // an unreadable fingerprint: the adapter is simply redone
        }
    }

    std::optional<BatchRecord> process(const BatchInput& input)
    {
        const auto start = Clock::now();
        const BatchOutputNames names = batchOutputNames(m_settings.outdir, input.relative);
        const AdapterFiles files = adapterFilesOf(input.path);

        if (!m_settings.force)
            if (auto skipped = trySkip(input, names, files, start))
                return skipped;

        BatchRecord record;
        record.input = input.path;
        record.relative = input.relative;
        record.settings = m_recipe;
        auto failed = [&](const std::string& message) {
            record.status = BatchStatus::Failed;
            record.error = message;
            try {
                record.sha256 = sha256OrEmpty(files.tensors);
            } catch (const std::exception&) {
                record.sha256.clear();
            }
            record.seconds = secondsSince(start);
            return record;
        };

        // From here on the old outputs no longer count as up to date, whatever happens.
        std::error_code ec;
        fs::remove(names.fingerprint, ec);

        const auto stamp = fileStamp(files.tensors);
        std::optional<Adapter> adapter;
        QuantResult result;
        try {
            adapter.emplace(Adapter::load(input.path));
            const Adapter& a = *adapter;
            if (a.config() && a.config()->baseModel)
                record.baseModel = *a.config()->baseModel;
            record.modules = std::int64_t(a.modules().size());
            record.loraParameters = a.parameterCount();
            record.bytesBefore = std::int64_t(a.storedBytes());
            result = quantizeWithRecipe(a, m_settings.recipe, [this](int, int) { return tick(); });
            if (result.cancelled)
                return std::nullopt;
        } catch (const std::bad_alloc&) {
            return failed(input.path + ": out of memory while reading or quantizing this adapter");
        } catch (const std::exception& e) {
            return failed(e.what());
        }
        if (m_stop && m_cancelled)
            return std::nullopt; // stopped in the last module: its outputs are not written

        record.bitsPaper = result.avgBitsPaper;
        record.bitsTrue = result.avgBitsTrue;
        record.relError = result.relErrTotal;
        record.output =
            fs::path(names.packed).lexically_relative(m_settings.outdir).generic_string();

        try {
            fs::create_directories(fs::path(names.packed).parent_path(), ec);
            if (ec)
                throw Error(fs::path(names.packed).parent_path().string(),
                            "cannot create the output folder: " + ec.message());
            const PackedAdapter packed = packAdapter(*adapter, result);
            record.sha256 = packed.source.sha256;
            writePackedAdapter(names.packed, packed);
            if (m_settings.report)
                writeReport(names.report, result);
            if (m_settings.exportPeft)
                writeDequantizedAdapter(names.peft, *adapter, result);
            const auto packedStamp = fileStamp(names.packed);
            record.bytesAfter = packedStamp ? std::int64_t(packedStamp->bytes) : 0;
            record.seconds = secondsSince(start);

            BatchFingerprint f;
            f.tool = m_settings.tool;
            f.tensorSha256 = record.sha256;
            f.tensorBytes = stamp ? stamp->bytes : 0;
            f.tensorMtimeNs = stamp ? stamp->mtimeNs : 0;
            f.configSha256 = sha256OrEmpty(files.config);
            f.recipe = m_recipe;
            f.packedBytes = std::uint64_t(record.bytesAfter);
            f.peft = m_settings.exportPeft;
            f.report = m_settings.report;
            f.record = record;
            writeFileAtomically(names.fingerprint, fingerprintJson(f));
        } catch (const std::exception& e) {
            if (isFatalWriteError(e.what(), m_settings.outdir))
                throw;
            fs::remove(names.packed, ec); // no output without its fingerprint
            return failed(e.what());
        }
        return record;
    }

    const BatchSettings& m_settings;
    const BatchProgressFn& m_progress;
    const nlohmann::ordered_json m_recipe;
    const std::string m_recipeText;
    const Clock::time_point m_start = Clock::now();
    SummaryFile m_summary;

    std::mutex m_mutex; // guards everything below except the atomics
    BatchProgress m_state;
    BatchOutcome m_outcome;
    std::exception_ptr m_fatal;
    std::atomic<bool> m_stop = false;
    std::atomic<bool> m_cancelled = false;
};

} // namespace

BatchOutcome runBatch(const BatchSettings& settings, const BatchProgressFn& progress)
{
    std::error_code ec;
    fs::create_directories(settings.outdir, ec);
    if (ec)
        throw Error(settings.outdir, "cannot create the output folder: " + ec.message());
    checkCanWriteFolder(settings.outdir);
    BatchRunner runner(settings, progress);
    return runner.run();
}

} // namespace lq
