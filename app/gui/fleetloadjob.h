#pragma once

#include "fleetdocument.h"
#include "job.h"

#include <memory>
#include <vector>

namespace lq::gui {

// Loads a fleet off the UI thread. A batch output folder: lq::readBatchSummaries. A folder of
// adapters: findAdapterFolders lists them, then each adapter's config and safetensors header are
// read (a quick look: no tensor data is read or checked, that is what opening one does) for
// its base model, modules, LoRA parameters and stored bytes. Progress counts adapters read.
//
// The owner takes what is ready on each progressed() and after finished(): the listing once
// (takeListing), then the entries read so far in order (takeMeasured).
class FleetLoadJob : public Job
{
    Q_OBJECT

public:
    FleetLoadJob(FleetDocument::Kind kind, const QString& path, QObject* parent = nullptr);

    // The rows, once listed (else empty); the second call returns nothing.
    std::optional<std::vector<FleetEntry>> takeListing();
    // Entries from `from` to the last read so far, as many as are ready.
    std::vector<FleetEntry> takeMeasured(std::size_t from);

    // The quick look at one adapter folder (public for tests and benchmarks).
    static FleetEntry readAdapterFolder(const std::string& folder, const std::string& root);

private:
    struct Output;
    FleetLoadJob(FleetDocument::Kind kind, const QString& path, std::shared_ptr<Output> output,
                 QObject* parent);

    std::shared_ptr<Output> m_output;
};

} // namespace lq::gui
