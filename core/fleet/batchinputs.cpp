#include "core/fleet/batchinputs.h"

#include "core/io/error.h"
#include "core/io/textfile.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

namespace lq {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTensorFile = "adapter_model.safetensors";
constexpr const char* kConfigFile = "adapter_config.json";

bool endsWith(const std::string& text, const std::string& suffix)
{
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string canonicalKey(const fs::path& path)
{
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(path, ec);
    return (ec ? fs::absolute(path, ec).lexically_normal() : canonical).generic_string();
}

// The last name of `path`, resolving "." and a trailing '/'.
std::string lastName(const fs::path& path)
{
    fs::path normal = path.lexically_normal();
    if (normal.has_filename() && normal.filename() != "." && normal.filename() != "..")
        return normal.filename().string();
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(path, ec);
    const std::string name = canonical.filename().string();
    return name.empty() ? "adapter" : name;
}

bool isTensorFileName(const std::string& name)
{
    return endsWith(name, ".safetensors");
}

// What one root or line is, and the adapter path it stands for.
enum class RootKind
{
    Adapter,
    Folder,
    Missing,
};

struct Classified
{
    RootKind kind = RootKind::Missing;
    fs::path adapter; // the adapter's folder or loose tensor file
    bool looseFile = false;
};

Classified classify(const fs::path& path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        return {RootKind::Missing, path, isTensorFileName(path.filename().string())};
    if (fs::is_directory(status)) {
        if (isAdapterFolder(path.string()))
            return {RootKind::Adapter, path, false};
        return {RootKind::Folder, path, false};
    }
    const std::string name = path.filename().string();
    if (name == kConfigFile || name == kTensorFile) {
        fs::path folder = path.parent_path();
        return {RootKind::Adapter, folder.empty() ? fs::path(".") : folder, false};
    }
    // Any other file: the reader says whether it is a tensor file.
    return {RootKind::Adapter, path, true};
}

// A loose tensor file's output is named without ".safetensors".
std::string stripTensorExtension(std::string name)
{
    if (endsWith(name, ".safetensors"))
        name.resize(name.size() - std::string(".safetensors").size());
    return name;
}

struct Found
{
    std::string path;
    std::string relative;
    std::string key;
};

class Discovery
{
public:
    explicit Discovery(const std::string& outdir)
        : m_outdirKey(outdir.empty() ? std::string() : canonicalKey(outdir))
    {}

    void addRoot(const fs::path& path, const std::string& adapterName, const std::string& prefix)
    {
        const Classified c = classify(path);
        switch (c.kind) {
        case RootKind::Missing:
        case RootKind::Adapter:
            add(c.adapter, c.looseFile ? stripTensorExtension(adapterName) : adapterName);
            break;
        case RootKind::Folder: {
            const std::string key = canonicalKey(path);
            if (!m_outdirKey.empty() && key == m_outdirKey)
                throw Error(path.string(), "the output folder is this INPUT folder; choose an "
                                           "output folder outside the inputs");
            const std::size_t before = m_found.size();
            m_visited.clear();
            m_visited.insert(key);
            search(path, prefix);
            if (m_found.size() == before)
                m_warnings.push_back(path.string() + ": no adapters found in this folder");
            break;
        }
        }
    }

    BatchInputList finish()
    {
        // One entry per adapter, under its smallest name, whatever the order of the roots.
        std::map<std::string, std::size_t> byKey;
        for (std::size_t i = 0; i < m_found.size(); ++i) {
            const auto [it, inserted] = byKey.try_emplace(m_found[i].key, i);
            if (!inserted && m_found[i].relative < m_found[it->second].relative)
                it->second = i;
        }
        BatchInputList list;
        list.warnings = std::move(m_warnings);
        for (const auto& [key, index] : byKey) {
            const Found& found = m_found[index];
            if (!m_outdirKey.empty() && (m_outdirKey == key || m_outdirKey.starts_with(key + "/")))
                throw Error(found.path, "the output folder is inside this input adapter; choose "
                                        "an output folder outside the inputs");
            list.inputs.push_back({found.path, found.relative});
        }
        std::sort(list.inputs.begin(), list.inputs.end(),
                  [](const BatchInput& a, const BatchInput& b) { return a.relative < b.relative; });
        for (std::size_t i = 1; i < list.inputs.size(); ++i)
            if (list.inputs[i].relative == list.inputs[i - 1].relative)
                throw Error(list.inputs[i].path,
                            "has the same output name \"" + list.inputs[i].relative + "\" as " +
                                list.inputs[i - 1].path +
                                "; give them separate batches or -o folders, or list them in a "
                                "manifest by their paths");
        return list;
    }

private:
    void add(const fs::path& adapter, const std::string& relative)
    {
        m_found.push_back({adapter.string(), relative, canonicalKey(adapter)});
    }

    void search(const fs::path& folder, const std::string& prefix)
    {
        std::error_code ec;
        std::vector<fs::path> entries;
        for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
            entries.push_back(it->path());
        if (ec) {
            m_warnings.push_back(folder.string() + ": cannot list this folder: " + ec.message());
            return;
        }
        std::sort(entries.begin(), entries.end());
        for (const fs::path& entry : entries) {
            const std::string name = entry.filename().string();
            const std::string relative = prefix.empty() ? name : prefix + "/" + name;
            std::error_code statError;
            if (fs::is_directory(entry, statError)) {
                if (name.starts_with("."))
                    continue;
                const std::string key = canonicalKey(entry);
                if ((!m_outdirKey.empty() && key == m_outdirKey) || !m_visited.insert(key).second)
                    continue; // the output folder, or a folder a link already led to
                if (isAdapterFolder(entry.string()))
                    add(entry, relative);
                else
                    search(entry, relative);
            } else if (isTensorFileName(name) && !name.starts_with(".")) {
                add(entry, stripTensorExtension(relative));
            }
        }
    }

    std::string m_outdirKey;
    std::vector<Found> m_found;
    std::vector<std::string> m_warnings;
    std::set<std::string> m_visited;
};

// How a manifest line names its adapter: the line's path, relative to the manifest's folder.
std::string manifestName(const fs::path& line, const fs::path& manifestFolder)
{
    fs::path relative = line.lexically_normal();
    if (line.is_absolute()) {
        std::error_code ec;
        const fs::path inside = fs::weakly_canonical(line, ec).lexically_relative(
            fs::weakly_canonical(manifestFolder.empty() ? fs::path(".") : manifestFolder, ec));
        relative = !inside.empty() && *inside.begin() != ".."
                       ? inside
                       : line.lexically_normal().relative_path();
    }
    std::string name = relative.generic_string();
    // Out of the manifest's folder ("../x"): the parts after the ".." still tell them apart.
    while (name.starts_with("../"))
        name.erase(0, 3);
    while (endsWith(name, "/"))
        name.pop_back();
    static const std::string configSuffix = std::string("/") + kConfigFile;
    static const std::string tensorSuffix = std::string("/") + kTensorFile;
    if (endsWith(name, configSuffix) || endsWith(name, tensorSuffix))
        name.erase(name.rfind('/'));
    if (name.empty() || name == "." || name == "..")
        name = lastName(manifestFolder.empty() ? fs::path(".") : manifestFolder);
    return name;
}

std::string trim(const std::string& text)
{
    const auto begin = text.find_first_not_of(" \t\r");
    if (begin == std::string::npos)
        return {};
    const auto end = text.find_last_not_of(" \t\r");
    return text.substr(begin, end - begin + 1);
}

} // namespace

bool isAdapterFolder(const std::string& folder)
{
    std::error_code ec;
    return fs::exists(fs::path(folder) / kConfigFile, ec) ||
           fs::exists(fs::path(folder) / kTensorFile, ec);
}

BatchInputList discoverBatchInputs(const std::vector<std::string>& roots,
                                   const std::vector<std::string>& manifests,
                                   const std::string& outdir)
{
    Discovery discovery(outdir);
    for (const std::string& root : roots) {
        const fs::path path(root);
        std::string name = lastName(path);
        const std::string file = path.filename().string();
        if (file == kConfigFile || file == kTensorFile)
            name = lastName(path.parent_path().empty() ? fs::path(".") : path.parent_path());
        discovery.addRoot(path, name, "");
    }
    for (const std::string& manifest : manifests) {
        const std::string text = readTextFile(manifest, "manifest");
        const fs::path folder = fs::path(manifest).parent_path();
        std::size_t begin = 0;
        while (begin < text.size()) {
            std::size_t end = text.find('\n', begin);
            if (end == std::string::npos)
                end = text.size();
            const std::string line = trim(text.substr(begin, end - begin));
            begin = end + 1;
            if (line.empty() || line.starts_with("#"))
                continue;
            const fs::path linePath(line);
            const fs::path path = linePath.is_absolute() ? linePath : folder / linePath;
            const std::string name = manifestName(linePath, folder);
            discovery.addRoot(path, name, name);
        }
    }
    return discovery.finish();
}

std::optional<Shard> parseShard(const std::string& text)
{
    const auto slash = text.find('/');
    if (slash == std::string::npos)
        return std::nullopt;
    Shard shard;
    const char* begin = text.data();
    const auto [endIndex, ec1] = std::from_chars(begin, begin + slash, shard.index);
    const auto [endCount, ec2] =
        std::from_chars(begin + slash + 1, begin + text.size(), shard.count);
    if (ec1 != std::errc() || ec2 != std::errc() || endIndex != begin + slash ||
        endCount != begin + text.size() || shard.count < 1 || shard.index < 1 ||
        shard.index > shard.count)
        return std::nullopt;
    return shard;
}

namespace {

std::optional<long long> environmentNumber(EnvironmentLookup lookup, const char* name)
{
    const auto text = lookup(name);
    if (!text || text->empty())
        return std::nullopt;
    long long value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || value < 0)
        throw Error("environment",
                    std::string(name) + "='" + *text + "' is not a non-negative whole number");
    return value;
}

} // namespace

