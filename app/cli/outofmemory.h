#pragma once

#include <new>
#include <string>
#include <utility>

namespace lq::cli {

// std::bad_alloc that knows what the command was doing, so that main() can say more than
// "std::bad_alloc": "out of memory while computing the singular values of adapter/". Still a
// std::bad_alloc, so that whatever catches those still does.
class OutOfMemory : public std::bad_alloc
{
public:
    explicit OutOfMemory(std::string doing) : m_doing(std::move(doing)) {}
    const char* what() const noexcept override { return "out of memory"; }
    const std::string& doing() const noexcept { return m_doing; }

private:
    std::string m_doing;
};

// work(), with a std::bad_alloc from it turned into OutOfMemory(doing); an OutOfMemory from a
// narrower whileDoing inside passes unchanged. `doing` is made before the work starts, so
// reporting the failure needs no large allocation.
template <typename Work>
decltype(auto) whileDoing(const std::string& doing, Work&& work)
{
    try {
        return std::forward<Work>(work)();
    } catch (const OutOfMemory&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw OutOfMemory(doing);
    }
}

} // namespace lq::cli
