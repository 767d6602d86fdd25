#pragma once

#include "core/engine/quantsettings.h"
#include "core/io/adapter.h"

#include <string>
#include <vector>

namespace lq {

// What an earlier quantization chose, so that a batch run can repeat it: each module's h and
// high-part width (splits dragged in the workbench, a budget allocation) and the settings that
// fix the bits and the refinement (group size and layout, scale format, refinement, component
// order). Applied to the adapter it came from, it reproduces that result's bits and error;
// applied to another adapter with the same modules and ranks (another adapter trained on the
// same base model and targets), it gives that one the same allocation.
struct PlannedModule
{
    std::string name;
    int r = 0;
    int h = 0;
    int bitsHigh = 2;
};

struct QuantPlan
{
    std::string file;       // where the plan was read, for messages
    QuantSettings settings; // without overrides: `modules` carries them
    std::vector<PlannedModule> modules;

    // `settings` with every module's h and width as overrides. Throws lq::Error(file, ...) when
    // the plan does not fit `adapter`: a module of either is missing from the other, or a rank
    // differs. The message names the first such module and says how many there are.
    QuantSettings settingsFor(const Adapter& adapter) const;
};

// The plan of a JSON report, as `loraquant quantize --report` and the workbench's Export Report
// write it (report.h). Throws lq::Error(file, problem) for text that is not such a report, for a
// whole-adapter baseline's report (it has no split) and for a cancelled run's.
QuantPlan parseReportPlan(const std::string& jsonText, const std::string& file);
QuantPlan readReportPlan(const std::string& path);

} // namespace lq
