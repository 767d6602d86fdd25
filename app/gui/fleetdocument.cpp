#include "fleetdocument.h"

#include "fleetloadjob.h"

#include <QDir>
#include <QFileInfo>
#include <algorithm>
#include <cmath>
#include <filesystem>

namespace lq::gui {

namespace {

namespace fs = std::filesystem;

// Folder entries visited between two checks for cancellation.
constexpr int kEntriesPerCheck = 1024;
// How far kindOf() looks for a first adapter before deciding the folder holds none: the
// window asks on the UI thread, so a huge tree without adapters must not stall it.
constexpr int kProbeEntries = 50000;

double nearestRank(const std::vector<double>& sorted, double p)
{
    const auto rank = std::size_t(std::ceil(p * double(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

enum class FolderRole
{
    Other,
    Adapter,    // holds the tensor file
    ConfigOnly, // holds a config but no tensors: listed, shown as failed
};

FolderRole roleOf(const fs::path& folder)
{
    std::error_code ec;
    if (fs::exists(folder / kFleetTensorFileName, ec))
        return FolderRole::Adapter;
    if (fs::exists(folder / kFleetConfigFileName, ec))
        return FolderRole::ConfigOnly;
    return FolderRole::Other;
}

// Walks the folders below `root` (not `root` itself), calling `found` for each adapter folder;
// stops when `found` or `keepGoing` returns false, or after `limit` entries when positive.
void walkAdapterFolders(const std::string& root, const std::function<bool(std::string)>& found,
                        const std::function<bool()>& keepGoing, int limit)
{
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    int visited = 0;
    for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
        if (++visited % kEntriesPerCheck == 0 && keepGoing && !keepGoing())
            return;
        if (limit > 0 && visited > limit)
            return;
        std::error_code statusError;
        // Symbolic links to folders are not followed: a link loop would never end.
        if (it->symlink_status(statusError).type() != fs::file_type::directory)
            continue;
        const fs::path& folder = it->path();
        if (folder.filename().string().starts_with('.')) {
            it.disable_recursion_pending();
            continue;
        }
        if (roleOf(folder) != FolderRole::Other) {
            it.disable_recursion_pending(); // an adapter's own subfolders are its business
            if (!found(folder.string()))
                return;
        }
    }
}

} // namespace

FleetTotals fleetTotals(const std::vector<FleetEntry>& entries)
{
    FleetTotals totals;
    totals.count = int(entries.size());
    std::vector<double> errors;
    double stored = 0, packed = 0;
    for (const FleetEntry& entry : entries) {
        const lq::BatchRecord& record = entry.record;
        if (entry.pending) {
            ++totals.pending;
            continue;
        }
        switch (record.status) {
        case lq::BatchStatus::Ok:
            ++totals.ok;
            break;
        case lq::BatchStatus::Failed:
            ++totals.failed;
            continue;
        case lq::BatchStatus::Skipped:
            ++totals.skipped;
            break;
        }
        ++totals.measured;
        stored += double(record.bytesBefore);
        if (entry.quantized) {
            ++totals.quantized;
            totals.bytesBefore += record.bytesBefore;
            totals.bytesAfter += record.bytesAfter;
            packed += double(record.bytesAfter);
            errors.push_back(record.relError);
        }
    }
    if (totals.measured > 0)
        totals.meanStoredBytes = stored / totals.measured;
    if (!errors.empty()) {
        totals.meanPackedBytes = packed / double(errors.size());
        double sum = 0;
        for (double error : errors)
            sum += error;
        totals.errorMean = sum / double(errors.size());
        std::sort(errors.begin(), errors.end());
        totals.errorP50 = nearestRank(errors, 0.50);
        totals.errorP95 = nearestRank(errors, 0.95);
    }
    return totals;
}

FleetCapacity fleetCapacity(const FleetTotals& totals, double budgetBytes)
{
    FleetCapacity capacity;
    if (totals.meanStoredBytes > 0)
        capacity.stored = std::int64_t(std::floor(budgetBytes / totals.meanStoredBytes));
    if (totals.quantized > 0 && totals.meanPackedBytes > 0)
        capacity.packed = std::int64_t(std::floor(budgetBytes / totals.meanPackedBytes));
    return capacity;
}

std::vector<std::string> findAdapterFolders(const std::string& root,
                                            const std::function<bool()>& keepGoing)
{
    std::vector<std::string> folders;
    walkAdapterFolders(
        root,
        [&](std::string folder) {
            folders.push_back(std::move(folder));
            return true;
        },
        keepGoing, 0);
    std::sort(folders.begin(), folders.end());
    return folders;
}

// ---------------------------------------------------------------------------------------------

FleetDocument::FleetDocument(Kind kind, const QString& path, QObject* parent)
    : QObject(parent), m_kind(kind), m_path(path)
{}

FleetDocument::~FleetDocument() = default; // the job is a child: cancelled and joined

std::optional<FleetDocument::Kind> FleetDocument::kindOf(const QString& path)
{
    const QFileInfo info(path);
    if (!info.isDir())
        return std::nullopt;
    const fs::path folder = path.toStdString();
    if (roleOf(folder) != FolderRole::Other)
        return std::nullopt; // an adapter: opens as one, as it always did
    if (!QDir(path)
             .entryList({QStringLiteral("batch-summary*.jsonl")}, QDir::Files | QDir::Readable)
             .isEmpty())
        return Kind::BatchResults;
    bool any = false;
    walkAdapterFolders(
        path.toStdString(),
        [&](std::string) {
            any = true;
            return false;
        },
        {}, kProbeEntries);
    return any ? std::optional(Kind::AdapterFolder) : std::nullopt;
}

FleetLoadJob* FleetDocument::job() const
{
    return m_job;
}

QString FleetDocument::title() const
{
    const QString name = QFileInfo(m_path).fileName();
    return m_kind == Kind::BatchResults ? tr("Batch: %1").arg(name) : tr("Fleet: %1").arg(name);
}

void FleetDocument::load()
{
    if (m_job || m_listed)
        return;
    m_job = new FleetLoadJob(m_kind, m_path, this);
    FleetLoadJob* job = m_job;
    connect(job, &Job::progressed, this, &FleetDocument::takeOutput);
    connect(job, &Job::finished, this, [this, job](Job::Outcome outcome) {
        takeOutput();
        m_job = nullptr;
        job->deleteLater();
        emit loadFinished(outcome, job->errorMessage());
    });
    job->start();
    emit loadStarted(job);
}

void FleetDocument::takeOutput()
{
    if (!m_job)
        return;
    if (!m_listed) {
        std::optional<std::vector<FleetEntry>> listing = m_job->takeListing();
        if (!listing)
            return;
        m_entries = std::move(*listing);
        m_listed = true;
        m_totals = fleetTotals(m_entries);
        emit listed();
    }
    std::vector<FleetEntry> measured = m_job->takeMeasured(m_taken);
    if (measured.empty())
        return;
    const std::size_t first = m_taken;
    for (FleetEntry& entry : measured)
        m_entries[m_taken++] = std::move(entry);
    m_totals = fleetTotals(m_entries);
    emit rowsUpdated(int(first), int(m_taken) - 1);
}

QString FleetDocument::openPathFor(int row) const
{
    if (row < 0 || std::size_t(row) >= m_entries.size())
        return QString();
    const lq::BatchRecord& record = m_entries[std::size_t(row)].record;
    if (m_kind == Kind::BatchResults && !record.output.empty() &&
        record.status != lq::BatchStatus::Failed) {
        const QString output = QDir(m_path).filePath(QString::fromStdString(record.output));
        if (QFileInfo::exists(output))
            return output;
    }
    return QString::fromStdString(record.input);
}

} // namespace lq::gui
