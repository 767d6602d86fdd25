#pragma once

#include "core/io/adapter.h"
#include "job.h"

#include <memory>
#include <vector>

namespace lq::gui {

// Opens an adapter off the UI thread: lq::Adapter::load (validates the file, scans every factor
// for NaN and Inf) and the singular values of every module (lq::adapterSpectra), which the
// spectrum view and the budget allocation need.
class LoadJob : public Job
{
    Q_OBJECT

public:
    LoadJob(const QString& path, QObject* parent = nullptr);

    const QString& path() const { return m_path; }
    // After a successful finish.
    std::shared_ptr<const lq::Adapter> adapter() const;
    std::vector<std::vector<double>> takeSpectra();

private:
    struct Output;
    LoadJob(const QString& path, std::shared_ptr<Output> output, QObject* parent);

    QString m_path;
    std::shared_ptr<Output> m_output;
};

} // namespace lq::gui
