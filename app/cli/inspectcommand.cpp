#include "arguments.h"
#include "commands.h"
#include "core/engine/spectrumsummary.h"
#include "core/io/adapter.h"
#include "core/io/error.h"
#include "core/io/jsonoutput.h"
#include "outofmemory.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace lq::cli {

const char* const kInspectUsage =
    "usage: loraquant inspect PATH [--json]\n"
    "\n"
    "Lists the LoRA modules of a PEFT adapter (a folder with adapter_model.safetensors, or the\n"
    ".safetensors file itself) in layer order with, per module: name, m, n, rank r, stored\n"
    "dtype (A/B when lora_A and lora_B differ), the singular values of B A (computed from B\n"
    "and A without forming the m x n product), the share of energy (s_i^2) in the top\n"
    "component and the number of components needed for 80% and 90% of the energy; then\n"
    "totals: modules, LoRA parameters, bytes as stored.\n"
    "\n"
    "  --json   print one JSON object instead: {\"modules\": [{\"name\", \"layer\", \"kind\",\n"
    "           \"m\", \"n\", \"r\", \"dtype\", \"dtype_a\", \"dtype_b\", \"scale\",\n"
    "           \"singular_values\", \"top_energy_share\", \"components_80\", \"components_90\"},\n"
    "           ...], \"totals\": {\"modules\", \"parameters\", \"bytes\"}, \"path\",\n"
    "           \"file_bytes\", \"config\", \"warnings\"}, modules in the file's order\n"
    "\n"
    "A packed file (FILE.lqa.h5, from quantize --export-packed) is described instead: source,\n"
    "settings, per module m, n, r, h, b_h, true bits per weight and error, and the average bit\n"
    "counts (paper, true, whole file).\n"
    "\n"
    "Exit status 0 on success; 1 with the error on stderr when the adapter cannot be read.\n";

namespace {

using Json = nlohmann::ordered_json;

std::string fixed(double value, int decimals)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string general(double value)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.4g", value);
    return text;
}

// The stored types of a module's factors: one name, or "A/B" when lora_A and lora_B differ
// (an exporter that kept one in float32). LoraModule holds B's type only.
struct StoredTypes
{
    DType a;
    DType b;

    std::string text() const
    {
        return a == b ? std::string(dtypeName(b))
                      : std::string(dtypeName(a)) + '/' + std::string(dtypeName(b));
    }
};

StoredTypes storedTypes(const Adapter& adapter, const LoraModule& module)
{
    StoredTypes types{module.dtype, module.dtype};
    if (const SafetensorsFile* file = adapter.file()) {
        if (const TensorEntry* a = file->find(module.keyA))
            types.a = a->dtype;
        if (const TensorEntry* b = file->find(module.keyB))
            types.b = b->dtype;
    }
    return types;
}

Json configJson(const Adapter& adapter)
{
    if (!adapter.config())
        return nullptr;
    const AdapterConfig& config = *adapter.config();
    Json json;
    json["r"] = config.r ? Json(*config.r) : Json(nullptr);
    json["lora_alpha"] = config.loraAlpha ? Json(*config.loraAlpha) : Json(nullptr);
    json["use_rslora"] = config.useRslora;
    json["base_model"] = config.baseModel ? Json(*config.baseModel) : Json(nullptr);
    json["peft_type"] = config.peftType;
    return json;
}

void printJson(const Adapter& adapter, const std::vector<SpectrumSummary>& spectra)
{
    Json json;
    json["path"] = adapter.path();
    json["safetensors"] = adapter.safetensorsPath();
    json["file_bytes"] = adapter.file() ? adapter.file()->fileSize() : 0;
    json["config"] = configJson(adapter);
    Json modules = Json::array();
    for (std::size_t i = 0; i < adapter.modules().size(); ++i) {
        const LoraModule& module = adapter.modules()[i];
        const SpectrumSummary& spectrum = spectra[i];
        Json item;
        item["name"] = module.name;
        item["layer"] = module.layer;
        item["kind"] = module.kind;
        item["m"] = module.m;
        item["n"] = module.n;
        item["r"] = module.r;
        const StoredTypes types = storedTypes(adapter, module);
        item["dtype"] = types.text();
        item["dtype_a"] = std::string(dtypeName(types.a));
        item["dtype_b"] = std::string(dtypeName(types.b));
        item["scale"] = module.scale ? Json(*module.scale) : Json(nullptr);
        item["parameters"] = module.parameterCount();
        item["singular_values"] = spectrum.singularValues;
        item["top_energy_share"] = spectrum.topShare;
        item["components_80"] = spectrum.componentsFor80;
        item["components_90"] = spectrum.componentsFor90;
        modules.push_back(std::move(item));
    }
    json["modules"] = std::move(modules);
    json["totals"] = {{"modules", adapter.modules().size()},
                      {"parameters", adapter.parameterCount()},
                      {"bytes", adapter.storedBytes()}};
    json["other_tensors"] = adapter.otherTensors();
    json["warnings"] = adapter.warnings();
    std::cout << outputJson(json) << '\n';
}

