#include "core/engine/dequantizedadapter.h"

#include "core/io/error.h"

namespace lq {

void writeDequantizedAdapter(const std::string& folder, const Adapter& source,
                             const QuantResult& result)
{
    const auto& modules = source.modules();
    if (result.modules.size() != modules.size())
        throw Error(folder, "cannot write: the result has " +
                                std::to_string(result.modules.size()) + " modules, the adapter " +
                                std::to_string(modules.size()));
    for (std::size_t i = 0; i < modules.size(); ++i) {
        if (result.modules[i].name != modules[i].name)
            throw Error(folder, "cannot write: module " + std::to_string(i) + " is " +
                                    modules[i].name + " in the adapter and " +
                                    result.modules[i].name + " in the result");
    }
    writePeftAdapter(folder, source, [&result](std::size_t i) {
        const ModuleResult& module = result.modules[i];
        return ModuleFactors{module.dequantizedB(), module.dequantizedA()};
    });
}

} // namespace lq
