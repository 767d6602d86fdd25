#pragma once

#include "core/packed/packedformat.h"

#include <string>

namespace lq {

// The .lqa.h5 file: HDF5 (readable with h5dump and h5py alone), layout in docs/FORMAT.md.
// All calls into the HDF5 library are serialized (the serial library is not thread-safe); the
// functions may be called from any thread.

// True when `path` ends in ".lqa.h5".
bool isPackedAdapterPath(const std::string& path);

// Writes `adapter` atomically (temporary file in the same folder, then rename). No chunking, no
// compression, object timestamps off: the file is the codes, scales and zero points plus a
// module table and a fixed header, and the same adapter always gives the same bytes. Throws
// lq::Error naming `path`; nothing is left behind on failure.
void writePackedAdapter(const std::string& path, const PackedAdapter& adapter);

// Quantization result -> packed file in one call (packAdapter, then writePackedAdapter).
// Refuses to write over the source adapter's files.
void exportPackedAdapter(const std::string& path, const Adapter& adapter,
                         const QuantResult& result);

// Reads and validates everything before returning: format name and version, the settings'
// names, the module table (shapes, bit widths, names, offsets), every dataset's type and size
// against m, n, r, h, bits and the group size, finite non-negative scales, zero padding bits,
// the non-LoRA tensors' dtype, shape and size. Throws lq::Error(path, problem) on any failure,
// including files HDF5 itself cannot open (truncated, not HDF5).
PackedAdapter readPackedAdapter(const std::string& path);

} // namespace lq
