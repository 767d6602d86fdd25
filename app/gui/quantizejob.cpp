#include "quantizejob.h"

#include "core/engine/adapterquantizer.h"
#include "core/packed/packedformat.h"

namespace lq::gui {

struct QuantizeJob::Output
{
    lq::QuantResult result;
    std::vector<lq::ModuleResult> moduleResults;
    std::optional<lq::KernelValidationResult> validation;
};

QuantizeJob::QuantizeJob(Input input, QObject* parent)
    : QuantizeJob(input, std::make_shared<Output>(), parent)
{}

QuantizeJob::QuantizeJob(Input input, std::shared_ptr<Output> output, QObject* parent)
    : Job(
          input.modules.empty() ? tr("Quantizing")
                                : tr("Quantizing %n module(s)", nullptr, int(input.modules.size())),
          [input, output](const lq::ProgressFn& progress) {
              const lq::Adapter& adapter = *input.adapter;
              const int count =
                  input.modules.empty() ? int(adapter.modules().size()) : int(input.modules.size());
              const bool validate = input.validate && input.modules.empty();
              const int passes = validate ? 2 : 1;
              const int total = count * passes;
              // Each pass reports its own modules; offset them so the bar runs once over all.
              const auto pass = [&](int index) -> lq::ProgressFn {
                  return [&progress, index, count, total](int done, int) {
                      return progress(index * count + done, total);
                  };
              };
              if (input.modules.empty()) {
                  output->result = lq::quantizeAdapter(adapter, input.settings, pass(0));
                  if (output->result.cancelled)
                      return false;
              } else {
                  for (int i = 0; i < count; ++i) {
                      const std::size_t module = std::size_t(input.modules[std::size_t(i)]);
                      output->moduleResults.push_back(lq::quantizeModule(
                          adapter.modules()[module], adapter.factors(module), input.settings));
                      if (!progress(i + 1, total))
                          return false;
                  }
              }
              if (validate) {
                  const lq::PackedAdapter packed = lq::packAdapter(adapter, output->result);
                  // The window shows the verdict, not the kernel's speed: one timed run is enough.
                  lq::KernelValidationSettings checks;
                  checks.timingRuns = 1;
                  lq::KernelValidationResult checked =
                      lq::validateKernels(packed, checks, pass(passes - 1));
                  if (checked.cancelled)
                      return false;
                  output->validation = std::move(checked);
              }
              return true;
          },
          parent),
      m_modules(input.modules), m_validate(input.validate && input.modules.empty()),
      m_settings(input.settings), m_output(std::move(output))
{}

lq::QuantResult QuantizeJob::takeResult()
{
    return std::move(m_output->result);
}

std::vector<lq::ModuleResult> QuantizeJob::takeModuleResults()
{
    return std::move(m_output->moduleResults);
}

std::optional<lq::KernelValidationResult> QuantizeJob::validation() const
{
    return m_output->validation;
}

} // namespace lq::gui
