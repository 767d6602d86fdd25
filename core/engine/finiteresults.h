#pragma once

#include "core/engine/updateerror.h"

#include <Eigen/Core>
#include <string>

namespace lq {

// Checks that keep overflowed float32 out of every reported figure. Overflow inside the SVD
// gives finite nonsense (zero or unsorted singular values, a relative error of 0), so factors
// are checked before the work against factorRangeProblem (core/io/factorrange.h), the rule
// Adapter::load applies to files; this applies it to factors that did not come through load
// (in memory, decoded from a packed file). The results are then checked for Inf and NaN as a
// last line of defence.
//
// All throw lq::Error(file, "module NAME: ...") naming the problem; `file` may be empty when the
// caller does not know it (the message then names the module alone).
void requireComputableFactors(const Eigen::MatrixXf& B, const Eigen::MatrixXf& A,
                              const std::string& file, const std::string& module);
void requireFiniteSpectrum(const Eigen::VectorXf& singularValues, const std::string& file,
                           const std::string& module);
void requireFiniteError(const UpdateError& error, const std::string& file,
                        const std::string& module);

} // namespace lq
