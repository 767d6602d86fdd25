#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

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

// Several files that must appear together (a PEFT folder's tensors and config): each is written
// to its temporary file and flushed first; commit() renames them over their real names only once
// every one was written. Destroyed before commit() (a failure, an exception), it removes its
// temporary files, so a failed write leaves the folder as it was. The renames themselves need no
// space; a failure between two of them (the folder turned read-only in that instant) is reported
// and may leave the earlier files replaced.
class StagedFiles
{
public:
    StagedFiles() = default;
    StagedFiles(const StagedFiles&) = delete;
    StagedFiles& operator=(const StagedFiles&) = delete;
    ~StagedFiles();

    void add(const std::string& path, std::span<const std::byte> content);
    void add(const std::string& path, const std::string& content);
    void add(const std::string& path,
             const std::function<void(const std::string& temporaryPath)>& produce);
    void commit();

private:
    struct Staged
    {
        std::string temporary;
        std::string path;
    };
    std::vector<Staged> m_staged;
};

} // namespace lq
