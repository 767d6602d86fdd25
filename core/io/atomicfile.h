#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>

namespace lq {

// Writes `path` so that it either appears complete or not at all: the content goes to a temporary
// file in the same folder (same file system, so the rename is atomic), is flushed, and is renamed
// over `path` only when every byte was written. On any failure the temporary file is removed and
// lq::Error names `path` and the reason (for example "No space left on device").
void writeFileAtomically(const std::string& path, std::span<const std::byte> content);
void writeFileAtomically(const std::string& path, const std::string& content);

// For writers that produce their output through a library that wants a file name (HDF5):
// `produce` writes to the temporary path it is given; the rename happens only if it returns
// without throwing. Anything it throws propagates after the temporary file is removed.
void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temporaryPath)>& produce);

} // namespace lq
