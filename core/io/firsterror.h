#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <utility>

namespace lq {

// Carries an exception out of an OpenMP parallel region. An exception that leaves a region (or
// a worker thread's part of it) calls std::terminate: std::bad_alloc under a memory limit, or an
// lq::Error from one module, would kill the process with SIGABRT instead of reaching the
// caller. Every region wraps the work of each iteration in run() and calls rethrow() after the
// region, on the calling thread:
//
//     FirstError error;
//     #pragma omp parallel for
//     for (i ...) error.run([&] { work(i); });
//     error.rethrow();
//
// The first exception (in time) is kept; once one was thrown, run() skips the work still to
// come, so a failed region ends soon. Iterations are still entered, so worksharing loops and
// barriers inside a region are reached by every thread as OpenMP requires.
//
// run(i, work) is for loops whose failures should not depend on the schedule: the exception of
// the lowest failing index is kept, and only work above that index is skipped, so the message
// names the same module (the first in file order) with any thread count.
class FirstError
{
public:
    // Runs work() unless an earlier call failed; an exception it throws is kept, not propagated.
    template <typename Work>
    void run(Work&& work) noexcept
    {
        if (failed())
            return;
        try {
            std::forward<Work>(work)();
        } catch (...) {
            keepCurrent(kNoIndex);
        }
    }

    // Runs work() for iteration `index` unless a lower index failed; keeps the exception of the
    // lowest failing index.
    template <typename Work>
    void run(std::int64_t index, Work&& work) noexcept
    {
        if (index > m_failedIndex.load(std::memory_order_relaxed))
            return;
        try {
            std::forward<Work>(work)();
        } catch (...) {
            keepCurrent(index);
        }
    }

    bool failed() const noexcept { return m_failed.load(std::memory_order_relaxed); }

    // Rethrows the kept exception, if any; call it after the region.
    void rethrow()
    {
        if (m_error)
            std::rethrow_exception(m_error);
    }

private:
    // Called inside a catch block. std::current_exception takes a reference to the thrown
    // object (libstdc++ allocates nothing), so this also works for std::bad_alloc.
    void keepCurrent(std::int64_t index) noexcept
    {
        const std::lock_guard lock(m_mutex);
        if (!m_error || index < m_failedIndex.load(std::memory_order_relaxed)) {
            m_error = std::current_exception();
            m_failedIndex.store(index, std::memory_order_relaxed);
        }
        m_failed.store(true, std::memory_order_relaxed);
    }

    // Unindexed runs fail "at" the lowest index, so that they skip everything after them.
    static constexpr std::int64_t kNoIndex = std::numeric_limits<std::int64_t>::min();

    std::atomic<bool> m_failed = false;
    std::atomic<std::int64_t> m_failedIndex = std::numeric_limits<std::int64_t>::max();
    std::mutex m_mutex;
    std::exception_ptr m_error;
};

} // namespace lq
