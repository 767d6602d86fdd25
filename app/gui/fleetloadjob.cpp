#include "fleetloadjob.h"

#include "core/io/adapterconfig.h"
#include "core/io/error.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace lq::gui {

namespace {

namespace fs = std::filesystem;

constexpr const char* kTensorFileName = "adapter_model.safetensors";
constexpr const char* kConfigFileName = "adapter_config.json";
// As the safetensors reader: a larger header is not a safetensors file.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
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
// reading its tensors. Throws lq::Error naming the file.
void readHeader(const std::string& file, lq::BatchRecord& record)
{
    std::error_code ec;
    // A FIFO or a device under the adapter's name would block the read.
    if (!fs::is_regular_file(file, ec))
        throw Error(file, "not a regular file");
    const std::uint64_t size = fs::file_size(file, ec);
    if (ec)
        throw Error(file, "cannot read the file size: " + ec.message());
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error(file, "cannot open the safetensors file");
    unsigned char lengthBytes[8] = {};
    if (size < 8 || !in.read(reinterpret_cast<char*>(lengthBytes), 8))
        throw Error(file, "too short for a safetensors file");
    std::uint64_t headerLength = 0;
    for (int i = 7; i >= 0; --i)
        headerLength = (headerLength << 8) | lengthBytes[i];
    if (headerLength > size - 8 || headerLength > kMaxHeaderBytes)
        throw Error(file, "the file looks incomplete (truncated) or is not safetensors: its "
                          "header length is larger than the file");
    std::string header(headerLength, '\0');
    if (!in.read(header.data(), std::streamsize(headerLength)))
        throw Error(file, "cannot read the JSON header");
    const nlohmann::json json = nlohmann::json::parse(header, nullptr, false);
    if (!json.is_object())
        throw Error(file, "malformed JSON header");

    std::map<std::string, int> seen; // prefix -> bit 1 for A, 2 for B
    std::uint64_t dataEnd = 0;
    for (const auto& [name, entry] : json.items()) {
        if (name == "__metadata__" || !entry.is_object())
            continue;
        const auto offsets = entry.find("data_offsets");
        const auto shape = entry.find("shape");
        if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
            shape == entry.end() || !shape->is_array())
            throw Error(file, "tensor '" + name + "' has no data_offsets or shape");
        const std::uint64_t begin = (*offsets)[0].get<std::uint64_t>();
        const std::uint64_t end = (*offsets)[1].get<std::uint64_t>();
        dataEnd = std::max(dataEnd, end);
        const auto [prefix, which] = factorOf(name);
        if (!which)
            continue;
        std::int64_t elements = 1;
        for (const auto& extent : *shape)
            elements *= extent.get<std::int64_t>();
        record.loraParameters += elements;
        record.bytesBefore += std::int64_t(end - begin);
        seen[prefix] |= which == 'A' ? 1 : 2;
    }
    if (dataEnd > size - 8 - headerLength)
        throw Error(file, "the file is truncated: its header describes more tensor data than "
                          "follows it");
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
        const fs::path config = fs::path(folder) / kConfigFileName;
        if (fs::exists(config, ec)) {
            const lq::AdapterConfig parsed = lq::readAdapterConfig(config.string());
            record.baseModel = parsed.baseModel.value_or(std::string());
        }
        const fs::path tensors = fs::path(folder) / kTensorFileName;
        if (!fs::exists(tensors, ec))
            throw Error(folder,
                        std::string("no adapter found: the folder has no ") + kTensorFileName);
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
