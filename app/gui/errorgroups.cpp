#include "errorgroups.h"

#include "adapterdocument.h"

#include <cmath>
#include <map>

namespace lq::gui {

std::vector<ErrorGroup> groupModules(const AdapterDocument& document, ErrorGrouping grouping)
{
    std::vector<ErrorGroup> groups;
    const std::vector<int>& order = document.displayOrder();
    switch (grouping) {
    case ErrorGrouping::Modules:
        for (int i : order)
            groups.push_back({document.moduleLabel(i), {i}});
        break;
    case ErrorGrouping::Layers: {
        int previous = -2;
        for (int i : order) {
            const int layer = document.module(i).layer;
            if (layer != previous || groups.empty())
                groups.push_back(
                    {layer >= 0 ? QStringLiteral("L%1").arg(layer) : QStringLiteral("other"), {}});
            groups.back().modules.push_back(i);
            previous = layer;
        }
        break;
    }
    case ErrorGrouping::Kinds: {
        std::map<std::string, std::size_t> groupOf;
        for (int i : order) {
            const lq::LoraModule& module = document.module(i);
            const std::string& kind = module.kind.empty() ? module.name : module.kind;
            const auto [found, added] = groupOf.emplace(kind, groups.size());
            if (added)
                groups.push_back({QString::fromStdString(kind), {}});
            groups[found->second].modules.push_back(i);
        }
        break;
    }
    }
    return groups;
}

double combinedError(const AdapterDocument& document, const std::vector<int>& modules,
                     const std::vector<double>& perModule)
{
    double errSq = 0, normSq = 0;
    for (int i : modules) {
        const lq::ModuleResult* result = document.moduleResult(i);
        if (!result || std::size_t(i) >= perModule.size())
            continue;
        const double e = perModule[std::size_t(i)];
        errSq += e * e * result->normSq;
        normSq += result->normSq;
    }
    return normSq > 0 ? std::sqrt(errSq / normSq) : 0.0;
}

} // namespace lq::gui
