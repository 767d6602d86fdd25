#include "baselinejob.h"

#include "core/engine/baseline.h"

namespace lq::gui {

bool BaselineErrors::matches(const lq::QuantSettings& settings) const
{
    return groupSize == settings.groupSize && scaleFormat == settings.scaleFormat;
}

struct BaselineJob::Output
{
    BaselineErrors rtn2;
    BaselineErrors binary;
};

BaselineJob::BaselineJob(std::shared_ptr<const lq::Adapter> adapter,
                         const lq::QuantSettings& settings, QObject* parent)
    : BaselineJob(std::move(adapter), settings, std::make_shared<Output>(), parent)
{}

BaselineJob::BaselineJob(std::shared_ptr<const lq::Adapter> adapter,
                         const lq::QuantSettings& settings, std::shared_ptr<Output> output,
                         QObject* parent)
    : Job(
          tr("Measuring the whole-adapter baselines"),
          [adapter, groupSize = settings.groupSize, scaleFormat = settings.scaleFormat,
           output](const lq::ProgressFn& progress) {
              const int count = int(adapter->modules().size());
              // Only the errors are kept, so each baseline's codes are freed before the next is
              // made: on a large adapter each is as big as the result.
              const auto errorsOf = [&](lq::BaselineMethod method, int pass,
                                        BaselineErrors& errors) {
                  lq::BaselineSettings baseline;
                  baseline.method = method;
                  baseline.bits = 2;
                  baseline.groupSize = groupSize;
                  baseline.scaleFormat = scaleFormat;
                  const lq::QuantResult result =
                      lq::quantizeBaseline(*adapter, baseline, [&](int done, int) {
                          return progress(pass * count + done, 2 * count);
                      });
                  if (result.cancelled)
                      return false;
                  errors.total = result.relErrTotal;
                  errors.avgBitsPaper = result.avgBitsPaper;
                  errors.avgBitsTrue = result.avgBitsTrue;
                  for (const lq::ModuleResult& module : result.modules) {
                      errors.perModule.push_back(module.relErr);
                      const double weights = double(module.r) * double(module.m + module.n);
                      errors.perModuleBitsPaper.push_back(weights > 0 ? module.bitsPaper / weights
                                                                      : 0.0);
                      errors.perModuleBitsTrue.push_back(weights > 0 ? module.bitsTrue / weights
                                                                     : 0.0);
                  }
                  return true;
              };
              return errorsOf(lq::BaselineMethod::Rtn, 0, output->rtn2) &&
                     errorsOf(lq::BaselineMethod::Binary, 1, output->binary);
          },
          parent),
      m_output(std::move(output))
{
    // Set before the work starts; the work fills in the errors.
    m_output->rtn2.groupSize = m_output->binary.groupSize = settings.groupSize;
    m_output->rtn2.scaleFormat = m_output->binary.scaleFormat = settings.scaleFormat;
}

bool BaselineJob::matches(const lq::QuantSettings& settings) const
{
    return m_output->rtn2.matches(settings);
}

const BaselineErrors& BaselineJob::rtn2() const
{
    return m_output->rtn2;
}

const BaselineErrors& BaselineJob::binary() const
{
    return m_output->binary;
}

} // namespace lq::gui
