#pragma once

#include "core/engine/quantsettings.h"
#include "core/io/adapter.h"
#include "job.h"

#include <memory>
#include <vector>

namespace lq::gui {

// Per-module relative errors of a whole-adapter baseline (no SVD, row-wise groups on B and A),
// and the group settings they were measured with.
struct BaselineErrors
{
    std::vector<double> perModule;
    double total = 0; // energy-weighted, sqrt(sum errSq / sum normSq)
    // Bits per weight, per module and on average, in both counts (the trade-off view and the
    // "worse than a baseline at the same bits" hint compare at these).
    std::vector<double> perModuleBitsPaper;
    std::vector<double> perModuleBitsTrue;
    double avgBitsPaper = 0;
    double avgBitsTrue = 0;
    int groupSize = 0;
    lq::ScaleFormat scaleFormat = lq::ScaleFormat::F16;

    // Whether these errors hold for `settings` (baselines have no h or bit width to follow).
    bool matches(const lq::QuantSettings& settings) const;
};

// The whole-adapter baselines the error view draws for comparison, RTN 2-bit and binary on the
// original factors: their errors only. They depend on the adapter and the group settings alone,
// so a document computes them after it has shown its result, not before: on a 7B adapter the
// two take about as long as the quantization itself.
//
// Progress counts modules over both. Cancelling stops at the next module and hands back nothing.
class BaselineJob : public Job
{
    Q_OBJECT

public:
    BaselineJob(std::shared_ptr<const lq::Adapter> adapter, const lq::QuantSettings& settings,
                QObject* parent = nullptr);

    // Whether the errors this job makes hold for `settings`.
    bool matches(const lq::QuantSettings& settings) const;

    // After a successful finish.
    const BaselineErrors& rtn2() const;
    const BaselineErrors& binary() const;

private:
    struct Output;
    BaselineJob(std::shared_ptr<const lq::Adapter> adapter, const lq::QuantSettings& settings,
                std::shared_ptr<Output> output, QObject* parent);

    std::shared_ptr<Output> m_output;
};

} // namespace lq::gui
