#pragma once

#include "core/engine/quantresult.h"
#include "core/io/adapter.h"
#include "core/packed/kernelvalidation.h"
#include "job.h"

#include <memory>
#include <optional>
#include <vector>

namespace lq::gui {

// Quantizes an adapter (or some of its modules) off the UI thread with the engine. Optionally,
// for a whole adapter, also validates the packed CPU kernels against their scalar reference
// (lq::packAdapter, then lq::validateKernels on seeded activations).
//
// Progress counts modules over every pass (LoRAQuant, validation). Cancelling
// stops at the next module; a cancelled job hands back nothing, so a caller never sees a partial
// result.
class QuantizeJob : public Job
{
    Q_OBJECT

public:
    struct Input
    {
        std::shared_ptr<const lq::Adapter> adapter;
        lq::QuantSettings settings;
        // Empty: every module, with lq::quantizeAdapter. Else only these modules, each with
        // lq::quantizeModule (h and bits as the settings choose them).
        std::vector<int> modules;
        bool validate = false; // whole adapter only
    };

    explicit QuantizeJob(Input input, QObject* parent = nullptr);

    bool isWholeAdapter() const { return m_modules.empty(); }
    bool validates() const { return m_validate; }
    const std::vector<int>& modules() const { return m_modules; }
    const lq::QuantSettings& settings() const { return m_settings; }

    // After a successful finish: the whole result (isWholeAdapter()) or the modules' results in
    // the order of modules().
    lq::QuantResult takeResult();
    std::vector<lq::ModuleResult> takeModuleResults();
    // Empty unless validation was asked for.
    std::optional<lq::KernelValidationResult> validation() const;

private:
    struct Output;
    QuantizeJob(Input input, std::shared_ptr<Output> output, QObject* parent);

    std::vector<int> m_modules;
    bool m_validate = false;
    lq::QuantSettings m_settings;
    std::shared_ptr<Output> m_output;
};

} // namespace lq::gui
