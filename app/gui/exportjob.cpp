#include "exportjob.h"

#include "core/engine/adapterquantizer.h"
#include "core/engine/dequantizedadapter.h"
#include "core/engine/report.h"
#include "core/io/error.h"
#include "core/packed/packedfile.h"

#include <filesystem>

namespace lq::gui {

namespace {

// True when writing `target` would replace one of the adapter's own files.
bool isInputFile(const std::string& target, const lq::Adapter& adapter)
{
    namespace fs = std::filesystem;
    std::error_code error;
    const fs::path canonicalTarget = fs::weakly_canonical(target, error);
    if (error)
        return false;
    for (const std::string& input : {adapter.path(), adapter.safetensorsPath()}) {
        if (input.empty())
            continue;
        const fs::path canonicalInput = fs::weakly_canonical(input, error);
        if (!error && canonicalInput == canonicalTarget)
            return true;
    }
    const fs::path config =
        fs::path(adapter.safetensorsPath()).parent_path() / "adapter_config.json";
    return !adapter.safetensorsPath().empty() &&
           fs::weakly_canonical(config, error) == canonicalTarget;
}

} // namespace

QString ExportJob::kindName(Kind kind)
{
    switch (kind) {
    case Kind::PeftAdapter:
        return tr("dequantized PEFT adapter");
    case Kind::Report:
        return tr("report");
    case Kind::Packed:
        return tr("packed adapter");
    }
    return {};
}

ExportJob::ExportJob(Input input, QObject* parent)
    : Job(
          tr("Exporting %1").arg(kindName(input.kind)),
          [input](const lq::ProgressFn& progress) {
              const std::string path = input.path.toStdString();
              const lq::Adapter& adapter = *input.adapter;
              // Refuse before the work, not after it.
              if (input.kind != Kind::PeftAdapter && isInputFile(path, adapter))
                  throw lq::Error(path, "refusing to overwrite the input adapter");
              std::shared_ptr<const lq::QuantResult> result = input.result;
              if (!result) {
                  auto computed = std::make_shared<lq::QuantResult>(
                      lq::quantizeAdapter(adapter, input.settings, progress));
                  if (computed->cancelled)
                      return false;
                  result = std::move(computed);
              }
              switch (input.kind) {
              case Kind::PeftAdapter: {
                  lq::writeDequantizedAdapter(path, adapter, *result);
                  break;
              }
              case Kind::Report:
                  lq::writeReport(path, *result);
                  break;
              case Kind::Packed:
                  lq::exportPackedAdapter(path, adapter, *result);
                  break;
              }
              return true;
          },
          parent),
      m_kind(input.kind), m_path(input.path)
{}

} // namespace lq::gui
