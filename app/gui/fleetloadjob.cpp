#include "fleetloadjob.h"

#include "core/io/adapterconfig.h"
#include "core/io/error.h"
#include "core/io/safetensors.h"

#include <filesystem>
#include <map>
#include <mutex>

namespace lq::gui {

namespace {

namespace fs = std::filesystem;

// Adapters read between two hand-overs to the UI thread: small enough for the rows to fill in
// visibly, large enough that 10,000 rows cost a few dozen model updates.
constexpr std::size_t kChunk = 256;

// The prefix of a LoRA factor's name and which factor it is ('A', 'B'), or 0 for another tensor.
// Looser than the loader's pairing: it only has to count.
std::pair<std::string, char> factorOf(const std::string& name)
{
    for (const char* marker : {".lora_A", ".lora_embedding_A", ".lora_B", ".lora_embedding_B"}) {
        const std::size_t at = name.find(marker);
        if (at != std::string::npos)
            return {name.substr(0, at), marker[std::char_traits<char>::length(marker) - 1]};
    }
    return {std::string(), 0};
}

// Modules, LoRA parameters and stored LoRA bytes from the header of a safetensors file, without
// reading its tensors; the header gets every check of the full reader. Throws lq::Error naming
// the file.
void readHeader(const std::string& file, lq::BatchRecord& record)
{
    const lq::SafetensorsFile header = lq::SafetensorsFile::openHeader(file);
    std::map<std::string, int> seen; // prefix -> bit 1 for A, 2 for B
    for (const lq::TensorEntry& entry : header.tensors()) {
        const auto [prefix, which] = factorOf(entry.name);
        if (!which)
            continue;
        record.loraParameters += entry.elementCount();
        record.bytesBefore += std::int64_t(entry.end - entry.begin);
        seen[prefix] |= which == 'A' ? 1 : 2;
    }
    for (const auto& [prefix, bits] : seen)
        record.modules += bits == 3 ? 1 : 0;
    if (record.modules == 0)
        throw Error(file, "no LoRA pairs (lora_A with lora_B) in the file");
}

} // namespace

FleetEntry FleetLoadJob::readAdapterFolder(const std::string& folder, const std::string& root)
{
    FleetEntry entry;
    lq::BatchRecord& record = entry.record;
    record.input = folder;
    std::error_code ec;
    record.relative = fs::path(folder).lexically_relative(root).generic_string();
    try {
        const fs::path config = fs::path(folder) / kFleetConfigFileName;
        if (fs::exists(config, ec)) {
            const lq::AdapterConfig parsed = lq::readAdapterConfig(config.string());
            record.baseModel = parsed.baseModel.value_or(std::string());
        }
        const fs::path tensors = fs::path(folder) / kFleetTensorFileName;
        if (!fs::exists(tensors, ec))
            throw Error(folder,
                        std::string("no adapter found: the folder has no ") + kFleetTensorFileName);
        readHeader(tensors.string(), record);
        record.status = lq::BatchStatus::Ok;
    } catch (const std::exception& error) {
        record.status = lq::BatchStatus::Failed;
        record.error = error.what();
    }
    return entry;
}

struct FleetLoadJob::Output
{
    std::mutex mutex;
    std::optional<std::vector<FleetEntry>> listing;
    std::vector<FleetEntry> measured; // by row; [0, ready) are read
    std::size_t ready = 0;
};

FleetLoadJob::FleetLoadJob(FleetDocument::Kind kind, const QString& path, QObject* parent)
    : FleetLoadJob(kind, path, std::make_shared<Output>(), parent)
{}

FleetLoadJob::FleetLoadJob(FleetDocument::Kind kind, const QString& path,
                           std::shared_ptr<Output> output, QObject* parent)
    : Job(
          kind == FleetDocument::Kind::BatchResults
              ? tr("Reading the batch results in %1").arg(path)
              : tr("Reading the adapters in %1").arg(path),
          [kind, root = path.toStdString(), output](const lq::ProgressFn& progress) {
              if (kind == FleetDocument::Kind::BatchResults) {
                  std::vector<lq::BatchRecord> records = lq::readBatchSummaries(root);
                  std::vector<FleetEntry> entries(records.size());
                  for (std::size_t i = 0; i < records.size(); ++i) {
                      entries[i].quantized = records[i].status != lq::BatchStatus::Failed;
                      entries[i].record = std::move(records[i]);
                  }
                  std::lock_guard lock(output->mutex);
                  output->listing = std::move(entries);
                  return true;
              }
              bool cancelled = false;
              const std::vector<std::string> folders = findAdapterFolders(root, [&] {
                  cancelled = !progress(0, 0);
                  return !cancelled;
              });
              if (cancelled)
                  return false;
              std::vector<FleetEntry> listing(folders.size());
              for (std::size_t i = 0; i < folders.size(); ++i) {
                  listing[i].pending = true;
                  listing[i].record.input = folders[i];
                  listing[i].record.relative =
                      fs::path(folders[i]).lexically_relative(root).generic_string();
              }
              {
                  std::lock_guard lock(output->mutex);
                  output->listing = std::move(listing);
                  output->measured.resize(folders.size());
              }
              const int total = int(folders.size());
              if (!progress(0, total))
                  return false;
              for (std::size_t begin = 0; begin < folders.size(); begin += kChunk) {
                  const std::size_t end = std::min(folders.size(), begin + kChunk);
                  std::vector<FleetEntry> chunk;
                  chunk.reserve(end - begin);
                  for (std::size_t i = begin; i < end; ++i)
                      chunk.push_back(readAdapterFolder(folders[i], root));
                  {
                      std::lock_guard lock(output->mutex);
                      std::move(chunk.begin(), chunk.end(),
                                output->measured.begin() + std::ptrdiff_t(begin));
                      output->ready = end;
                  }
                  if (!progress(int(end), total))
                      return false;
              }
              return true;
          },
          parent),
      m_output(std::move(output))
{}

std::optional<std::vector<FleetEntry>> FleetLoadJob::takeListing()
{
    std::lock_guard lock(m_output->mutex);
    return std::exchange(m_output->listing, std::nullopt);
}

std::vector<FleetEntry> FleetLoadJob::takeMeasured(std::size_t from)
{
    std::lock_guard lock(m_output->mutex);
    std::vector<FleetEntry> taken;
    for (std::size_t i = from; i < m_output->ready; ++i)
        taken.push_back(std::move(m_output->measured[i]));
    return taken;
}

} // namespace lq::gui
