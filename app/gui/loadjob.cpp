#include "loadjob.h"

#include "core/engine/spectrumsummary.h"

namespace lq::gui {

struct LoadJob::Output
{
    std::shared_ptr<const lq::Adapter> adapter;
    std::vector<std::vector<double>> spectra;
};

LoadJob::LoadJob(const QString& path, QObject* parent)
    : LoadJob(path, std::make_shared<Output>(), parent)
{}

LoadJob::LoadJob(const QString& path, std::shared_ptr<Output> output, QObject* parent)
    : Job(
          tr("Opening %1").arg(path),
          [file = path.toStdString(), output](const lq::ProgressFn& progress) {
              auto adapter = std::make_shared<const lq::Adapter>(lq::Adapter::load(file));
              std::vector<lq::SpectrumSummary> spectra = lq::adapterSpectra(*adapter, progress);
              if (spectra.size() != adapter->modules().size())
                  return false; // cancelled
              output->spectra.reserve(spectra.size());
              for (lq::SpectrumSummary& spectrum : spectra)
                  output->spectra.push_back(std::move(spectrum.singularValues));
              output->adapter = std::move(adapter);
              return true;
          },
          parent),
      m_path(path), m_output(std::move(output))
{}

std::shared_ptr<const lq::Adapter> LoadJob::adapter() const
{
    return m_output->adapter;
}

std::vector<std::vector<double>> LoadJob::takeSpectra()
{
    return std::move(m_output->spectra);
}

} // namespace lq::gui
