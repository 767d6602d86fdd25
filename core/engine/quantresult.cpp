#include "quantresult.h"

#include <cmath>

namespace lq {

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
