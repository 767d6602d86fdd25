#include "core/engine/allocatorsettings.h"

#if __has_include(<malloc.h>)
#include <malloc.h> // also what defines __GLIBC__ (through features.h)
#endif

namespace lq {

void keepFreedBlocksForReuse()
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    // Both settings are needed: fixing the trim threshold alone also fixes the mmap threshold at
    // its 128 kB default, so every block above it would be mapped and unmapped (much slower).
    // 32 MB is the largest mmap threshold glibc's own adaptive rule would reach.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

void returnFreedBlocks()
{
#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD)
    malloc_trim(0);
#endif
}

} // namespace lq
