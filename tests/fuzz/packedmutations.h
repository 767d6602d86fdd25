#pragma once

// Edits of a packed file (.lqa.h5) through the HDF5 API, the way a hostile file would be made:
// datasets whose bytes live elsewhere (external storage, virtual layout), other layouts and
// filters, links other than hard links, datasets never written, changed extents, retyped or odd
// attributes. Shared by fuzz_packedrecipe (which chooses them from the fuzz bytes), the packed
// tests and make_packed_seeds (which write the crafted files of tests/data/bad).
//
// Every function returns false when HDF5 refused the edit (the file is then as HDF5 left it);
// all identifiers are closed before returning.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <hdf5.h>
#include <string>
#include <utility>
#include <vector>

namespace lqmut {

// One HDF5 identifier, closed at scope exit.
class Id
{
public:
    Id(hid_t id, herr_t (*close)(hid_t)) : m_id(id), m_close(close) {}
    Id(const Id&) = delete;
    Id& operator=(const Id&) = delete;
    ~Id()
    {
        if (m_id >= 0)
            m_close(m_id);
    }
    operator hid_t() const { return m_id; }
    bool ok() const { return m_id >= 0; }

private:
    hid_t m_id;
    herr_t (*m_close)(hid_t);
};

// A one-dimensional dataset's element type and bytes.
struct Contents
{
    std::vector<std::uint8_t> bytes;
    hsize_t count = 0;
    std::size_t elementBytes = 0;
};

// Only a dataset stored inside the file, reached through a hard link, and at most 1 MiB: the
// edits never copy the bytes of another file into the one they make (the fuzzer checks that
// the reader never lets those bytes through), and their files stay small and fast.
inline bool readContents(hid_t location, const char* name, hid_t& typeOut, Contents& out)
{
#if H5_VERSION_GE(1, 12, 0)
    H5L_info2_t link;
    if (H5Lget_info2(location, name, &link, H5P_DEFAULT) < 0 || link.type != H5L_TYPE_HARD)
        return false;
#else
    H5L_info_t link;
    if (H5Lget_info(location, name, &link, H5P_DEFAULT) < 0 || link.type != H5L_TYPE_HARD)
        return false;
#endif
    const Id dataset(H5Dopen2(location, name, H5P_DEFAULT), H5Dclose);
    if (!dataset.ok())
        return false;
    const Id dcpl(H5Dget_create_plist(dataset), H5Pclose);
    // Nor through a filter: libhdf5 1.10's own filters overrun buffers on data they did not
    // write (found here; the reader refuses filtered datasets before reading them).
    if (!dcpl.ok() || H5Pget_external_count(dcpl) != 0 || H5Pget_layout(dcpl) == H5D_VIRTUAL ||
        H5Pget_nfilters(dcpl) != 0)
        return false;
    const Id space(H5Dget_space(dataset), H5Sclose);
    if (H5Sget_simple_extent_ndims(space) != 1)
        return false;
    H5Sget_simple_extent_dims(space, &out.count, nullptr);
    typeOut = H5Dget_type(dataset);
    out.elementBytes = H5Tget_size(typeOut);
    if (out.elementBytes == 0 || out.count > (hsize_t(1) << 20) / out.elementBytes) {
        H5Tclose(typeOut);
        return false;
    }
    out.bytes.assign(std::size_t(out.count) * out.elementBytes, 0);
    if (out.count > 0 &&
        H5Dread(dataset, typeOut, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.bytes.data()) < 0) {
        H5Tclose(typeOut);
        return false;
    }
    return true;
}

namespace detail {

inline herr_t copyOneAttribute(hid_t from, const char* name, const H5A_info_t*, void* data)
{
    const hid_t to = *static_cast<hid_t*>(data);
    const Id attribute(H5Aopen(from, name, H5P_DEFAULT), H5Aclose);
    const Id type(H5Aget_type(attribute), H5Tclose);
    const Id space(H5Aget_space(attribute), H5Sclose);
    if (!attribute.ok() || !type.ok() || !space.ok() || H5Tis_variable_str(type) > 0)
        return 0;
    const hsize_t size = H5Aget_storage_size(attribute);
    if (size > (hsize_t(1) << 24))
        return 0;
    std::vector<std::uint8_t> buffer(std::size_t(size) + 16, 0);
    if (H5Aread(attribute, type, buffer.data()) < 0)
        return 0;
    const Id copy(H5Acreate2(to, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (copy.ok())
        H5Awrite(copy, type, buffer.data());
    return 0;
}

} // namespace detail

inline void copyAttributes(hid_t from, hid_t to)
{
    hsize_t index = 0;
    H5Aiterate2(from, H5_INDEX_NAME, H5_ITER_NATIVE, &index, detail::copyOneAttribute, &to);
}

// What replaceDataset does to the dataset's storage.
struct Storage
{
    enum Kind
    {
        Contiguous,
        Compact,
        Chunked,
        External,    // bytes in `otherFile` at `offset`
        Virtual,     // maps `otherDataset` of the HDF5 file `otherFile`
        Unallocated, // late allocation, never written: reads as the fill value
    } kind = Contiguous;
    hsize_t count = 0;    // new extent; the old data is cut or zero-padded to it
    hsize_t chunk = 1;    // Chunked
    unsigned filters = 0; // Chunked: bit 0 deflate, 1 shuffle, 2 fletcher32
    bool partial = false; // Chunked: only the first chunk is written
    std::string otherFile;
    std::string otherDataset = "/codes";
    std::int64_t offset = 0;
};

// Recreates dataset `name` of `location` with the same type and attributes and the given
// storage.
inline bool replaceDataset(hid_t location, const char* name, const Storage& storage)
{
    hid_t rawType = H5I_INVALID_HID;
    Contents old;
    if (!readContents(location, name, rawType, old))
        return false;
    const Id type(rawType, H5Tclose);
    const std::string moved = std::string(name) + ".old";
    if (H5Lmove(location, name, location, moved.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
        return false;
    const Id oldDataset(H5Dopen2(location, moved.c_str(), H5P_DEFAULT), H5Dclose);

    const hsize_t dims[1] = {storage.count};
    const Id space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    const Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_obj_track_times(dcpl, false); // the crafted files of tests/data/bad stay the same
    bool write = true;
    switch (storage.kind) {
    case Storage::Contiguous:
        break;
    case Storage::Compact:
        H5Pset_layout(dcpl, H5D_COMPACT);
        break;
    case Storage::Chunked: {
        const hsize_t chunk[1] = {storage.chunk ? storage.chunk : 1};
        H5Pset_chunk(dcpl, 1, chunk);
        if (storage.filters & 2u)
            H5Pset_shuffle(dcpl);
        if (storage.filters & 1u)
            H5Pset_deflate(dcpl, 6);
        if (storage.filters & 4u)
            H5Pset_fletcher32(dcpl);
        break;
    }
    case Storage::External:
        H5Pset_external(dcpl, storage.otherFile.c_str(), off_t(storage.offset),
                        hsize_t(storage.count) * old.elementBytes);
        write = false; // writing would write into the other file
        break;
    case Storage::Virtual: {
        const Id source(H5Screate_simple(1, dims, nullptr), H5Sclose);
        H5Pset_virtual(dcpl, space, storage.otherFile.c_str(), storage.otherDataset.c_str(),
                       source);
        write = false;
        break;
    }
    case Storage::Unallocated: {
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_IFSET);
        write = false;
        break;
    }
    }
    const Id dataset(H5Dcreate2(location, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                     H5Dclose);
    if (!dataset.ok()) {
        // Put the original back, so that a refused edit leaves the file valid.
        H5Lmove(location, moved.c_str(), location, name, H5P_DEFAULT, H5P_DEFAULT);
        return false;
    }
    if (oldDataset.ok())
        copyAttributes(oldDataset, dataset);
    H5Ldelete(location, moved.c_str(), H5P_DEFAULT);
    if (!write || storage.count == 0)
        return true;
    std::vector<std::uint8_t> data(std::size_t(storage.count) * old.elementBytes, 0);
    std::copy_n(old.bytes.begin(), std::min(data.size(), old.bytes.size()), data.begin());
    if (storage.kind == Storage::Chunked && storage.partial) {
        const hsize_t start[1] = {0}, size[1] = {std::min(storage.chunk, storage.count)};
        const Id fileSpace(H5Dget_space(dataset), H5Sclose);
        H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nullptr, size, nullptr);
        const Id memSpace(H5Screate_simple(1, size, nullptr), H5Sclose);
        return H5Dwrite(dataset, type, memSpace, fileSpace, H5P_DEFAULT, data.data()) >= 0;
    }
    return H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0;
}

// The extent of a one-dimensional dataset, or -1.
inline std::int64_t extentOf(hid_t location, const char* name)
{
    const Id dataset(H5Dopen2(location, name, H5P_DEFAULT), H5Dclose);
    if (!dataset.ok())
        return -1;
    const Id space(H5Dget_space(dataset), H5Sclose);
    hsize_t count = 0;
    if (H5Sget_simple_extent_ndims(space) != 1)
        return -1;
    H5Sget_simple_extent_dims(space, &count, nullptr);
    return std::int64_t(count);
}

enum class Link
{
    Soft,     // the object moves to `<name>.target`; `name` becomes a soft link to it
    Dangling, // a soft link to nothing
    External, // an external link to `otherObject` of `otherFile`
    User,     // a user-defined link (class 187)
};

inline constexpr H5L_type_t kUserLinkClass = H5L_type_t(187);

// Traversal fails: whatever a reader does, the link leads nowhere.
inline hid_t refuseTraversal(const char*, hid_t, const void*, size_t, hid_t, hid_t)
{
    return H5I_INVALID_HID;
}

inline bool registerUserLinkClass()
{
    static const bool registered = [] {
        static const H5L_class_t linkClass = {H5L_LINK_CLASS_T_VERS,
                                              kUserLinkClass,
                                              "lq-fuzz user link",
                                              nullptr,
                                              nullptr,
                                              nullptr,
                                              refuseTraversal,
                                              nullptr,
                                              nullptr};
        return H5Lregister(&linkClass) >= 0;
    }();
    return registered;
}

// Replaces the hard link `name` (in the group at `groupPath`, "/" or "/tensors") by a link of
// another kind.
inline bool replaceLink(hid_t file, const std::string& groupPath, const char* name, Link kind,
                        const std::string& otherFile = {},
                        const std::string& otherObject = "/codes")
{
    const Id group(H5Gopen2(file, groupPath.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.ok() || H5Lexists(group, name, H5P_DEFAULT) <= 0)
        return false;
    const std::string prefix = groupPath == "/" ? "/" : groupPath + "/";
    if (kind == Link::Soft) {
        const std::string target = std::string(name) + ".target";
        if (H5Lmove(group, name, group, target.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
            return false;
        return H5Lcreate_soft((prefix + target).c_str(), group, name, H5P_DEFAULT, H5P_DEFAULT) >=
               0;
    }
    if (H5Ldelete(group, name, H5P_DEFAULT) < 0)
        return false;
    switch (kind) {
    case Link::Dangling:
        return H5Lcreate_soft("/no/such/object", group, name, H5P_DEFAULT, H5P_DEFAULT) >= 0;
    case Link::External:
        return H5Lcreate_external(otherFile.c_str(), otherObject.c_str(), group, name, H5P_DEFAULT,
                                  H5P_DEFAULT) >= 0;
    case Link::User: {
        if (!registerUserLinkClass())
            return false;
        const char data[] = "lq";
        return H5Lcreate_ud(group, name, kUserLinkClass, data, sizeof data, H5P_DEFAULT,
                            H5P_DEFAULT) >= 0;
    }
    case Link::Soft:
        break;
    }
    return false;
}

// A scalar string attribute holding exactly `bytes` (NUL bytes and all), replacing any of the
// same name.
inline bool writeStringAttribute(hid_t object, const char* name, const std::string& bytes,
                                 H5T_cset_t cset = H5T_CSET_UTF8,
                                 H5T_str_t padding = H5T_STR_NULLPAD)
{
    if (H5Aexists(object, name) > 0)
        H5Adelete(object, name);
    const Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, bytes.empty() ? 1 : bytes.size());
    H5Tset_strpad(type, padding);
    H5Tset_cset(type, cset);
    const Id space(H5Screate(H5S_SCALAR), H5Sclose);
    const Id attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attribute.ok())
        return false;
    std::string padded = bytes;
    padded.resize(bytes.empty() ? 1 : bytes.size(), '\0');
    return H5Awrite(attribute, type, padded.data()) >= 0;
}

// An attribute of another kind under the same name.
enum class Retype
{
    Integer,        // int64 -7
    Float,          // float64 1e300
    VariableString, // a variable-length string
    Array,          // two int64 values
    Null,           // a null dataspace
};

inline bool retypeAttribute(hid_t object, const char* name, Retype kind)
{
    if (H5Aexists(object, name) > 0)
        H5Adelete(object, name);
    const hsize_t two[1] = {2};
    const Id space(kind == Retype::Array  ? H5Screate_simple(1, two, nullptr)
                   : kind == Retype::Null ? H5Screate(H5S_NULL)
                                          : H5Screate(H5S_SCALAR),
                   H5Sclose);
    if (kind == Retype::VariableString) {
        const Id type(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(type, H5T_VARIABLE);
        const Id attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT),
                           H5Aclose);
        const char* value = "variable";
        return attribute.ok() && H5Awrite(attribute, type, &value) >= 0;
    }
    const hid_t type = kind == Retype::Float ? H5T_IEEE_F64LE : H5T_STD_I64LE;
    const Id attribute(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attribute.ok())
        return false;
    if (kind == Retype::Null)
        return true;
    const double real = 1e300;
    const std::int64_t integers[2] = {-7, 1 << 20};
    return kind == Retype::Float ? H5Awrite(attribute, H5T_NATIVE_DOUBLE, &real) >= 0
                                 : H5Awrite(attribute, H5T_NATIVE_INT64, integers) >= 0;
}

// Overwrites `bytes.size()` bytes of column `column` of row `row` of /modules (clipped to the
// column), in the file's own compound type.
inline bool pokeTable(hid_t file, hsize_t row, const char* column, const std::string& bytes)
{
    const Id dataset(H5Dopen2(file, "modules", H5P_DEFAULT), H5Dclose);
    if (!dataset.ok())
        return false;
    const Id type(H5Dget_type(dataset), H5Tclose);
    const Id space(H5Dget_space(dataset), H5Sclose);
    hsize_t rows = 0;
    if (H5Tget_class(type) != H5T_COMPOUND || H5Sget_simple_extent_ndims(space) != 1)
        return false;
    H5Sget_simple_extent_dims(space, &rows, nullptr);
    const int index = H5Tget_member_index(type, column);
    const std::size_t rowSize = H5Tget_size(type);
    if (rows == 0 || index < 0 || rows * rowSize > (std::size_t(1) << 24))
        return false;
    row %= rows;
    const Id member(H5Tget_member_type(type, unsigned(index)), H5Tclose);
    const std::size_t offset = H5Tget_member_offset(type, unsigned(index));
    const std::size_t width = H5Tget_size(member);
    std::vector<std::uint8_t> table(rows * rowSize);
    if (H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, table.data()) < 0)
        return false;
    std::memcpy(table.data() + row * rowSize + offset, bytes.data(), std::min(width, bytes.size()));
    return H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, table.data()) >= 0;
}

} // namespace lqmut
