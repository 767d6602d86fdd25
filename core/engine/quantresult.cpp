#include "core/engine/quantresult.h"

#include <cassert>
#include <cmath>

namespace lq {
namespace {

// The vectors of one factor as the columns of a length x count matrix: the high part's, then
// the low part's (a baseline has only one part). The vector-after-vector layout is column-major.
Eigen::MatrixXf vectorsAsColumns(const QuantizedVectors& first, const QuantizedVectors* second,
                                 int length, int count)
{
    assert(first.valueCount() + (second ? second->valueCount() : 0) ==
           std::int64_t(length) * count);
    Eigen::MatrixXf columns(length, count);
    first.dequantizeInto(columns.data());
    if (second)
        second->dequantizeInto(columns.data() + first.valueCount());
    return columns;
}

} // namespace

// Whole-adapter baselines (bitsHigh 0) quantize B and A row by row (baseline.h), so their
// vectors are rows; LoRAQuant's are components, B's columns and A's rows.
Eigen::MatrixXf ModuleResult::dequantizedB() const
{
    if (fieldB.size() > 0 || fieldA.size() > 0)
        return fieldB;
    if (bitsHigh == 0)
        return vectorsAsColumns(baselineB, nullptr, r, m).transpose();
    return vectorsAsColumns(bHigh, &bLow, m, r);
}

Eigen::MatrixXf ModuleResult::dequantizedA() const
{
    if (fieldB.size() > 0 || fieldA.size() > 0)
        return fieldA;
    if (bitsHigh == 0)
        return vectorsAsColumns(baselineA, nullptr, n, r).transpose();
    return vectorsAsColumns(aHigh, &aLow, n, r).transpose();
}

void QuantResult::updateTotals()
{
    parameterCount = 0;
    double bitsPaper = 0, bitsTrue = 0, errSq = 0, normSq = 0, relErrSum = 0;
    for (const ModuleResult& module : modules) {
        parameterCount += std::int64_t(module.r) * (module.m + module.n);
        bitsPaper += module.bitsPaper;
        bitsTrue += module.bitsTrue;
        errSq += module.errSq;
        normSq += module.normSq;
        relErrSum += module.relErr;
    }
    avgBitsPaper = parameterCount ? bitsPaper / double(parameterCount) : 0.0;
    avgBitsTrue = parameterCount ? bitsTrue / double(parameterCount) : 0.0;
    relErrTotal = normSq > 0 ? std::sqrt(errSq / normSq) : 0.0;
    relErrMean = modules.empty() ? 0.0 : relErrSum / double(modules.size());
}

} // namespace lq
