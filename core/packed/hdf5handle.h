#pragma once

// Small RAII owners for HDF5 C API identifiers, and the conversion of HDF5 failures into
// lq::Error. Private to core/packed (the packed file's reader and writer); nothing outside
// includes HDF5.

#include "core/io/error.h"

#include <hdf5.h>
#include <mutex>
#include <string>
#include <utility>

namespace lq::h5 {

// One identifier and the function that releases it (H5Fclose, H5Gclose, H5Dclose, ...).
class Handle
{
public:
    using Closer = herr_t (*)(hid_t);

    Handle() = default;
    Handle(hid_t id, Closer closer) : m_id(id), m_closer(closer) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle(Handle&& other) noexcept
        : m_id(std::exchange(other.m_id, H5I_INVALID_HID)), m_closer(other.m_closer)
    {}
    Handle& operator=(Handle&& other) noexcept
    {
        if (this != &other) {
            reset();
            m_id = std::exchange(other.m_id, H5I_INVALID_HID);
            m_closer = other.m_closer;
        }
        return *this;
    }
    ~Handle() { reset(); }

    hid_t get() const { return m_id; }
    operator hid_t() const { return m_id; }
    bool valid() const { return m_id >= 0; }

    void reset()
    {
        if (m_id >= 0 && m_closer)
            m_closer(m_id);
        m_id = H5I_INVALID_HID;
    }

private:
    hid_t m_id = H5I_INVALID_HID;
    Closer m_closer = nullptr;
};

// The serial HDF5 library is not thread-safe: every use goes through this lock (the GUI may
// read a packed file on a worker while the CLI-style code runs elsewhere).
std::mutex& libraryMutex();

// Silences HDF5's own printing of its error stack (once per process); failures are reported
// through lq::Error instead. The first call also turns off libhdf5's cleanup at exit (see
// hdf5handle.cpp), so it must come before any other HDF5 call of the process.
void silenceErrorPrinting();

// The innermost HDF5 error message of the current stack ("truncated file: eof = ...", ...), or
// an empty string.
std::string lastErrorMessage();

// Throws lq::Error(file, what + HDF5's message) when `id` is negative; returns it otherwise.
hid_t check(hid_t id, const std::string& file, const std::string& what);
void checkStatus(herr_t status, const std::string& file, const std::string& what);

} // namespace lq::h5
