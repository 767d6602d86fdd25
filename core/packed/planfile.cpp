#include "planfile.h"

#include "../io/error.h"
#include "packedfile.h"

#include <algorithm>
#include <cctype>

namespace lq {

QuantPlan planOf(const PackedAdapter& packed, const std::string& file)
{
    QuantPlan plan;
    plan.file = file;
    plan.settings = packed.settings;
    plan.settings.hOverride.clear();
    plan.settings.bitsHighOverride.clear();
    for (const PackedModule& module : packed.modules)
        plan.modules.push_back({module.name, module.r, module.h, module.bitsHigh});
    return plan;
}

QuantPlan readQuantPlan(const std::string& path)
{
    if (isPackedAdapterPath(path))
        return planOf(readPackedAdapter(path), path);
    std::string extension = path.size() >= 5 ? path.substr(path.size() - 5) : std::string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (extension == ".json")
        return readReportPlan(path);
    throw Error(path, "a plan is read from a packed adapter (.lqa.h5) or a JSON report (.json)");
}

} // namespace lq
