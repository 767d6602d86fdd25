#include "core/packed/planfile.h"

#include "core/io/error.h"
#include "core/io/filename.h"
#include "core/packed/packedfile.h"

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
    if (lowercaseExtension(path) == ".json")
        return readReportPlan(path);
    throw Error(path, "a plan is read from a packed adapter (.lqa.h5) or a JSON report (.json)");
}

} // namespace lq
