#include "core/packed/hdf5handle.h"

namespace lq::h5 {

std::mutex& libraryMutex()
{
    static std::mutex mutex;
    return mutex;
}

void silenceErrorPrinting()
{
    static std::once_flag once;
    std::call_once(once, [] {
        // No cleanup at exit, which needs to come before any other call. A damaged object
        // header can make libhdf5 1.10 fail to close the file after H5Dopen2 failed on it
        // (its metadata cache keeps an entry); the cleanup at exit then crashed closing that
        // file (SIGSEGV in H5F__close_cb), after the error had been reported, so that
        // `loraquant validate` exited 139 instead of 1 (found by fuzz_packed). A file opened
        // again later reads afresh; the failed one stays allocated until the process ends.
        H5dont_atexit();
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    });
}

namespace {

herr_t firstMessage(unsigned position, const H5E_error2_t* error, void* data)
{
    auto* message = static_cast<std::string*>(data);
    if (position == 0 && error && error->desc)
        *message = error->desc;
    return 0;
}

} // namespace

std::string lastErrorMessage()
{
    std::string message;
    // Upward: the walk starts at the most specific entry (the layer that found the problem, e.g.
    // "truncated file: eof = ..."); downward it would start at the API call ("unable to open
    // file"), which says nothing the caller's own message does not.
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, firstMessage, &message);
    return message;
}

hid_t check(hid_t id, const std::string& file, const std::string& what)
{
    if (id < 0) {
        const std::string detail = lastErrorMessage();
        throw Error(file, detail.empty() ? what : what + " (HDF5: " + detail + ")");
    }
    return id;
}

void checkStatus(herr_t status, const std::string& file, const std::string& what)
{
    if (status < 0) {
        const std::string detail = lastErrorMessage();
        throw Error(file, detail.empty() ? what : what + " (HDF5: " + detail + ")");
    }
}

} // namespace lq::h5
