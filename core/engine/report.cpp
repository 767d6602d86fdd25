#include "core/engine/report.h"

#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "core/io/filename.h"
#include "core/io/jsonoutput.h"

#include <algorithm>
#include <cstdio>

namespace lq {
namespace {

constexpr const char* kUnknownFormat =
    "unknown report format: the file name must end in .json or .csv";

using Json = nlohmann::ordered_json;

bool isBaseline(const QuantResult& result)
{
    return result.method != "loraquant";
}

double perParameter(double bits, const ModuleResult& module)
{
    const double parameters = double(module.r) * (double(module.m) + module.n);
    return parameters > 0 ? bits / parameters : 0.0;
}

std::string layoutNote(const QuantResult& result)
{
    if (!result.methodNote.empty())
        return result.methodNote;
    if (isBaseline(result))
        return "groups of consecutive values of the original B and A, each flattened row-major "
               "(a group of B spans several rows and mixes components), as the reference's "
               "baselines";
    if (result.settings.layout == GroupLayout::PerComponent)
        return "B' grouped along columns, A' along rows; groups stay inside one component's "
               "vector and a short tail is its own group";
    return "B' grouped along columns, A' along rows; components laid end to end and groups run "
           "on across them when a vector is not a multiple of the group size (the reference)";
}

constexpr const char* kBitsNote =
    "paper = codes only (h (m + n) b_h + (r - h)(m + n) per module, as the paper counts); true = "
    "every stored bit: codes, per-group scales, per-group zero points (b bits) and a fixed "
    "per-module header";

Json settingsJson(const QuantResult& result)
{
    const QuantSettings& s = result.settings;
    Json json;
    if (isBaseline(result)) {
        json["baseline"] = result.method;
        if (!result.methodNote.empty())
            return json; // a field baseline: its spelling says everything, group_layout_note how
        json["bits"] = result.baselineBits;
        json["group_size"] = s.groupSize;
        json["scale_format"] = toString(s.scaleFormat);
        return json;
    }
    json["rho"] = s.rho;
    json["split"] = toString(s.split);
    if (s.split == SplitRule::Fixed)
        json["fixed_h"] = s.fixedH;
    json["bits_high"] = s.bitsHigh;
    json["bits_low"] = 1;
    json["group_size"] = s.groupSize;
    json["group_layout"] = toString(s.layout);
    json["scale_format"] = toString(s.scaleFormat);
    json["refine"] = toString(s.refine);
    json["components"] = toString(s.order);
    if (s.order == ComponentOrder::Random)
        json["components_seed"] = s.orderSeed;
    if (s.refine == Refinement::Paper) {
        json["refine_steps"] = s.refineSteps;
        json["refine_learning_rate"] = s.refineLearningRate;
    }
    json["h_overrides"] = Json::object();
    for (const auto& [name, h] : s.hOverride)
        json["h_overrides"][name] = h;
    json["bits_high_overrides"] = Json::object();
    for (const auto& [name, bits] : s.bitsHighOverride)
        json["bits_high_overrides"][name] = bits;
    if (!s.refineOverride.empty()) {
        json["refine_overrides"] = Json::object();
        for (const auto& [name, refine] : s.refineOverride)
            json["refine_overrides"][name] = toString(refine);
    }
    return json;
}

std::string number(double value, int digits = 10)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*g", digits, value);
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

} // namespace

std::string reportJson(const QuantResult& result)
{
    Json json;
    json["tool"] = "loraquant";
    json["method"] = result.method;
    json["adapter"] = result.adapter;
    json["settings"] = settingsJson(result);
    json["group_layout"] = !result.methodNote.empty() ? std::string("method's own")
                           : isBaseline(result)       ? std::string("row-major")
                                                      : toString(result.settings.layout);
    json["group_layout_note"] = layoutNote(result);
    json["bits_note"] = kBitsNote;
    json["modules_count"] = result.modules.size();
    json["parameters"] = result.parameterCount;
    json["avg_bits_paper"] = result.avgBitsPaper;
    json["avg_bits_true"] = result.avgBitsTrue;
    json["rel_err_total"] = result.relErrTotal;
    json["rel_err_mean"] = result.relErrMean;
    json["seconds"] = result.seconds;
    json["cancelled"] = result.cancelled;
    json["warnings"] = result.warnings;
    Json modules = Json::array();
    for (const ModuleResult& module : result.modules) {
        Json item;
        item["name"] = module.name;
        item["m"] = module.m;
        item["n"] = module.n;
        item["r"] = module.r;
        item["h"] = module.h;
        item["bits_high"] = module.bitsHigh;
        item["rel_err"] = module.relErr;
        item["bits_paper"] = perParameter(module.bitsPaper, module);
        item["bits_true"] = perParameter(module.bitsTrue, module);
        item["bits_paper_total"] = module.bitsPaper;
        item["bits_true_total"] = module.bitsTrue;
        item["err_sq"] = module.errSq;
        item["norm_sq"] = module.normSq;
        modules.push_back(std::move(item));
    }
    json["modules"] = std::move(modules);
    return outputJson(json) + "\n";
}

std::string reportCsv(const QuantResult& result)
{
    std::string csv = "name,m,n,r,h,bits_high,rel_err,bits_paper,bits_true,bits_paper_total,"
                      "bits_true_total,err_sq,norm_sq\n";
    double paperTotal = 0, trueTotal = 0, errSq = 0, normSq = 0;
    for (const ModuleResult& module : result.modules) {
        csv += csvField(module.name) + ',' + std::to_string(module.m) + ',' +
               std::to_string(module.n) + ',' + std::to_string(module.r) + ',' +
               std::to_string(module.h) + ',' + std::to_string(module.bitsHigh) + ',' +
               number(module.relErr) + ',' + number(perParameter(module.bitsPaper, module)) + ',' +
               number(perParameter(module.bitsTrue, module)) + ',' + number(module.bitsPaper, 15) +
               ',' + number(module.bitsTrue, 15) + ',' + number(module.errSq) + ',' +
               number(module.normSq) + '\n';
        paperTotal += module.bitsPaper;
        trueTotal += module.bitsTrue;
        errSq += module.errSq;
        normSq += module.normSq;
    }
    csv += "(adapter),,,,,," + number(result.relErrTotal) + ',' + number(result.avgBitsPaper) +
           ',' + number(result.avgBitsTrue) + ',' + number(paperTotal, 15) + ',' +
           number(trueTotal, 15) + ',' + number(errSq) + ',' + number(normSq) + '\n';
    return csv;
}

std::string reportSummary(const QuantResult& result)
{
    const QuantSettings& s = result.settings;
    std::string text;
    char line[512];
    if (!result.methodNote.empty()) {
        text += "method     " + result.method + " (for comparison; not LoRAQuant)\n";
        text += "storage    " + result.methodNote + "\n";
    } else if (isBaseline(result)) {
        std::snprintf(line, sizeof line, "method     whole-adapter %s (no SVD split), %s\n",
                      result.method == "binary"
                          ? "binary (sign x mean |w|)"
                          : (std::to_string(result.baselineBits) + "-bit RTN").c_str(),
                      "for comparison");
        text += line;
        std::snprintf(line, sizeof line,
                      "groups     %d consecutive values of the original B and A, row-major; "
                      "scales %s\n",
                      s.groupSize, toString(s.scaleFormat).c_str());
        text += line;
    } else {
        std::string split = toString(s.split);
        if (s.split == SplitRule::Ratio)
            split += " (the reference's rule)";
        else if (s.split == SplitRule::RatioCount)
            split += " (smallest count reaching rho)";
        else
            split += " h = " + std::to_string(s.fixedH);
        std::snprintf(line, sizeof line,
                      "method     LoRAQuant: rho %.3g, split %s; high part %d-bit RTN, low part "
                      "1-bit binary\n",
                      s.rho, split.c_str(), s.bitsHigh);
        text += line;
        std::string refine = toString(s.refine);
        if (s.refine == Refinement::Paper)
            refine += " (" + std::to_string(s.refineSteps) + " SGD steps, lr " +
                      number(s.refineLearningRate, 4) + ")";
        std::snprintf(line, sizeof line, "groups     %d values, %s; scales %s; refinement %s\n",
                      s.groupSize,
                      s.layout == GroupLayout::PerComponent
                          ? "inside each component (short tails their own group)"
                          : "flattened across components (the reference)",
                      toString(s.scaleFormat).c_str(), refine.c_str());
        text += line;
        if (s.order == ComponentOrder::Random)
            text += "components the original ones in a random order (seed " +
                    std::to_string(s.orderSeed) + "), not the SVD's: the paper's ablation\n";
        else if (s.order == ComponentOrder::Norm)
            text += "components the original ones ranked by ||b_i a_i^T||_F, not the SVD's: the "
                    "paper's ablation\n";
    }
    if (!result.adapter.empty())
        text += "adapter    " + result.adapter + "\n";
    if (result.cancelled) {
        text += "cancelled  no result\n";
        return text;
    }
    int hMin = 0, hMax = 0;
    double hSum = 0;
    for (std::size_t i = 0; i < result.modules.size(); ++i) {
        const int h = result.modules[i].h;
        hMin = i ? std::min(hMin, h) : h;
        hMax = i ? std::max(hMax, h) : h;
        hSum += h;
    }
    std::snprintf(line, sizeof line, "modules    %zu, %lld LoRA parameters", result.modules.size(),
                  static_cast<long long>(result.parameterCount));
    text += line;
    if (!isBaseline(result) && !result.modules.empty()) {
        std::snprintf(line, sizeof line, "; h from %d to %d (mean %.2f)", hMin, hMax,
                      hSum / double(result.modules.size()));
        text += line;
    }
    text += "\n";
    std::snprintf(line, sizeof line,
                  "avg bits   %.4f paper count (codes only)\n"
                  "           %.4f true count (codes + scales + zero points + headers)\n",
                  result.avgBitsPaper, result.avgBitsTrue);
    text += line;
    std::snprintf(line, sizeof line,
                  "rel error  %.4f total (energy-weighted), %.4f mean over modules\n",
                  result.relErrTotal, result.relErrMean);
    text += line;
    std::snprintf(line, sizeof line, "time       %.3f s\n", result.seconds);
    text += line;
    for (const std::string& warning : result.warnings)
        text += "warning    " + warning + "\n";
    return text;
}

void writeReport(const std::string& path, const QuantResult& result)
{
    const std::string extension = lowercaseExtension(path);
    if (extension == ".json")
        writeFileAtomically(path, reportJson(result));
    else if (extension == ".csv")
        writeFileAtomically(path, reportCsv(result));
    else
        throw Error(path, kUnknownFormat);
}

void checkReportPath(const std::string& path)
{
    const std::string extension = lowercaseExtension(path);
    if (extension != ".json" && extension != ".csv")
        throw Error(path, kUnknownFormat);
    checkCanWriteFile(path);
}

} // namespace lq