void printTable(const Adapter& adapter, const std::vector<SpectrumSummary>& spectra)
{
    std::cout << "adapter  " << adapter.path() << '\n';
    if (const auto& config = adapter.config()) {
        std::cout << "config   r " << (config->r ? std::to_string(*config->r) : "?")
                  << ", lora_alpha " << (config->loraAlpha ? general(*config->loraAlpha) : "?")
                  << (config->useRslora ? " (rsLoRA)" : "") << ", base model "
                  << config->baseModel.value_or("(none)") << '\n';
    }
    for (const std::string& warning : adapter.warnings())
        std::cout << "warning  " << warning << '\n';
    for (const std::string& name : adapter.otherTensors())
        std::cout << "kept     " << name << " (not a LoRA factor)\n";

    std::size_t width = 6;
    std::size_t typeWidth = 5;
    for (const LoraModule& module : adapter.modules()) {
        width = std::max(width, module.name.size());
        typeWidth = std::max(typeWidth, storedTypes(adapter, module).text().size());
    }
    const auto pad = [](const std::string& text, std::size_t size, bool right) {
        const std::string fill(size > text.size() ? size - text.size() : 0, ' ');
        return right ? fill + text : text + fill;
    };
    std::cout << '\n'
              << pad("module", width, false) << pad("m", 7, true) << pad("n", 7, true)
              << pad("r", 5, true) << "  " << pad("dtype", typeWidth, false) << pad("top%", 7, true)
              << pad("k80", 5, true) << pad("k90", 5, true) << "  singular values of B A\n";
    for (const int i : modulesByLayer(adapter.modules())) {
        const LoraModule& module = adapter.modules()[std::size_t(i)];
        const SpectrumSummary& spectrum = spectra[std::size_t(i)];
        std::string values;
        for (std::size_t k = 0; k < spectrum.singularValues.size(); ++k) {
            if (k == 8) {
                values += " ...";
                break;
            }
            if (k)
                values += ' ';
            values += general(spectrum.singularValues[k]);
        }
        std::cout << pad(module.name, width, false) << pad(std::to_string(module.m), 7, true)
                  << pad(std::to_string(module.n), 7, true)
                  << pad(std::to_string(module.r), 5, true) << "  "
                  << pad(storedTypes(adapter, module).text(), typeWidth, false)
                  << pad(fixed(100 * spectrum.topShare, 1), 7, true)
                  << pad(std::to_string(spectrum.componentsFor80), 5, true)
                  << pad(std::to_string(spectrum.componentsFor90), 5, true) << "  " << values
                  << '\n';
    }
    std::cout << "\ntotals   " << adapter.modules().size() << " modules, "
              << adapter.parameterCount() << " parameters, " << adapter.storedBytes()
              << " bytes of LoRA factors as stored";
    if (adapter.file())
        std::cout << " (file " << adapter.file()->fileSize() << " bytes)";
    std::cout << '\n';
}

} // namespace

int runInspect(const std::vector<std::string>& args)
{
    const Arguments arguments(args, {{"json", false}});
    const std::string& path = arguments.onePositional("PATH (an adapter folder or .safetensors)");
    if (path.size() > 3 && path.compare(path.size() - 3, 3, ".h5") == 0)
        return runInspectPacked(path, arguments.has("json"));
    const Adapter adapter = whileDoing("reading " + path, [&] { return Adapter::load(path); });
    const std::vector<SpectrumSummary> spectra = whileDoing(
        "computing the singular values of " + path, [&] { return adapterSpectra(adapter); });
    if (arguments.has("json"))
        printJson(adapter, spectra);
    else
        printTable(adapter, spectra);
    return 0;
}

} // namespace lq::cli
