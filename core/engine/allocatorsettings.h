#pragma once

namespace lq {

// Lets glibc's malloc keep freed blocks of up to 32 MB for reuse instead of giving them back to
// the kernel at once. The engine allocates and frees a few MB per module (factors, Gram chunks,
// decoded codes, QR workspaces) on every thread; with the default settings each of those comes
// back from the kernel as fresh zeroed pages. On a 7B rank-64 adapter `loraquant quantize` spent
// 2.4 s of its 6.1 in the kernel, and 0.5 s of 4-4.5 with this. The peak stays as it was (the
// same blocks, reused); an idle process may keep up to 64 MB more per malloc arena. Call once at
// the start of main(), before threads start. Does nothing where the C library is not glibc.
void keepFreedBlocksForReuse();

// Gives the freed blocks kept above back to the kernel, in every malloc arena: for a long-lived
// process at the end of a burst of work (the workbench after each background job), so that it
// does not hold the burst's peak while idle. Does nothing where the C library is not glibc.
void returnFreedBlocks();

} // namespace lq
