#include "core/packed/packedfileschema.h"

#include "core/packed/packedfile.h"

#include <algorithm>

namespace lq {
namespace packedfile {

using h5::Handle;

std::string shown(std::string_view text)
{
    return excerpt(text, 80);
}

std::string nameProblem(std::string_view name, std::size_t limit)
{
    if (name.size() > limit)
        return "is " + std::to_string(name.size()) + " bytes long; a packed file holds names of " +
               "at most " + std::to_string(limit) + " bytes";
    if (name.find('\0') != std::string_view::npos)
        return "holds a NUL byte, which a packed file cannot store in a name";
    if (!isValidUtf8(name))
        return "is not valid UTF-8, which a packed file needs in a name";
    return {};
}

Handle typeHandle(hid_t id)
{
    return Handle(id, H5Tclose);
}

Handle halfType(const std::string& file)
{
    Handle type = typeHandle(h5::check(H5Tcopy(H5T_IEEE_F32LE), file, "cannot create a type"));
    h5::checkStatus(H5Tset_fields(type, 15, 10, 5, 0, 10), file, "cannot define binary16");
    h5::checkStatus(H5Tset_size(type, 2), file, "cannot define binary16");
    h5::checkStatus(H5Tset_ebias(type, 15), file, "cannot define binary16");
    return type;
}

Handle fixedStringType(std::size_t size, const std::string& file)
{
    Handle type = typeHandle(h5::check(H5Tcopy(H5T_C_S1), file, "cannot create a string type"));
    h5::checkStatus(H5Tset_size(type, std::max<std::size_t>(size, 1)), file,
                    "cannot create a string type");
    h5::checkStatus(H5Tset_strpad(type, H5T_STR_NULLPAD), file, "cannot create a string type");
    h5::checkStatus(H5Tset_cset(type, H5T_CSET_UTF8), file, "cannot create a string type");
    return type;
}

Handle dtypeEnumType(const std::string& file)
{
    Handle type = typeHandle(h5::check(H5Tenum_create(H5T_STD_U8LE), file, "cannot create a type"));
    for (const DType d : {DType::F32, DType::F16, DType::BF16, DType::F64}) {
        const auto value = std::uint8_t(d);
        const std::string name(dtypeName(d));
        h5::checkStatus(H5Tenum_insert(type, name.c_str(), &value), file, "cannot create a type");
    }
    return type;
}

Handle tableType(const TableLayout& layout, const std::string& file)
{
    Handle type = typeHandle(
        h5::check(H5Tcreate(H5T_COMPOUND, layout.rowSize()), file, "cannot create the table type"));
    const Handle nameType = fixedStringType(layout.nameSize, file);
    const Handle suffixAType = fixedStringType(layout.suffixASize, file);
    const Handle suffixBType = fixedStringType(layout.suffixBSize, file);
    const Handle dtypeType = dtypeEnumType(file);
    const struct
    {
        const char* name;
        std::size_t offset;
        hid_t type;
    } fields[] = {{"name", layout.name(), nameType},
                  {"suffix_a", layout.suffixA(), suffixAType},
                  {"suffix_b", layout.suffixB(), suffixBType},
                  {"m", layout.m(), H5T_STD_U32LE},
                  {"n", layout.n(), H5T_STD_U32LE},
                  {"r", layout.r(), H5T_STD_U32LE},
                  {"h", layout.h(), H5T_STD_U32LE},
                  {"bits_high", layout.bitsHigh(), H5T_STD_U8LE},
                  {"dtype_a", layout.dtypeA(), dtypeType},
                  {"dtype_b", layout.dtypeB(), dtypeType},
                  {"lora_scale", layout.loraScale(), H5T_IEEE_F64LE},
                  {"rel_err", layout.relErr(), H5T_IEEE_F64LE},
                  {"codes_offset", layout.codesOffset(), H5T_STD_U64LE},
                  {"scales_offset", layout.scalesOffset(), H5T_STD_U64LE},
                  {"zeros_offset", layout.zerosOffset(), H5T_STD_U64LE}};
    for (const auto& field : fields)
        h5::checkStatus(H5Tinsert(type, field.name, field.offset, field.type), file,
                        "cannot create the table type");
    return type;
}

const PackedVectors* partsOf(const PackedModule& module, int i)
{
    const PackedVectors* parts[] = {&module.bHigh, &module.aHigh, &module.bLow, &module.aLow};
    return parts[i];
}

} // namespace packedfile

bool isPackedAdapterPath(const std::string& path)
{
    const std::string_view extension = kPackedExtension;
    return path.size() > extension.size() &&
           path.compare(path.size() - extension.size(), extension.size(), extension) == 0;
}

} // namespace lq
