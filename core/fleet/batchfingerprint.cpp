#include "core/fleet/batchfingerprint.h"

#include "core/io/error.h"
#include "core/io/jsonoutput.h"
#include "core/packed/sha256.h"

#include <filesystem>
#include <sys/stat.h>

namespace lq {

namespace {
constexpr const char* kFormat = "loraquant-batch-fingerprint";
constexpr int kVersion = 1;
} // namespace

std::string fingerprintJson(const BatchFingerprint& f)
{
    nlohmann::ordered_json json;
    json["format"] = kFormat;
    json["version"] = kVersion;
    json["tool"] = f.tool;
    json["tensor_sha256"] = f.tensorSha256;
    json["tensor_bytes"] = f.tensorBytes;
    json["tensor_mtime_ns"] = f.tensorMtimeNs;
    json["config_sha256"] = f.configSha256;
    json["recipe"] = f.recipe;
    json["packed_bytes"] = f.packedBytes;
    json["peft"] = f.peft;
    json["report"] = f.report;
    json["record"] = nlohmann::ordered_json::parse(batchRecordLine(f.record));
    return outputJson(json, 2) + "\n";
}

BatchFingerprint parseFingerprint(const std::string& text, const std::string& file)
{
    const nlohmann::ordered_json json = nlohmann::ordered_json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object())
        throw Error(file, "not a batch fingerprint (JSON object)");
    try {
        if (json.at("format") != kFormat || json.at("version") != kVersion)
            throw Error(file, "not a batch fingerprint of version " + std::to_string(kVersion));
        BatchFingerprint f;
        f.tool = json.at("tool").get<std::string>();
        f.tensorSha256 = json.at("tensor_sha256").get<std::string>();
        f.tensorBytes = json.at("tensor_bytes").get<std::uint64_t>();
        f.tensorMtimeNs = json.at("tensor_mtime_ns").get<std::int64_t>();
        f.configSha256 = json.at("config_sha256").get<std::string>();
        f.recipe = json.at("recipe");
        f.packedBytes = json.at("packed_bytes").get<std::uint64_t>();
        f.peft = json.at("peft").get<bool>();
        f.report = json.at("report").get<bool>();
        f.record = parseBatchRecord(json.at("record").dump(), file, 1);
        return f;
    } catch (const nlohmann::json::exception& e) {
        throw Error(file, std::string("not a batch fingerprint: ") + e.what());
    }
}

std::optional<FileStamp> fileStamp(const std::string& path)
{
    struct stat info
    {
    };
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
        return std::nullopt;
    return FileStamp{std::uint64_t(info.st_size),
                     std::int64_t(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec};
}

std::string sha256OrEmpty(const std::string& path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return {};
    return sha256File(path);
}

} // namespace lq
