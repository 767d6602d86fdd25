#include "planjob.h"

#include "core/io/error.h"
#include "core/packed/planfile.h"

namespace lq::gui {

struct PlanJob::Output
{
    lq::QuantSettings settings;
};

PlanJob::PlanJob(const QString& path, std::shared_ptr<const lq::Adapter> adapter, QObject* parent)
    : PlanJob(path, std::move(adapter), std::make_shared<Output>(), parent)
{}

PlanJob::PlanJob(const QString& path, std::shared_ptr<const lq::Adapter> adapter,
                 std::shared_ptr<Output> output, QObject* parent)
    : Job(
          tr("Reading the plan %1").arg(path),
          [file = path.toStdString(), adapter, output](const lq::ProgressFn& progress) {
              const lq::QuantPlan plan = lq::readQuantPlan(file);
              if (plan.settings.order != lq::ComponentOrder::Svd)
                  throw lq::Error(file, "the plan keeps the original components in " +
                                            toString(plan.settings.order) +
                                            " order (the paper's ablation); the workbench "
                                            "splits the SVD's components only");
              output->settings = plan.settingsFor(*adapter);
              return progress(1, 1);
          },
          parent),
      m_path(path), m_output(std::move(output))
{}

const lq::QuantSettings& PlanJob::settings() const
{
    return m_output->settings;
}

} // namespace lq::gui
