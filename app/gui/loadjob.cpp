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

// The dequantized adapter of a packed file, with the settings and errors it stored. The adapter
// keeps the packed modules and decodes one whenever its factors are asked for (spectra, a
// quantization, an export), so it holds about a tenth of what float32 factors would take.
std::pair<lq::Adapter, PackedOrigin> loadPacked(const std::string& file)
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
    for (const lq::PackedModule& p : packed.modules) {
        lq::LoraModule module;
        module.name = p.name;
        module.keyA = p.keyA;
        module.keyB = p.keyB;
        module.dtype = p.dtypeB;
        module.m = p.m;
        module.n = p.n;
        module.r = p.r;
        // The scale comes from the stored config as it did for the source (fromSource).
        modules.push_back(std::move(module));
        origin.settings.hOverride[p.name] = p.h;
        origin.settings.bitsHighOverride[p.name] = p.bitsHigh;
        origin.relErr.push_back(p.relErr);
    }
    // The source's non-LoRA tensors and metadata ride along, so that an export keeps them as
    // `loraquant unpack` does.
    std::vector<lq::TensorData> otherTensors = std::move(packed.otherTensors);
    std::map<std::string, std::string> metadata = std::move(packed.source.metadata);
    auto held = std::make_shared<const std::vector<lq::PackedModule>>(std::move(packed.modules));
    const auto decode = [held](std::size_t i) {
        const lq::PackedModule& p = (*held)[i];
        return lq::ModuleFactors{lq::dequantizedB(p), lq::dequantizedA(p)};
    };
    return {lq::Adapter::fromSource(file, std::move(modules), decode, std::move(config),
                                    std::move(otherTensors), std::move(metadata)),
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
              if (lq::isPackedAdapterPath(file)) {
                  auto loaded = loadPacked(file);
                  adapter = std::make_shared<const lq::Adapter>(std::move(loaded.first));
                  output->packed = std::move(loaded.second);
              } else {
                  adapter = std::make_shared<const lq::Adapter>(lq::Adapter::load(file));
              }
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

const std::optional<PackedOrigin>& LoadJob::packedOrigin() const
{
    return m_output->packed;
}

} // namespace lq::gui
