#pragma once

#include "core/engine/quantsettings.h"
#include "core/io/adapter.h"
#include "job.h"

#include <memory>

namespace lq::gui {

// Reads a quantization plan (core/engine/quantplan.h: a packed adapter or a JSON report) and
// turns it into settings for one open adapter: every module's h and width as overrides, the
// plan's groups, scales and refinement. Off the UI thread, because a packed file of a 7B
// adapter is tens of megabytes of codes read and checked before its table can be trusted.
//
// Fails, naming the plan's file, when the plan does not fit the adapter (modules or ranks
// differ) or keeps the original components instead of the SVD's (the workbench shows SVD
// splits only).
class PlanJob : public Job
{
    Q_OBJECT

public:
    PlanJob(const QString& path, std::shared_ptr<const lq::Adapter> adapter,
            QObject* parent = nullptr);

    const QString& path() const { return m_path; }
    // After a successful finish.
    const lq::QuantSettings& settings() const;

private:
    struct Output;
    PlanJob(const QString& path, std::shared_ptr<const lq::Adapter> adapter,
            std::shared_ptr<Output> output, QObject* parent);

    QString m_path;
    std::shared_ptr<Output> m_output;
};

} // namespace lq::gui
