#pragma once

#include "core/engine/quantsettings.h"
#include "core/io/adapter.h"
#include "job.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lq::gui {

// What a document opened from a packed .lqa.h5 file keeps of it. The document's adapter is the
// dequantized one (B_hat, A_hat as float32, bit for bit what the file's codes decode to); the
// source adapter itself is not in the file, so these are the only figures measured against it.
struct PackedOrigin
{
    // The settings the file was written with, with every module's stored h and high bit width
    // as overrides (the file keeps them per module, not the rule that chose them).
    lq::QuantSettings settings;
    std::string sourcePath; // the source adapter as the file names it
    std::string createdBy;
    double relErrTotal = 0;     // energy-weighted total error against the source
    std::vector<double> relErr; // per module, against the source, in module order
    double avgBitsTrue = 0;     // as stored
};

// Opens an adapter off the UI thread: lq::Adapter::load (validates the file, scans every factor
// for NaN and Inf) and the singular values of every module (lq::adapterSpectra), which the
// spectrum view and the budget allocation need. A packed .lqa.h5 file (lq::isPackedAdapterPath)
// is read and validated with lq::readPackedAdapter into an adapter whose path is the packed file
// and whose factors are its modules decoded on demand; packedOrigin() then says what the file
// stored.
class LoadJob : public Job
{
    Q_OBJECT

public:
    LoadJob(const QString& path, QObject* parent = nullptr);

    const QString& path() const { return m_path; }
    // After a successful finish.
    std::shared_ptr<const lq::Adapter> adapter() const;
    std::vector<std::vector<double>> takeSpectra();
    const std::optional<PackedOrigin>& packedOrigin() const;

private:
    struct Output;
    LoadJob(const QString& path, std::shared_ptr<Output> output, QObject* parent);

    QString m_path;
    std::shared_ptr<Output> m_output;
};

} // namespace lq::gui
