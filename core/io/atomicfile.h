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
//
// A writer killed before it could remove its temporary (kill -9, a power cut) leaves it behind,
// so temporaries are named for their target and writer: `.NAME.tmp-PID-HOST-RANDOM` beside NAME
// (HOST an 8-digit hash of the host name). Every write of NAME first removes the temporaries of
// NAME that this host's dead processes left; a living process's (another writer of the same
// file at this moment), another host's (a shared network folder) and other files are left alone.
void writeFileAtomically(const std::string& path, std::span<const std::byte> content);
void writeFileAtomically(const std::string& path, const std::string& content);

// For writers that produce their output through a library that wants a file name (HDF5):
// `produce` writes to the temporary path it is given; the rename happens only if it returns
// without throwing. Anything it throws propagates after the temporary file is removed.
void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temporaryPath)>& produce);

// Refuses before any work (lq::Error naming `path`) a file that writeFileAtomically could not
// write: its folder is missing or no folder, `path` is a folder, or the folder takes no new file
// (permissions, a read-only file system; the message gives the system's reason as the write
// would). Creates and removes one empty temporary file to find out. A disk that fills up later
// still fails the write itself, cleanly.
void checkCanWriteFile(const std::string& path);

// The same for an output folder that a writer creates if needed and then fills (a PEFT export):
// when it exists it must be a folder that takes new files, otherwise its nearest existing parent
// must, so that it can be created there.
void checkCanWriteFolder(const std::string& folder);

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
    // `path` (a file of the set that this write does not produce, such as the config of an
    // earlier adapter in the folder) is removed as part of commit(): it is moved aside before
    // the first rename, put back if a rename fails, and deleted once all succeeded. Nothing
    // happens when it does not exist; a folder there is an lq::Error.
    void removeOnCommit(const std::string& path);
    void commit();

private:
    struct Staged
    {
        std::string temporary;
        std::string path;
    };
    std::vector<Staged> m_staged;
    std::vector<std::string> m_removed;
};

} // namespace lq