std::optional<Shard> shardFromEnvironment(EnvironmentLookup lookup, std::optional<int> count)
{
    if (const auto id = environmentNumber(lookup, "SLURM_ARRAY_TASK_ID")) {
        const auto min = environmentNumber(lookup, "SLURM_ARRAY_TASK_MIN");
        const auto max = environmentNumber(lookup, "SLURM_ARRAY_TASK_MAX");
        const auto tasks = environmentNumber(lookup, "SLURM_ARRAY_TASK_COUNT");
        long long first = min.value_or(0);
        long long total = 0;
        if (max)
            total = *max - first + 1;
        else if (tasks)
            total = *tasks;
        if (count)
            total = *count;
        if (total < 1)
            throw Error("environment", "SLURM_ARRAY_TASK_ID is set but neither "
                                       "SLURM_ARRAY_TASK_MAX nor SLURM_ARRAY_TASK_COUNT: give "
                                       "--shard I/N");
        if (!count && tasks && max && *tasks != total)
            throw Error("environment",
                        "the job array's ids are not one range (SLURM_ARRAY_TASK_MIN " +
                            std::to_string(first) + ", MAX " + std::to_string(*max) + ", COUNT " +
                            std::to_string(*tasks) + "): give --shard I/N");
        const long long index = *id - first + 1;
        if (index < 1 || index > total)
            throw Error("environment", "SLURM_ARRAY_TASK_ID " + std::to_string(*id) +
                                           " is outside the array " + std::to_string(first) + ".." +
                                           std::to_string(first + total - 1));
        return Shard{int(index), int(total)};
    }
    if (const auto index = environmentNumber(lookup, "JOB_COMPLETION_INDEX")) {
        std::optional<long long> total = count;
        if (!total)
            total = environmentNumber(lookup, "LQ_SHARD_COUNT");
        if (!total || *total < 1)
            throw Error("environment", "JOB_COMPLETION_INDEX is set: give the number of shards "
                                       "(the Job's completions) with --shard-count N or "
                                       "LQ_SHARD_COUNT");
        if (*index >= *total)
            throw Error("environment", "JOB_COMPLETION_INDEX " + std::to_string(*index) +
                                           " is not below the shard count " +
                                           std::to_string(*total));
        return Shard{int(*index + 1), int(*total)};
    }
    return std::nullopt;
}

std::vector<BatchInput> selectShard(const std::vector<BatchInput>& inputs, Shard shard)
{
    std::vector<BatchInput> selected;
    for (std::size_t i = std::size_t(shard.index - 1); i < inputs.size();
         i += std::size_t(shard.count))
        selected.push_back(inputs[i]);
    return selected;
}

BatchOutputNames batchOutputNames(const std::string& outdir, const std::string& relative)
{
    const std::string base = (fs::path(outdir) / relative).string();
    return {base + ".lqa.h5", base + ".peft", base + ".report.json", base + ".fingerprint.json"};
}

AdapterFiles adapterFilesOf(const std::string& input)
{
    const fs::path path(input);
    std::error_code ec;
    if (fs::is_directory(path, ec))
        return {(path / kTensorFile).string(), (path / kConfigFile).string()};
    if (path.filename() == kConfigFile)
        return {(path.parent_path() / kTensorFile).string(), input};
    return {input, (path.parent_path() / kConfigFile).string()};
}

} // namespace lq
