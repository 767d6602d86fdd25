#include "core/engine/fieldbaseline.h"

#include "core/engine/bitcount.h"
#include "core/engine/compeft.h"
#include "core/engine/deltacome.h"
#include "core/engine/elapsed.h"
#include "core/engine/finiteresults.h"
#include "core/engine/nf4.h"
#include "core/engine/parallelmodules.h"
#include "core/engine/q8_0.h"
#include "core/engine/ranktruncation.h"
#include "core/engine/reparameterize.h"
#include "core/engine/updateerror.h"
#include "core/io/error.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace lq {
namespace {

std::string number(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

std::optional<double> parseNumber(std::string_view text)
{
    if (text.empty())
        return std::nullopt;
    const std::string copy(text);
    char* end = nullptr;
    const double value = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size() || !std::isfinite(value))
        return std::nullopt;
    return value;
}

bool startsWith(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

// NF4 of one factor, as a rows x cols matrix; `columnMajor` flattens column after column (the
// components of B'), otherwise row after row (as stored, and A''s components).
Eigen::MatrixXf nf4Matrix(const Eigen::MatrixXf& x, bool columnMajor, bool doubleQuant,
                          double& codeBits, double& storedBits)
{
    const Eigen::MatrixXf ordered = columnMajor ? x : Eigen::MatrixXf(x.transpose());
    const Nf4Tensor t = quantizeNf4({ordered.data(), std::size_t(ordered.size())}, doubleQuant);
    codeBits += t.codeBits();
    storedBits += t.storedBits();
    const std::vector<float> values = t.dequantize();
    const Eigen::Map<const Eigen::MatrixXf> back(values.data(), ordered.rows(), ordered.cols());
    return columnMajor ? Eigen::MatrixXf(back) : Eigen::MatrixXf(back.transpose());
}

Eigen::MatrixXf q8Matrix(const Eigen::MatrixXf& x, double& codeBits, double& storedBits)
{
    const Q8_0Tensor t = quantizeQ8_0(rowMajorValues(x));
    codeBits += t.codeBits();
    storedBits += t.storedBits();
    return fromRowMajor(t.dequantize(), int(x.rows()), int(x.cols()));
}

// Per-module choices a method makes across the whole adapter before quantizing.
struct Allocation
{
    std::vector<int> ranks;            // Truncate by budget
    std::vector<DeltaComeTiers> tiers; // DeltaCome
};

BaselineFactors quantizeFactors(const ModuleFactors& f, const FieldBaselineSettings& s,
                                const Allocation& allocation, std::size_t index)
{
    BaselineFactors out;
    switch (s.method) {
    case FieldMethod::Truncate: {
        const ModuleReparam reparam = reparameterize(f.B, f.A);
        int k = s.rank;
        if (s.truncateBy == TruncateBy::Energy)
            k = truncationRankForEnergy(reparam.singularValues, s.energy);
        else if (s.truncateBy == TruncateBy::Budget)
            k = allocation.ranks[index];
        return truncateModule(reparam, k);
    }
    case FieldMethod::Nf4:
        if (s.svd) {
            const ModuleReparam reparam = reparameterize(f.B, f.A);
            out.B = nf4Matrix(reparam.Bp, true, s.doubleQuant, out.codeBits, out.storedBits);
            out.A = nf4Matrix(reparam.Ap, false, s.doubleQuant, out.codeBits, out.storedBits);
        } else {
            out.B = nf4Matrix(f.B, false, s.doubleQuant, out.codeBits, out.storedBits);
            out.A = nf4Matrix(f.A, false, s.doubleQuant, out.codeBits, out.storedBits);
        }
        return out;
    case FieldMethod::Q8_0:
        out.B = q8Matrix(f.B, out.codeBits, out.storedBits);
        out.A = q8Matrix(f.A, out.codeBits, out.storedBits);
        return out;
    case FieldMethod::DeltaCome:
        return deltaComeModule(reparameterize(f.B, f.A), allocation.tiers[index]);
    case FieldMethod::Compeft:
        return compeftModule(f.B, f.A, s.density);
    }
    return out;
}

bool allocatesAcrossModules(const FieldBaselineSettings& s)
{
    return s.method == FieldMethod::DeltaCome ||
           (s.method == FieldMethod::Truncate && s.truncateBy == TruncateBy::Budget);
}

std::string methodNote(const FieldBaselineSettings& s)
{
    switch (s.method) {
    case FieldMethod::Truncate:
        return "rank truncation: the first k components of the SVD of B A kept in fp16, the "
               "rest dropped";
    case FieldMethod::Nf4:
        return std::string("NF4 (QLoRA): 4-bit NormalFloat codes in blocks of 64 consecutive "
                           "values with a float32 absmax") +
               (s.doubleQuant ? ", the absmaxes double-quantized (int8 in blocks of 256, "
                                "float32 second-level scale, float32 mean per tensor)"
                              : "") +
               (s.svd ? "; on B' = U S^(1/2) (column after column) and A' = S^(1/2) V^T"
                      : "; on B and A as stored, flattened row-major");
    case FieldMethod::Q8_0:
        return "q8_0 (llama.cpp): blocks of 32 consecutive values of B and A (row-major), int8 "
               "codes and an fp16 scale per block";
    case FieldMethod::DeltaCome:
        return "Delta-CoMe tiers, data-free: SVD components by falling s_i in 8-, 3- and 2-bit "
               "RTN (groups of 128 inside each vector, fp16 scales) or dropped, tier sizes "
               "chosen for the bit target; RTN in place of the paper's GPTQ";
    case FieldMethod::Compeft:
        return "ComPEFT: the top-density values of B and of A by magnitude as signs, one fp16 "
               "scale per factor chosen to minimise the update error; positions as a bitmap "
               "(1 bit per value)";
    }
    return {};
}

} // namespace

const char* const kFieldBaselineForms =
    "truncate:K, truncate:energy=E, truncate:bits=BITS, nf4, nf4-dq, nf4-svd, nf4-svd-dq, "
    "q8_0, deltacome:BITS, compeft:DENSITY";

void FieldBaselineSettings::validate() const
{
    const auto fail = [](const std::string& problem) { throw Error("baseline settings", problem); };
    switch (method) {
    case FieldMethod::Truncate:
        if (truncateBy == TruncateBy::Count && rank < 0)
            fail("the truncation rank must be at least 0, got " + std::to_string(rank));
        if (truncateBy == TruncateBy::Energy && !(energy > 0 && energy <= 1))
            fail("the truncation energy share must be in (0, 1], got " + number(energy));
        if (truncateBy == TruncateBy::Budget && !(bits > 0 && bits <= 16))
            fail("the truncation bit budget must be in (0, 16], got " + number(bits));
        break;
    case FieldMethod::DeltaCome:
        if (!(bits > 0 && bits <= 16))
            fail("the Delta-CoMe bit target must be in (0, 16], got " + number(bits));
        break;
    case FieldMethod::Compeft:
        if (!(density > 0 && density <= 1))
            fail("the ComPEFT density must be in (0, 1], got " + number(density));
        break;
    default:
        break;
    }
}

std::string toString(const FieldBaselineSettings& s)
{
    switch (s.method) {
    case FieldMethod::Truncate:
        if (s.truncateBy == TruncateBy::Count)
            return "truncate:" + std::to_string(s.rank);
        if (s.truncateBy == TruncateBy::Energy)
            return "truncate:energy=" + number(s.energy);
        return "truncate:bits=" + number(s.bits);
    case FieldMethod::Nf4:
        return std::string("nf4") + (s.svd ? "-svd" : "") + (s.doubleQuant ? "-dq" : "");
    case FieldMethod::Q8_0:
        return "q8_0";
    case FieldMethod::DeltaCome:
        return "deltacome:" + number(s.bits);
    case FieldMethod::Compeft:
        return "compeft:" + number(s.density);
    }
    return "?";
}

std::optional<FieldBaselineSettings> fieldBaselineFromString(std::string_view text)
{
    FieldBaselineSettings s;
    for (const auto& [name, svd, dq] :
         {std::tuple{"nf4", false, false}, std::tuple{"nf4-dq", false, true},
          std::tuple{"nf4-svd", true, false}, std::tuple{"nf4-svd-dq", true, true}})
        if (text == name) {
            s.method = FieldMethod::Nf4;
            s.svd = svd;
            s.doubleQuant = dq;
            return s;
        }
    if (text == "q8_0") {
        s.method = FieldMethod::Q8_0;
        return s;
    }
    const auto checked =
        [](FieldBaselineSettings settings) -> std::optional<FieldBaselineSettings> {
        try {
            settings.validate();
        } catch (const Error&) {
            return std::nullopt;
        }
        return settings;
    };
    if (startsWith(text, "truncate:")) {
        s.method = FieldMethod::Truncate;
        std::string_view arg = text.substr(9);
        if (startsWith(arg, "energy=")) {
            s.truncateBy = TruncateBy::Energy;
            const auto value = parseNumber(arg.substr(7));
            if (!value)
                return std::nullopt;
            s.energy = *value;
        } else if (startsWith(arg, "bits=")) {
            s.truncateBy = TruncateBy::Budget;
            const auto value = parseNumber(arg.substr(5));
            if (!value)
                return std::nullopt;
            s.bits = *value;
        } else {
            s.truncateBy = TruncateBy::Count;
            const auto value = parseNumber(arg);
            if (!value || *value != std::floor(*value) || *value < 0 || *value > 1e6)
                return std::nullopt;
            s.rank = int(*value);
        }
        return checked(s);
    }
    if (startsWith(text, "deltacome:")) {
        s.method = FieldMethod::DeltaCome;
        const auto value = parseNumber(text.substr(10));
        if (!value)
            return std::nullopt;
        s.bits = *value;
        return checked(s);
    }
    if (startsWith(text, "compeft:")) {
        s.method = FieldMethod::Compeft;
        const auto value = parseNumber(text.substr(8));
        if (!value)
            return std::nullopt;
        s.density = *value;
        return checked(s);
    }
    return std::nullopt;
}

std::string describe(const FieldBaselineSettings& settings)
{
    return methodNote(settings);
}

QuantResult quantizeFieldBaseline(const Adapter& adapter, const FieldBaselineSettings& settings,
                                  const ProgressFn& progress)
{
    settings.validate();
    const auto start = std::chrono::steady_clock::now();
    QuantResult result;
    result.method = toString(settings);
    result.methodNote = methodNote(settings);
    result.adapter = adapter.path();
    result.settings.layout = GroupLayout::Flattened;

    const std::vector<LoraModule>& modules = adapter.modules();
    const int passes = allocatesAcrossModules(settings) ? 2 : 1;
    const int count = int(modules.size());
    const auto pass = [&](int index) -> ProgressFn {
        if (!progress)
            return {};
        return [&progress, index, passes, count](int done, int) {
            return progress(index * count + done, passes * count);
        };
    };

    Allocation allocation;
    if (passes == 2) {
        double parameters = 0;
        for (const LoraModule& module : modules)
            parameters += double(module.r) * (double(module.m) + module.n);
        bool finished = false;
        if (settings.method == FieldMethod::Truncate) {
            std::vector<Eigen::VectorXf> spectra(modules.size());
            finished = runModulesInParallel(
                modules.size(),
                [&](std::size_t i) {
                    const ModuleFactors f = adapter.factors(i);
                    requireComputableFactors(f.B, f.A, {}, modules[i].name);
                    spectra[i] = reparameterize(f.B, f.A).singularValues;
                },
                pass(0));
            std::vector<std::pair<int, int>> shapes;
            for (const LoraModule& module : modules)
                shapes.emplace_back(module.m, module.n);
            if (finished)
                allocation.ranks = truncationRanksForBudget(spectra, shapes, settings.bits);
        } else {
            std::vector<DeltaComeModuleTable> tables(modules.size());
            finished = runModulesInParallel(
                modules.size(),
                [&](std::size_t i) {
                    const ModuleFactors f = adapter.factors(i);
                    requireComputableFactors(f.B, f.A, {}, modules[i].name);
                    tables[i] = deltaComeTable(reparameterize(f.B, f.A));
                },
                pass(0));
            if (finished)
                allocation.tiers = deltaComeAllocate(tables, parameters, settings.bits);
        }
        if (!finished) {
            result.cancelled = true;
            result.seconds = secondsSince(start);
            return result;
        }
    }

    std::vector<ModuleResult> out(modules.size());
    const bool finished = runModulesInParallel(
        modules.size(),
        [&](std::size_t i) {
            const LoraModule& module = modules[i];
            const ModuleFactors original = adapter.factors(i);
            if (!original.fits(module))
                throw Error(module.name, "the factors' shapes differ from the module's");
            requireComputableFactors(original.B, original.A, {}, module.name);
            BaselineFactors factors = quantizeFactors(original, settings, allocation, i);
            ModuleResult& r = out[i];
            r.name = module.name;
            r.m = module.m;
            r.n = module.n;
            r.r = module.r;
            const UpdateError error = updateError(original.B, original.A, factors.B, factors.A);
            requireFiniteError(error, {}, module.name);
            r.normSq = error.normSq;
            r.errSq = error.errSq;
            r.relErr = error.relative();
            r.bitsPaper = factors.codeBits;
            r.bitsTrue = factors.storedBits + kModuleHeaderBits;
            r.fieldB = std::move(factors.B);
            r.fieldA = std::move(factors.A);
        },
        pass(passes - 1));
    if (finished) {
        result.modules = std::move(out);
        result.updateTotals();
    } else {
        result.cancelled = true;
    }
    result.seconds = secondsSince(start);
    return result;
}

} // namespace lq
