#pragma once

// Checks of a packed file's raw bytes for what libhdf5 itself cannot survive, made before the
// library opens the file. Private to core/packed.

#include <cstddef>
#include <span>
#include <string>

namespace lq::h5 {

// Why libhdf5 must not open a file with these bytes, or "" when nothing is known to hang it.
//
// One check today: a global heap collection ("GCOL", version 1) whose object list does not
// advance. libhdf5 1.10 walks the objects of a collection by their sizes and loops forever on a
// free-space entry of size 0, or on a size that wraps the sum (found by fuzz_packed: a dataset
// whose layout points into such a heap hung `validate` inside H5Dopen). Packed files never hold
// a global heap, so this only refuses crafted files (the signature, its version and a walk that
// meets a zero size would have to stand in the data by chance).
std::string rawBytesProblem(std::span<const std::byte> bytes);

} // namespace lq::h5
