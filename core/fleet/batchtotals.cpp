#include "core/fleet/batchtotals.h"

#include "core/io/jsonoutput.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace lq {
namespace {

constexpr std::size_t kWorst = 5;

// Nearest rank: the smallest value with at least p of the values at or below it.
double percentile(const std::vector<double>& sorted, double p)
{
    if (sorted.empty())
        return 0;
    const auto rank = std::size_t(std::ceil(p * double(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string number(double value)
{
    char text[40];
    std::snprintf(text, sizeof text, "%.10g", value);
    return text;
}

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    return quoted + '"';
}

std::string name(const BatchRecord& record)
{
    return record.relative.empty() ? record.input : record.relative;
}

} // namespace

BatchTotals batchTotals(const std::vector<BatchRecord>& records)
{
    BatchTotals totals;
    std::vector<double> errors;
    std::vector<std::pair<std::string, double>> all;
    for (const BatchRecord& record : records) {
        ++totals.adapters;
        totals.seconds += record.seconds;
        switch (record.status) {
        case BatchStatus::Failed:
            ++totals.failed;
            totals.failures.emplace_back(name(record), record.error);
            continue;
        case BatchStatus::Ok:
            ++totals.ok;
            break;
        case BatchStatus::Skipped:
            ++totals.skipped;
            break;
        }
        totals.bytesBefore += record.bytesBefore;
        totals.bytesAfter += record.bytesAfter;
        errors.push_back(record.relError);
        all.emplace_back(name(record), record.relError);
    }
    totals.ratio =
        totals.bytesAfter > 0 ? double(totals.bytesBefore) / double(totals.bytesAfter) : 0;
    if (!errors.empty()) {
        double sum = 0;
        for (double e : errors)
            sum += e;
        totals.errorMean = sum / double(errors.size());
        std::sort(errors.begin(), errors.end());
        totals.errorP50 = percentile(errors, 0.50);
        totals.errorP95 = percentile(errors, 0.95);
    }
    // Worst first; equal errors by name, so that the list does not depend on the file order.
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    all.resize(std::min(all.size(), kWorst));
    totals.worst = std::move(all);
    return totals;
}

std::string batchTotalsJson(const BatchTotals& t)
{
    nlohmann::ordered_json json;
    json["adapters"] = t.adapters;
    json["ok"] = t.ok;
    json["failed"] = t.failed;
    json["skipped"] = t.skipped;
    json["bytes_before"] = t.bytesBefore;
    json["bytes_after"] = t.bytesAfter;
    json["ratio"] = t.ratio;
    json["rel_error_mean"] = t.errorMean;
    json["rel_error_p50"] = t.errorP50;
    json["rel_error_p95"] = t.errorP95;
    json["worst"] = nlohmann::ordered_json::array();
    for (const auto& [adapter, error] : t.worst)
        json["worst"].push_back({{"adapter", adapter}, {"rel_error", error}});
    json["seconds"] = t.seconds;
    json["failures"] = nlohmann::ordered_json::array();
    for (const auto& [adapter, message] : t.failures)
        json["failures"].push_back({{"adapter", adapter}, {"error", message}});
    return outputJson(json, 2) + "\n";
}

std::string batchTotalsCsv(const BatchTotals& t)
{
    std::string header = "adapters,ok,failed,skipped,bytes_before,bytes_after,ratio,rel_error_mean,"
                         "rel_error_p50,rel_error_p95,seconds";
    std::string row = std::to_string(t.adapters) + "," + std::to_string(t.ok) + "," +
                      std::to_string(t.failed) + "," + std::to_string(t.skipped) + "," +
                      std::to_string(t.bytesBefore) + "," + std::to_string(t.bytesAfter) + "," +
                      number(t.ratio) + "," + number(t.errorMean) + "," + number(t.errorP50) + "," +
                      number(t.errorP95) + "," + number(t.seconds);
    for (std::size_t i = 0; i < kWorst; ++i) {
        const std::string column = "worst_" + std::to_string(i + 1);
        header.append(",").append(column).append(",").append(column).append("_error");
        row.append(",");
        if (i < t.worst.size())
            row.append(csvField(t.worst[i].first)).append(",").append(number(t.worst[i].second));
        else
            row.append(",");
    }
    return header + "\n" + row + "\n";
}

std::string batchTotalsText(const BatchTotals& t, std::size_t maxFailures)
{
    char line[256];
    std::string text;
    std::snprintf(line, sizeof line, "adapters   %d: %d ok, %d failed, %d skipped\n", t.adapters,
                  t.ok, t.failed, t.skipped);
    text += line;
    std::snprintf(line, sizeof line, "bytes      %lld -> %lld (%.2fx smaller)\n",
                  static_cast<long long>(t.bytesBefore), static_cast<long long>(t.bytesAfter),
                  t.ratio);
    text += line;
    std::snprintf(line, sizeof line, "error      mean %.4f, p50 %.4f, p95 %.4f (relative, total)\n",
                  t.errorMean, t.errorP50, t.errorP95);
    text += line;
    for (const auto& [adapter, error] : t.worst) {
        std::snprintf(line, sizeof line, "  worst    %.4f  ", error);
        text += line + adapter + "\n";
    }
    std::snprintf(line, sizeof line, "time       %.1f s summed over adapters\n", t.seconds);
    text += line;
    for (std::size_t i = 0; i < t.failures.size() && i < maxFailures; ++i)
        text += "  failed   " + t.failures[i].first + ": " + t.failures[i].second + "\n";
    if (t.failures.size() > maxFailures)
        text += "  ... and " + std::to_string(t.failures.size() - maxFailures) +
                " more failures (batch-totals.json lists them all)\n";
    return text;
}

} // namespace lq
