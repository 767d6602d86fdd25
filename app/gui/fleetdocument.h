#pragma once

#include "core/fleet/batchrecord.h"
#include "job.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace lq::gui {

// The files of a PEFT adapter folder, whose presence makes a folder an adapter.
inline constexpr const char* kFleetTensorFileName = "adapter_model.safetensors";
inline constexpr const char* kFleetConfigFileName = "adapter_config.json";

class FleetLoadJob;

// One adapter of a fleet. From a batch summary the record is what the batch wrote. From a folder
// of adapters it starts as a path (pending) and gets its modules, parameters, stored bytes and
// base model once the background job has read the adapter's config and safetensors header; it is
// never quantized there, so bytes after, bits and error stay unset.
struct FleetEntry
{
    lq::BatchRecord record;
    bool pending = false;   // listed, not read yet
    bool quantized = false; // bytes after, bits and error are set (a batch's ok or skipped)
};

// What the totals line says. Nearest-rank percentiles: p of n sorted errors is the
// ceil(p n)-th, so p50 and p95 are errors some adapter really has.
struct FleetTotals
{
    int count = 0;
    int ok = 0;
    int failed = 0;
    int skipped = 0;
    int pending = 0;
    // Over the quantized adapters (ok and skipped): what the batch turned into what.
    int quantized = 0;
    std::int64_t bytesBefore = 0;
    std::int64_t bytesAfter = 0;
    double errorMean = 0;
    double errorP50 = 0;
    double errorP95 = 0;
    // Over every adapter read (not failed, not pending): the mean size as stored, and the mean
    // packed size over the quantized ones; what the capacity line divides the budget by.
    int measured = 0;
    double meanStoredBytes = 0;
    double meanPackedBytes = 0;
};

FleetTotals fleetTotals(const std::vector<FleetEntry>& entries);

// How many adapters like these fit in `budgetBytes`: floor(budget / mean size), as stored and as
// packed; empty when there is no size to divide by (nothing read, nothing quantized).
struct FleetCapacity
{
    std::optional<std::int64_t> stored;
    std::optional<std::int64_t> packed;
};

FleetCapacity fleetCapacity(const FleetTotals& totals, double budgetBytes);

// Adapter folders below `root`: every folder holding adapter_model.safetensors (not searched
// further) or adapter_config.json alone (listed, so that it shows as failed), in path order.
// Hidden folders are skipped, symbolic links to folders are not followed. Stops early (returns
// what it found so far) when `keepGoing` returns false.
std::vector<std::string> findAdapterFolders(const std::string& root,
                                            const std::function<bool()>& keepGoing = {});

// A fleet: the adapters of a batch output folder (its batch-summary*.jsonl) or of a folder
// searched for adapters. Loading runs in a FleetLoadJob: the rows appear once listed, the
// figures of a folder's adapters fill in as the job reads them.
//
// Threads: UI thread only (the job shares its output through its own state).
class FleetDocument : public QObject
{
    Q_OBJECT

public:
    enum class Kind
    {
        BatchResults, // a batch OUTDIR
        AdapterFolder // a folder holding many adapters
    };

    FleetDocument(Kind kind, const QString& path, QObject* parent = nullptr);
    ~FleetDocument() override;

    // Whether `path` should open as a fleet, and which: a folder that is not itself an adapter (no
    // adapter_model.safetensors, no adapter_config.json at its top) and holds a batch summary
    // (BatchResults) or adapters below it (AdapterFolder). Anything else opens as before.
    static std::optional<Kind> kindOf(const QString& path);

    Kind kind() const { return m_kind; }
    const QString& path() const { return m_path; }
    QString title() const;

    // Starts the load job (once).
    void load();
    // The running load, or null.
    FleetLoadJob* job() const;
    bool isLoading() const { return job() != nullptr; }
    bool isListed() const { return m_listed; }

    const std::vector<FleetEntry>& entries() const { return m_entries; }
    const FleetTotals& totals() const { return m_totals; }

    // The file a double-click opens for row `row`: a batch's packed output when it exists (what
    // the batch made, with the settings it used), else the input adapter.
    QString openPathFor(int row) const;

signals:
    void loadStarted(lq::gui::Job* job);
    // The rows are there (replacing none before).
    void listed();
    // Rows first..last (inclusive) have their figures.
    void rowsUpdated(int first, int last);
    // After listed() and every rowsUpdated(); `message` says why when it failed.
    void loadFinished(lq::gui::Job::Outcome outcome, const QString& message);

private:
    void takeOutput();

    Kind m_kind;
    QString m_path;
    std::vector<FleetEntry> m_entries;
    FleetTotals m_totals;
    bool m_listed = false;
    std::size_t m_taken = 0; // measured rows taken from the job
    QPointer<FleetLoadJob> m_job;
};

} // namespace lq::gui
