#include "core/io/jsontext.h"

#include "core/io/error.h"
#include "core/io/jsonoutput.h"
#include "core/io/untrustedtext.h"

#include <set>
#include <vector>

namespace lq {
namespace {

// Builds the value with nlohmann's own DOM parser (through its callback, which sees every
// object and array as it opens), refusing depth and duplicate keys as they are met.
template <typename Json>
Json parseWith(std::string_view text, const std::string& file, const std::string& what,
               DuplicateKeys duplicates)
{
    // One entry per open container: the keys seen so far for an object, none for an array.
    struct Level
    {
        bool object = false;
        std::set<std::string> keys;
    };
    std::vector<Level> open;
    const auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event,
                              Json& parsed) -> bool {
        using Event = nlohmann::json::parse_event_t;
        switch (event) {
        case Event::object_start:
        case Event::array_start:
            if (open.size() >= std::size_t(kMaxJsonDepth))
                throw Error(file, what + " nests arrays and objects deeper than " +
                                      std::to_string(kMaxJsonDepth) + " levels");
            open.push_back({event == Event::object_start, {}});
            break;
        case Event::object_end:
        case Event::array_end:
            if (!open.empty())
                open.pop_back();
            break;
        case Event::key:
            if (duplicates == DuplicateKeys::Refuse && !open.empty() && open.back().object &&
                !open.back().keys.insert(parsed.template get<std::string>()).second)
                throw Error(file, what + " gives the key '" +
                                      excerpt(parsed.template get<std::string>()) + "' twice");
            break;
        case Event::value:
            break;
        }
        return true;
    };
    try {
        return Json::parse(text.begin(), text.end(), callback);
    } catch (const nlohmann::json::exception& e) {
        // nlohmann's message quotes the last token read, which may be a whole megabyte string.
        throw Error(file, "malformed " + what + ": " + excerpt(e.what(), 300));
    }
}

template <typename Json>
std::string describe(const Json& value)
{
    if (value.is_array())
        return "an array of " + std::to_string(value.size()) + " items";
    if (value.is_object())
        return "an object of " + std::to_string(value.size()) + " keys";
    return excerpt(outputJson(value, -1), 80);
}

} // namespace

nlohmann::json parseJson(std::string_view text, const std::string& file, const std::string& what,
                         DuplicateKeys duplicates)
{
    return parseWith<nlohmann::json>(text, file, what, duplicates);
}

nlohmann::ordered_json parseOrderedJson(std::string_view text, const std::string& file,
                                        const std::string& what, DuplicateKeys duplicates)
{
    return parseWith<nlohmann::ordered_json>(text, file, what, duplicates);
}

std::string describeJson(const nlohmann::json& value)
{
    return describe(value);
}

std::string describeJson(const nlohmann::ordered_json& value)
{
    return describe(value);
}

} // namespace lq
