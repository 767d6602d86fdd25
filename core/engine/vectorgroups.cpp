#include "core/engine/vectorgroups.h"

#include <algorithm>

namespace lq {
namespace {

int ceilDiv(std::int64_t a, std::int64_t b)
{
    return int((a + b - 1) / b);
}

} // namespace

int VectorGroups::groupCount() const
{
    if (count <= 0 || length <= 0 || groupSize <= 0)
        return 0;
    if (layout == GroupLayout::PerComponent)
        return count * ceilDiv(length, groupSize);
    return ceilDiv(valueCount(), groupSize);
}

std::int64_t VectorGroups::groupBegin(int group) const
{
    if (layout == GroupLayout::PerComponent) {
        const int perVector = ceilDiv(length, groupSize);
        return std::int64_t(group / perVector) * length +
               std::int64_t(group % perVector) * groupSize;
    }
    return std::int64_t(group) * groupSize;
}

std::int64_t VectorGroups::groupEnd(int group) const
{
    if (layout == GroupLayout::PerComponent) {
        const int perVector = ceilDiv(length, groupSize);
        const std::int64_t vectorEnd = std::int64_t(group / perVector + 1) * length;
        return std::min(groupBegin(group) + groupSize, vectorEnd);
    }
    return std::min(groupBegin(group) + groupSize, valueCount());
}

std::int64_t VectorGroups::storedBits() const
{
    const std::int64_t groups = groupCount();
    return valueCount() * bits + groups * scaleBits(scaleFormat) + (isBinary() ? 0 : groups * bits);
}

} // namespace lq
