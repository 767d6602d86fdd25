#include "core/engine/parallelmodules.h"

#include "core/io/firsterror.h"

#include <atomic>
#include <cstdint>
#include <exception>

namespace lq {

bool runModulesInParallel(std::size_t count, const std::function<void(std::size_t)>& work,
                          const ProgressFn& progress)
{
    std::atomic<bool> cancelled = false;
    // The lowest failing module's error, whatever the schedule (firsterror.h).
    FirstError error;
    int done = 0;
    const auto total = std::int64_t(count);
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < total; ++i) {
        if (cancelled.load())
            continue;
        error.run(i, [&] {
            work(std::size_t(i));
            if (!progress)
                return;
            // Nothing may leave a critical section (its lock would stay taken): a throwing
            // progress callback fails this module like its work would.
            std::exception_ptr progressError;
#pragma omp critical(lq_modules_progress)
            {
                try {
                    if (!cancelled.load() && !error.failed() && !progress(++done, int(total)))
                        cancelled = true;
                } catch (...) {
                    progressError = std::current_exception();
                }
            }
            if (progressError)
                std::rethrow_exception(progressError);
        });
    }
    error.rethrow();
    return !cancelled.load();
}

} // namespace lq
