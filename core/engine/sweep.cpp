#include "core/engine/sweep.h"

#include "core/engine/adapterquantizer.h"
#include "core/engine/baseline.h"
#include "core/engine/bitbudget.h"
#include "core/engine/elapsed.h"
#include "core/engine/fieldbaseline.h"
#include "core/engine/finiteresults.h"
#include "core/engine/parallelmodules.h"
#include "core/engine/reparameterize.h"
#include "core/engine/splitrule.h"
#include "core/io/atomicfile.h"
#include "core/io/error.h"
#include "core/io/filename.h"
#include "core/io/jsonoutput.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <tuple>

namespace lq {
namespace {

using Json = nlohmann::ordered_json;

bool isLoraQuant(SweepMethod method)
{
    return method == SweepMethod::RandomSplit || method == SweepMethod::NormSplit ||
           method == SweepMethod::SvdSplit || method == SweepMethod::PaperRefine ||
           method == SweepMethod::BestRefine;
}

std::string formatNumber(const char* format, double value)
{
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

// 17 significant digits: a double reads back exactly.
std::string exact(double value)
{
    return formatNumber("%.17g", value);
}

void fillRow(SweepRow& row, const QuantResult& result)
{
    row.avgBitsPaper = result.avgBitsPaper;
    row.avgBitsTrue = result.avgBitsTrue;
    row.relErrTotal = result.relErrTotal;
    row.relErrMean = result.relErrMean;
    row.seconds = result.seconds;
}

// Module results of one LoRAQuant method by (module index, h, b_h). A module's result depends on
// the settings only through its h and b_h and the method's own settings (group settings,
// refinement, component order), never on rho itself: the rows of a method, which differ in rho
// and b_h (and the budget rows, run with SvdSplit's settings and per-module h and b_h), share
// every module whose h and b_h they agree on. On the synthetic llama2-7b adapter most modules
// keep h = 1 from rho 0.5 to 0.95, so most rows compute only a few modules. The figures only:
// the codes are dropped.
using ModuleKey = std::tuple<std::size_t, int, int>;
using ModuleCache = std::map<ModuleKey, ModuleResult>;

ModuleResult figuresOnly(ModuleResult module)
{
    for (QuantizedVectors* part : {&module.bHigh, &module.aHigh, &module.bLow, &module.aLow}) {
        std::vector<std::uint8_t>().swap(part->codes);
        std::vector<float>().swap(part->scales);
        std::vector<std::uint8_t>().swap(part->zeros);
    }
    return module;
}

// Every module's singular values, as quantizeModule computes them to choose h.
std::vector<Eigen::VectorXf> moduleSpectra(const Adapter& adapter, const ProgressFn& progress,
                                           bool& finished)
{
    std::vector<Eigen::VectorXf> spectra(adapter.modules().size());
    finished = runModulesInParallel(
        spectra.size(),
        [&](std::size_t i) {
            const ModuleFactors factors = adapter.factors(i);
            requireComputableFactors(factors.B, factors.A, {}, adapter.modules()[i].name);
            spectra[i] = reparameterize(factors.B, factors.A).singularValues;
            requireFiniteSpectrum(spectra[i], {}, adapter.modules()[i].name);
        },
        progress);
    return spectra;
}

// quantizeAdapter(adapter, settings) with the figures: the same totals and warnings, the modules
// in `cache` taken from it and the others computed and added to it. `seconds` is the time of
// this call, so a row that found every module counts almost nothing.
QuantResult quantizeWithCache(const Adapter& adapter, const std::vector<Eigen::VectorXf>& spectra,
                              const QuantSettings& settings, ModuleCache& cache,
                              const ProgressFn& progress)
{
    settings.validate();
    const auto start = std::chrono::steady_clock::now();
    const std::vector<LoraModule>& modules = adapter.modules();
    std::vector<ModuleKey> keys(modules.size());
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < modules.size(); ++i) {
        const LoraModule& module = modules[i];
        const int h = std::clamp(chooseH(spectra[i], settings, module.name), 0, module.r);
        keys[i] = {i, h, chooseBitsHigh(settings, module.name)};
        if (!cache.count(keys[i]))
            missing.push_back(i);
    }

    QuantResult result;
    result.settings = settings;
    result.method = "loraquant";
    result.adapter = adapter.path();
    std::vector<ModuleResult> computed(missing.size());
    const bool finished = runModulesInParallel(
        missing.size(),
        [&](std::size_t k) {
            const std::size_t i = missing[k];
            computed[k] = figuresOnly(quantizeModule(modules[i], adapter.factors(i), settings));
        },
        progress);
    if (finished) {
        for (std::size_t k = 0; k < missing.size(); ++k) {
            const ModuleResult& module = computed[k];
            cache.emplace(ModuleKey{missing[k], module.h, module.bitsHigh}, module);
        }
        result.modules.reserve(modules.size());
        for (std::size_t i = 0, k = 0; i < modules.size(); ++i)
            result.modules.push_back(k < missing.size() && missing[k] == i
                                         ? std::move(computed[k++])
                                         : cache.at(keys[i]));
        result.warnings = moduleWarnings(result.modules, settings);
        result.updateTotals();
    } else {
        result.cancelled = true;
    }
    result.seconds = secondsSince(start);
    return result;
}

// One planned row: what to run, in the order the rows appear.
struct Plan
{
    SweepRow row;
    std::size_t budgetSource = 0; // Budget: index of the SvdSplit row whose true bits it targets
    std::optional<FieldBaselineSettings> field; // the field baselines' rows
};

bool isField(SweepMethod method)
{
    return method == SweepMethod::Truncate || method == SweepMethod::Nf4 ||
           method == SweepMethod::Nf4Svd || method == SweepMethod::Q8_0 ||
           method == SweepMethod::DeltaCome || method == SweepMethod::Compeft;
}

} // namespace

std::string toString(SweepMethod method)
{
    switch (method) {
    case SweepMethod::Rtn:
        return "rtn";
    case SweepMethod::Binary:
        return "binary";
    case SweepMethod::RandomSplit:
        return "random-split";
    case SweepMethod::NormSplit:
        return "norm-split";
    case SweepMethod::SvdSplit:
        return "svd-split";
    case SweepMethod::PaperRefine:
        return "paper-refine";
    case SweepMethod::BestRefine:
        return "best-refine";
    case SweepMethod::Budget:
        return "budget";
    case SweepMethod::Truncate:
        return "truncate";
    case SweepMethod::Nf4:
        return "nf4";
    case SweepMethod::Nf4Svd:
        return "nf4-svd";
    case SweepMethod::Q8_0:
        return "q8_0";
    case SweepMethod::DeltaCome:
        return "deltacome";
    case SweepMethod::Compeft:
        return "compeft";
    }
    return "?";
}

std::vector<SweepMethod> allSweepMethods()
{
    return {SweepMethod::Rtn,        SweepMethod::Binary,   SweepMethod::RandomSplit,
            SweepMethod::NormSplit,  SweepMethod::SvdSplit, SweepMethod::PaperRefine,
            SweepMethod::BestRefine, SweepMethod::Budget,   SweepMethod::Truncate,
            SweepMethod::Nf4,        SweepMethod::Nf4Svd,   SweepMethod::Q8_0,
            SweepMethod::DeltaCome,  SweepMethod::Compeft};
}

std::optional<SweepMethod> sweepMethodFromString(std::string_view name)
{
    for (SweepMethod method : allSweepMethods())
        if (toString(method) == name)
            return method;
    return std::nullopt;
}

void SweepSettings::validate() const
{
    const auto fail = [](const std::string& problem) { throw Error("sweep settings", problem); };
    if (methods.empty())
        fail("no methods to compare");
    for (double rho : rhos)
        if (!(rho > 0 && rho <= 1))
            fail("rho must be in (0, 1], got " + std::to_string(rho));
    for (const auto* widths : {&bitsHigh, &rtnBits, &budgetBitsHigh})
        for (int bits : *widths)
            if (bits < 1 || bits > 8)
                fail("bit widths must be 1 to 8, got " + std::to_string(bits));
    if (groupSize < 1)
        fail("the group size must be at least 1, got " + std::to_string(groupSize));
    const bool needsSplit = std::any_of(methods.begin(), methods.end(), [](SweepMethod method) {
        return isLoraQuant(method) || method == SweepMethod::Budget;
    });
    if (needsSplit && (rhos.empty() || bitsHigh.empty()))
        fail("LoRAQuant methods need at least one rho and one high bit width");
    if (std::count(methods.begin(), methods.end(), SweepMethod::Budget) && budgetBitsHigh.empty())
        fail("the budget allocation needs at least one high bit width to choose from");
    const auto wants = [&](SweepMethod method) {
        return std::count(methods.begin(), methods.end(), method) > 0;
    };
    if (wants(SweepMethod::Truncate) && truncateBits.empty())
        fail("rank truncation needs at least one bit budget");
    if (wants(SweepMethod::DeltaCome) && deltaComeBits.empty())
        fail("Delta-CoMe needs at least one bit target");
    if (wants(SweepMethod::Compeft) && compeftDensities.empty())
        fail("ComPEFT needs at least one density");
    for (const FieldBaselineSettings& field : fieldBaselineRows(*this))
        try {
            field.validate();
        } catch (const Error& e) {
            fail(e.problem());
        }
}

std::vector<FieldBaselineSettings> fieldBaselineRows(const SweepSettings& settings,
                                                     std::optional<SweepMethod> only)
{
    std::vector<FieldBaselineSettings> rows;
    for (SweepMethod method : settings.methods) {
        if (only && method != *only)
            continue;
        FieldBaselineSettings field;
        switch (method) {
        case SweepMethod::Truncate:
            field.method = FieldMethod::Truncate;
            field.truncateBy = TruncateBy::Budget;
            for (double bits : settings.truncateBits) {
                field.bits = bits;
                rows.push_back(field);
            }
            break;
        case SweepMethod::Nf4:
        case SweepMethod::Nf4Svd:
            field.method = FieldMethod::Nf4;
            field.svd = method == SweepMethod::Nf4Svd;
            for (bool doubleQuant : {false, true}) {
                field.doubleQuant = doubleQuant;
                rows.push_back(field);
            }
            break;
        case SweepMethod::Q8_0:
            field.method = FieldMethod::Q8_0;
            rows.push_back(field);
            break;
        case SweepMethod::DeltaCome:
            field.method = FieldMethod::DeltaCome;
            for (double bits : settings.deltaComeBits) {
                field.bits = bits;
                rows.push_back(field);
            }
            break;
        case SweepMethod::Compeft:
            field.method = FieldMethod::Compeft;
            for (double density : settings.compeftDensities) {
                field.density = density;
                rows.push_back(field);
            }
            break;
        default:
            break;
        }
    }
    return rows;
}

QuantSettings sweepQuantSettings(const SweepSettings& settings, SweepMethod method, double rho,
                                 int bitsHigh)
{
    QuantSettings quant = QuantSettings::paperExact(rho, bitsHigh, false);
    quant.groupSize = settings.groupSize;
    quant.layout = settings.layout;
    quant.scaleFormat = settings.scaleFormat;
    switch (method) {
    case SweepMethod::RandomSplit:
        quant.order = ComponentOrder::Random;
        quant.orderSeed = settings.seed;
        break;
    case SweepMethod::NormSplit:
        quant.order = ComponentOrder::Norm;
        break;
    case SweepMethod::PaperRefine:
        quant.refine = Refinement::Paper;
        break;
    case SweepMethod::BestRefine:
        quant.refine = Refinement::Best;
        break;
    default:
        break;
    }
    return quant;
}

SweepResult runSweep(const Adapter& adapter, const SweepSettings& settings,
                     const ProgressFn& progress)
{
    settings.validate();
    const auto start = std::chrono::steady_clock::now();
    SweepResult result;
    result.adapter = adapter.path();
    result.settings = settings;

    // Plan every row first, so that progress knows the total. Budget rows target the true bits
    // of the SvdSplit rows; those are computed (and kept out of the result) even when SvdSplit
    // itself was not asked for.
    std::vector<Plan> plans;
    std::vector<Plan> hiddenSvd; // SvdSplit rows run only for the budget's targets
    const bool wantBudget =
        std::count(settings.methods.begin(), settings.methods.end(), SweepMethod::Budget) > 0;
    const bool wantSvd =
        std::count(settings.methods.begin(), settings.methods.end(), SweepMethod::SvdSplit) > 0;
    const auto splitRows = [&](SweepMethod method) {
        std::vector<Plan> rows;
        for (int bits : settings.bitsHigh)
            for (double rho : settings.rhos) {
                Plan plan;
                plan.row.method = method;
                plan.row.bits = bits;
                plan.row.rho = rho;
                plan.row.setting =
                    "b_h=" + std::to_string(bits) + " rho=" + formatNumber("%g", rho);
                rows.push_back(plan);
            }
        return rows;
    };
    for (SweepMethod method : settings.methods) {
        if (method == SweepMethod::Rtn) {
            for (int bits : settings.rtnBits) {
                Plan plan;
                plan.row.method = method;
                plan.row.bits = bits;
                plan.row.setting = "b=" + std::to_string(bits);
                plans.push_back(plan);
            }
        } else if (method == SweepMethod::Binary) {
            Plan plan;
            plan.row.method = method;
            plan.row.bits = 1;
            plan.row.setting = "b=1";
            plans.push_back(plan);
        } else if (isField(method)) {
            for (const FieldBaselineSettings& field : fieldBaselineRows(settings, method)) {
                Plan plan;
                plan.row.method = method;
                plan.row.setting = toString(field);
                plan.row.bits = field.method == FieldMethod::Nf4    ? 4
                                : field.method == FieldMethod::Q8_0 ? 8
                                                                    : 0;
                if (field.method == FieldMethod::Truncate || field.method == FieldMethod::DeltaCome)
                    plan.row.budget = field.bits;
                plan.field = field;
                plans.push_back(plan);
            }
        } else if (method != SweepMethod::Budget) {
            for (const Plan& plan : splitRows(method))
                plans.push_back(plan);
        }
    }
    if (wantBudget && !wantSvd)
        hiddenSvd = splitRows(SweepMethod::SvdSplit);

    const int moduleCount = int(adapter.modules().size());
    const std::size_t budgetRows = wantBudget ? settings.bitsHigh.size() * settings.rhos.size() : 0;
    const bool wantSpectra =
        wantBudget || std::any_of(plans.begin(), plans.end(),
                                  [](const Plan& plan) { return isLoraQuant(plan.row.method); });
    // +1 row of work for the error curves, +1 for the spectra
    const int total = moduleCount * int(plans.size() + hiddenSvd.size() + budgetRows +
                                        (wantBudget ? 1 : 0) + (wantSpectra ? 1 : 0));
    int done = 0;
    bool cancelled = false;
    const auto inner = [&](int moduleDone, int) {
        if (!progress)
            return true;
        if (!progress(done + moduleDone, total))
            cancelled = true;
        return !cancelled;
    };
    const auto finish = [&] {
        result.cancelled = cancelled;
        result.seconds = secondsSince(start);
        return result;
    };

    std::vector<Eigen::VectorXf> spectra;
    if (wantSpectra) {
        bool finished = false;
        spectra = moduleSpectra(adapter, inner, finished);
        if (!finished)
            return finish();
        done += moduleCount;
    }
    std::map<SweepMethod, ModuleCache> caches;

    const auto runPlan = [&](Plan& plan) -> bool {
        SweepRow& row = plan.row;
        QuantResult quant;
        if (plan.field) {
            // A method that allocates across modules passes over them twice: scale its
            // progress to one row's worth.
            quant = quantizeFieldBaseline(adapter, *plan.field, [&](int fieldDone, int fieldTotal) {
                return inner(fieldTotal > 0 ? fieldDone * moduleCount / fieldTotal : 0, 0);
            });
        } else if (row.method == SweepMethod::Rtn || row.method == SweepMethod::Binary) {
            BaselineSettings baseline;
            baseline.method =
                row.method == SweepMethod::Rtn ? BaselineMethod::Rtn : BaselineMethod::Binary;
            baseline.bits = row.method == SweepMethod::Rtn ? row.bits : 1;
            baseline.groupSize = settings.groupSize;
            baseline.scaleFormat = settings.scaleFormat;
            quant = quantizeBaseline(adapter, baseline, inner);
        } else {
            quant = quantizeWithCache(adapter, spectra,
                                      sweepQuantSettings(settings, row.method, row.rho, row.bits),
                                      caches[row.method], inner);
        }
        if (quant.cancelled)
            return false;
        fillRow(row, quant);
        for (const std::string& warning : quant.warnings)
            if (std::find(result.warnings.begin(), result.warnings.end(), warning) ==
                result.warnings.end())
                result.warnings.push_back(warning);
        done += moduleCount;
        return true;
    };

    std::vector<SweepRow> svdRows;
    for (Plan& plan : plans) {
        if (!runPlan(plan))
            return finish();
        result.rows.push_back(plan.row);
        if (plan.row.method == SweepMethod::SvdSplit)
            svdRows.push_back(plan.row);
    }
    for (Plan& plan : hiddenSvd) {
        if (!runPlan(plan))
            return finish();
        svdRows.push_back(plan.row);
    }

    if (wantBudget) {
        QuantSettings curveSettings = sweepQuantSettings(
            settings, SweepMethod::SvdSplit, settings.rhos.front(), settings.bitsHigh.front());
        const ErrorCurves curves =
            computeErrorCurves(adapter, curveSettings, settings.budgetBitsHigh, inner);
        if (curves.cancelled)
            return finish();
        done += moduleCount;
        for (const SweepRow& source : svdRows) {
            SweepRow row;
            row.method = SweepMethod::Budget;
            // The true bits an SvdSplit row reached are an allocation the curves contain when
            // its b_h is one the budget may choose; a wider b_h can exceed the widest option,
            // and then the budget is that maximum.
            row.budget = std::min(source.avgBitsTrue, curves.maximumBudget(BitCount::True));
            row.setting =
                "budget=" + formatNumber("%.4f", row.budget) + " true (" + source.setting + ")";
            QuantSettings allocated = curveSettings;
            allocateBudget(curves, row.budget, BitCount::True).applyTo(allocated);
            const QuantResult quant = quantizeWithCache(adapter, spectra, allocated,
                                                        caches[SweepMethod::SvdSplit], inner);
            if (quant.cancelled)
                return finish();
            fillRow(row, quant);
            done += moduleCount;
            result.rows.push_back(row);
        }
    }
    return finish();
}

std::string sweepJson(const SweepResult& result)
{
    const SweepSettings& s = result.settings;
    Json json;
    json["tool"] = "loraquant sweep";
    json["adapter"] = result.adapter;
    Json settings;
    Json methods = Json::array();
    for (SweepMethod method : s.methods)
        methods.push_back(toString(method));
    settings["methods"] = methods;
    settings["rhos"] = s.rhos;
    settings["bits_high"] = s.bitsHigh;
    settings["rtn_bits"] = s.rtnBits;
    settings["budget_bits_high"] = s.budgetBitsHigh;
    settings["truncate_bits"] = s.truncateBits;
    settings["deltacome_bits"] = s.deltaComeBits;
    settings["compeft_densities"] = s.compeftDensities;
    settings["group_size"] = s.groupSize;
    settings["group_layout"] = toString(s.layout);
    settings["scale_format"] = toString(s.scaleFormat);
    settings["seed"] = s.seed;
    json["settings"] = settings;
    json["bits_note"] = "avg_bits_paper = codes only, as the paper counts (for ComPEFT with its "
                        "position bitmap); avg_bits_true = every stored bit: codes, per-group "
                        "scales and zero points, per-module headers, and each field baseline's "
                        "own per-block, per-tensor and per-module fields";
    json["seconds"] = result.seconds;
    json["cancelled"] = result.cancelled;
    json["warnings"] = result.warnings;
    Json rows = Json::array();
    for (const SweepRow& row : result.rows) {
        Json item;
        item["method"] = toString(row.method);
        item["setting"] = row.setting;
        item["bits"] = row.bits;
        item["rho"] = row.rho;
        item["budget"] = row.budget;
        item["avg_bits_paper"] = row.avgBitsPaper;
        item["avg_bits_true"] = row.avgBitsTrue;
        item["rel_err_total"] = row.relErrTotal;
        item["rel_err_mean"] = row.relErrMean;
        item["seconds"] = row.seconds;
        rows.push_back(std::move(item));
    }
    json["rows"] = std::move(rows);
    return outputJson(json) + "\n";
}

std::string sweepCsv(const SweepResult& result)
{
    std::string out = "method,setting,bits,rho,budget,avg_bits_paper,avg_bits_true,rel_err_total,"
                      "rel_err_mean,seconds\r\n";
    for (const SweepRow& row : result.rows) {
        // Settings hold no quote; they may hold spaces and parentheses, which need none.
        out += toString(row.method) + ",\"" + row.setting + "\"," + std::to_string(row.bits) + "," +
               exact(row.rho) + "," + exact(row.budget) + "," + exact(row.avgBitsPaper) + "," +
               exact(row.avgBitsTrue) + "," + exact(row.relErrTotal) + "," + exact(row.relErrMean) +
               "," + exact(row.seconds) + "\r\n";
    }
    return out;
}

std::string sweepTable(const SweepResult& result)
{
    std::string out = "adapter  " + result.adapter + "\ngroups   " +
                      std::to_string(result.settings.groupSize) + " values, " +
                      toString(result.settings.layout) + ", scales " +
                      toString(result.settings.scaleFormat) +
                      "\nbits     paper = codes only; true = codes + scales + zero points + "
                      "headers\n\n";
    char line[256];
    std::snprintf(line, sizeof line, "%-13s %-40s %10s %10s %10s %10s %8s\n", "method", "setting",
                  "bits paper", "bits true", "err total", "err mean", "seconds");
    out += line;
    for (const SweepRow& row : result.rows) {
        std::snprintf(line, sizeof line, "%-13s %-40s %10.4f %10.4f %10.4f %10.4f %8.2f\n",
                      toString(row.method).c_str(), row.setting.c_str(), row.avgBitsPaper,
                      row.avgBitsTrue, row.relErrTotal, row.relErrMean, row.seconds);
        out += line;
    }
    for (const std::string& warning : result.warnings)
        out += "warning: " + warning + "\n";
    if (result.cancelled)
        out += "cancelled: the rows above are those finished before the cancel\n";
    return out;
}

void writeSweep(const std::string& path, const SweepResult& result)
{
    const std::string extension = lowercaseExtension(path);
    if (extension == ".json")
        writeFileAtomically(path, sweepJson(result));
    else if (extension == ".csv")
        writeFileAtomically(path, sweepCsv(result));
    else
        throw Error(path, "a sweep is written as .json or .csv, by the file's extension");
}

} // namespace lq
