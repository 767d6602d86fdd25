#pragma once

#include <functional>

namespace lq {

// Progress of a long core operation: called with (done, total) work items; return false to
// cancel. The operation then stops at the next item boundary and reports that it was cancelled.
// Calls may come from worker threads but never two at once.
using ProgressFn = std::function<bool(int done, int total)>;

} // namespace lq
