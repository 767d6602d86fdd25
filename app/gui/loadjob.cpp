#include "loadjob.h"

#include "core/engine/spectrumsummary.h"
#include "core/packed/packedfile.h"

namespace lq::gui {

struct LoadJob::Output
{
    std::shared_ptr<const lq::Adapter> adapter;
    std::vector<std::vector<double>> spectra;
    std::optional<PackedOrigin> packed;
};

namespace {

// The dequantized adapter of a packed file, in memory, with the settings and errors it stored.
// Dequantizing is one pass over the modules (progress `pass`); empty when cancelled.
std::optional<std::pair<lq::Adapter, PackedOrigin>> loadPacked(const std::string& file,
                                                               const lq::ProgressFn& pass)
{
    lq::PackedAdapter packed = lq::readPackedAdapter(file);
    std::optional<lq::AdapterConfig> config;
    if (packed.source.configJson)
        config = lq::parseAdapterConfig(*packed.source.configJson, file);
    PackedOrigin origin;
    origin.settings = packed.settings;
    origin.sourcePath = packed.source.path;
    origin.createdBy = packed.createdBy;
    origin.relErrTotal = packed.relErrTotal;
    origin.avgBitsTrue = packed.avgBitsTrue();
    std::vector<lq::LoraModule> modules;
    std::vector<lq::ModuleFactors> factors;
    const int count = int(packed.modules.size());
    for (int i = 0; i < count; ++i) {
        const lq::PackedModule& p = packed.modules[std::size_t(i)];
        lq::LoraModule module;
        module.name = p.name;
        module.keyA = p.keyA;
        module.keyB = p.keyB;
        module.dtype = p.dtypeB;
        // The scale comes from the stored config as it did for the source (fromFactors).
        modules.push_back(std::move(module));
        factors.push_back({lq::dequantizedB(p), lq::dequantizedA(p)});
        origin.settings.hOverride[p.name] = p.h;
        origin.settings.bitsHighOverride[p.name] = p.bitsHigh;
        origin.relErr.push_back(p.relErr);
        if (pass && !pass(i + 1, count))
            return std::nullopt;
    }
    return std::pair{
        // The source's non-LoRA tensors and metadata ride along, so that an export keeps them
        // as `loraquant unpack` does.
        lq::Adapter::fromFactors(file, std::move(modules), std::move(factors), std::move(config),
                                 std::move(packed.otherTensors), std::move(packed.source.metadata)),
        std::move(origin)};
}

} // namespace

LoadJob::LoadJob(const QString& path, QObject* parent)
    : LoadJob(path, std::make_shared<Output>(), parent)
{}

LoadJob::LoadJob(const QString& path, std::shared_ptr<Output> output, QObject* parent)
    : Job(
          tr("Opening %1").arg(path),
          [file = path.toStdString(), output](const lq::ProgressFn& progress) {
              std::shared_ptr<const lq::Adapter> adapter;
              lq::ProgressFn spectraProgress = progress;
              if (lq::isPackedAdapterPath(file)) {
                  // Two passes over the modules, reported as one: dequantize, then spectra.
                  auto loaded = loadPacked(
                      file, [&](int done, int total) { return progress(done, 2 * total); });
                  if (!loaded)
                      return false;
                  adapter = std::make_shared<const lq::Adapter>(std::move(loaded->first));
                  output->packed = std::move(loaded->second);
                  spectraProgress = [&](int done, int total) {
                      return progress(total + done, 2 * total);
                  };
              } else {
                  adapter = std::make_shared<const lq::Adapter>(lq::Adapter::load(file));
              }
              std::vector<lq::SpectrumSummary> spectra =
                  lq::adapterSpectra(*adapter, spectraProgress);
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

const std::optional<PackedOrigin>& LoadJob::packedOrigin() const
{
    return m_output->packed;
}

} // namespace lq::gui
