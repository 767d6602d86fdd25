#pragma once

#include <stdexcept>
#include <string>

namespace lq {

// The one error type the core throws for bad input or failed output. It always names the file
// (or the module, when the problem is inside an adapter) and says what is wrong, so that the
// CLI can print it as is and the GUI can put it in a dialog.
class Error : public std::runtime_error
{
public:
    Error(std::string file, std::string problem)
        : std::runtime_error(file.empty() ? problem : file + ": " + problem),
          m_file(std::move(file)), m_problem(std::move(problem))
    {}

    const std::string& file() const noexcept { return m_file; }
    const std::string& problem() const noexcept { return m_problem; }

private:
    std::string m_file;
    std::string m_problem;
};

} // namespace lq
