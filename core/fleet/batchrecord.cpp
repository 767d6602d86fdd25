#include "core/fleet/batchrecord.h"

#include "core/io/error.h"
#include "core/io/jsonoutput.h"
#include "core/io/jsontext.h"
#include "core/io/textfile.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>
#include <tuple>

namespace lq {

const char* batchStatusName(BatchStatus status)
{
    switch (status) {
    case BatchStatus::Ok:
        return "ok";
    case BatchStatus::Failed:
        return "failed";
    case BatchStatus::Skipped:
        return "skipped";
    }
    return "ok";
}

std::string batchRecordLine(const BatchRecord& record)
{
    nlohmann::ordered_json json;
    json["input"] = record.input;
    json["relative"] = record.relative;
    json["sha256"] = record.sha256;
    json["status"] = batchStatusName(record.status);
    if (record.status == BatchStatus::Failed)
        json["error"] = record.error;
    json["base_model"] = record.baseModel;
    json["modules"] = record.modules;
    json["lora_parameters"] = record.loraParameters;
    json["bytes_before"] = record.bytesBefore;
    json["bytes_after"] = record.bytesAfter;
    json["bits_paper"] = record.bitsPaper;
    json["bits_true"] = record.bitsTrue;
    json["rel_error"] = record.relError;
    json["seconds"] = record.seconds;
    json["output"] = record.output;
    json["settings"] = record.settings.is_null() ? nlohmann::json::object() : record.settings;
    return outputJson(json, -1);
}

namespace {

template <typename T>
T field(const nlohmann::json& json, const char* key, const std::string& where, bool required)
{
    const auto it = json.find(key);
    if (it == json.end() || it->is_null()) {
        if (required)
            throw Error(where, std::string("no \"") + key + "\"");
        return T{};
    }
    try {
        return it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(where, std::string("\"") + key + "\" is " + describeJson(*it));
    }
}

} // namespace

BatchRecord parseBatchRecord(std::string_view line, const std::string& file, std::size_t lineNumber)
{
    const std::string where = file + ": line " + std::to_string(lineNumber);
    const nlohmann::json json = parseJson(line, where, "batch summary line");
    if (!json.is_object())
        throw Error(where, "a batch summary line must be a JSON object, not " + describeJson(json));

    BatchRecord record;
    record.input = field<std::string>(json, "input", where, true);
    record.relative = field<std::string>(json, "relative", where, false);
    record.sha256 = field<std::string>(json, "sha256", where, false);
    const auto status = field<std::string>(json, "status", where, true);
    if (status == "ok")
        record.status = BatchStatus::Ok;
    else if (status == "failed")
        record.status = BatchStatus::Failed;
    else if (status == "skipped")
        record.status = BatchStatus::Skipped;
    else
        throw Error(where, "unknown status \"" + status + "\" (ok, failed or skipped)");
    record.error = field<std::string>(json, "error", where, false);
    record.baseModel = field<std::string>(json, "base_model", where, false);
    record.modules = field<std::int64_t>(json, "modules", where, false);
    record.loraParameters = field<std::int64_t>(json, "lora_parameters", where, false);
    record.bytesBefore = field<std::int64_t>(json, "bytes_before", where, false);
    record.bytesAfter = field<std::int64_t>(json, "bytes_after", where, false);
    record.bitsPaper = field<double>(json, "bits_paper", where, false);
    record.bitsTrue = field<double>(json, "bits_true", where, false);
    record.relError = field<double>(json, "rel_error", where, false);
    record.seconds = field<double>(json, "seconds", where, false);
    record.output = field<std::string>(json, "output", where, false);
    if (const auto it = json.find("settings"); it != json.end())
        record.settings = *it;
    return record;
}

std::string batchSummaryFileName(std::optional<std::pair<int, int>> shard)
{
    if (!shard)
        return "batch-summary.jsonl";
    return "batch-summary.shard-" + std::to_string(shard->first) + "-of-" +
           std::to_string(shard->second) + ".jsonl";
}

std::vector<BatchRecord> readBatchSummaries(const std::string& outdir)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<std::string> files;
    for (fs::directory_iterator it(outdir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.starts_with("batch-summary") && name.ends_with(".jsonl"))
            files.push_back(it->path().string());
    }
    if (ec)
        throw Error(outdir, "cannot list the batch output folder: " + ec.message());
    if (files.empty())
        throw Error(outdir, "no batch summary (batch-summary*.jsonl) in this folder");
    std::sort(files.begin(), files.end());

    std::vector<BatchRecord> records;
    std::map<std::string, std::size_t> indexOfInput;
    for (const std::string& file : files) {
        const std::string text = readTextFile(file, "batch summary");
        std::size_t lineNumber = 0;
        for (std::size_t begin = 0; begin < text.size();) {
            const std::size_t end = text.find('\n', begin);
            ++lineNumber;
            if (end == std::string::npos)
                break; // cut by a kill mid-write: that adapter was not finished
            const std::string_view line(text.data() + begin, end - begin);
            begin = end + 1;
            if (line.find_first_not_of(" \t\r") == std::string_view::npos)
                continue;
            BatchRecord record = parseBatchRecord(line, file, lineNumber);
            const auto [it, inserted] = indexOfInput.try_emplace(record.input, records.size());
            if (inserted)
                records.push_back(std::move(record));
            else if (record.status != BatchStatus::Skipped ||
                     records[it->second].status == BatchStatus::Skipped)
                records[it->second] = std::move(record);
        }
    }
    // By name, not by when each finished: totals summed in this order (and the worst-five
    // list, the failures) are the same for any shard count, job count or thread schedule.
    std::sort(records.begin(), records.end(), [](const BatchRecord& a, const BatchRecord& b) {
        return std::tie(a.relative, a.input) < std::tie(b.relative, b.input);
    });
    return records;
}

} // namespace lq
