#include "packedfileschema.h"

#include "packedfile.h"

#include <algorithm>
#include <cstdio>

namespace lq {
namespace packedfile {

using h5::Handle;

namespace {

// Length of the well-formed UTF-8 sequence that starts at text[at] (Unicode 15, table 3-7: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8SequenceAt(std::string_view text, std::size_t at)
{
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    if (lead < 0x80)
        return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF; // the second byte's range
    if (lead >= 0xC2 && lead <= 0xDF)
        length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF)
        length = 3;
    else if (lead >= 0xF0 && lead <= 0xF4)
        length = 4;
    else
        return 0;
    if (lead == 0xE0)
        low = 0xA0;
    else if (lead == 0xED)
        high = 0x9F;
    else if (lead == 0xF0)
        low = 0x90;
    else if (lead == 0xF4)
        high = 0x8F;
    if (text.size() - at < length || byte(at + 1) < low || byte(at + 1) > high)
        return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (byte(at + i) < 0x80 || byte(at + i) > 0xBF)
            return 0;
    return length;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

} // namespace

std::string shown(std::string_view text)
{
    constexpr std::size_t kShownBytes = 80;
    std::string out;
    std::size_t at = 0;
    while (at < text.size() && at < kShownBytes) {
        const auto byte = static_cast<unsigned char>(text[at]);
        const std::size_t length = utf8SequenceAt(text, at);
        if (byte < 0x20 || byte == 0x7F) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02X", unsigned(byte));
            out += escaped;
            ++at;
        } else if (length == 0) {
            out += kReplacement;
            ++at;
        } else {
            out.append(text.substr(at, length));
            at += length;
        }
    }
    if (at < text.size())
        out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

bool isValidUtf8(std::string_view text)
{
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t length = utf8SequenceAt(text, at);
        if (length == 0)
            return false;
        at += length;
    }
    return true;
}

std::string toValidUtf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t length = utf8SequenceAt(text, at);
        if (length == 0) {
            out += kReplacement;
            ++at;
        } else {
            out.append(text.substr(at, length));
            at += length;
        }
    }
    return out;
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
