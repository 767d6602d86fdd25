#pragma once

#include "core/io/progress.h"

#include <cstddef>
#include <functional>

namespace lq {

// Internal to the engine: runs work(i) for every module index in parallel (OpenMP, dynamic
// schedule, one module per task). Each work(i) must only write its own slot of the caller's
// output, so the outcome cannot depend on the thread count or the order of completion.
// progress(done, count) is called after each module from inside a critical section (never two
// calls at once); when it returns false the modules not yet started are skipped and
// runModulesInParallel returns false. An exception thrown by work() skips the modules after it
// and is rethrown here after the loop; modules before it still run, so the error rethrown is
// always the one of the lowest failing index, whatever the schedule.
bool runModulesInParallel(std::size_t count, const std::function<void(std::size_t)>& work,
                          const ProgressFn& progress);

} // namespace lq
