#include "parallelmodules.h"

#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>

namespace lq {

bool runModulesInParallel(std::size_t count, const std::function<void(std::size_t)>& work,
                          const ProgressFn& progress)
{
    std::atomic<bool> cancelled = false;
    // Modules above the lowest failed index are skipped; those below still run, so the error
    // rethrown is the lowest-index one whatever the schedule.
    std::atomic<std::int64_t> firstError = std::numeric_limits<std::int64_t>::max();
    std::exception_ptr error;
    int done = 0;
    const auto total = std::int64_t(count);
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < total; ++i) {
        if (cancelled.load() || i > firstError.load())
            continue;
        // Nothing may leave the region (std::terminate) or a critical section (its lock would
        // stay taken): a throwing progress callback fails this module like its work would.
        try {
            work(std::size_t(i));
            if (progress) {
                std::exception_ptr progressError;
#pragma omp critical(lq_modules_progress)
                {
                    try {
                        if (!cancelled.load() &&
                            firstError.load() == std::numeric_limits<std::int64_t>::max() &&
                            !progress(++done, int(total)))
                            cancelled = true;
                    } catch (...) {
                        progressError = std::current_exception();
                    }
                }
                if (progressError)
                    std::rethrow_exception(progressError);
            }
        } catch (...) {
#pragma omp critical(lq_modules_error)
            {
                if (i < firstError.load()) {
                    firstError = i;
                    error = std::current_exception();
                }
            }
        }
    }
    if (error)
        std::rethrow_exception(error);
    return !cancelled.load();
}

} // namespace lq
