#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace lq {

// The text of a JSON document this program writes for people and other programs: stdout
// (inspect --json) and files (reports, sweeps). Paths come from the file system and names from
// untrusted files, and either may hold bytes that are not UTF-8 (a folder named in Latin-1);
// nlohmann's default dump throws type_error.316 on them, after all the work is done. Here each
// invalid byte becomes U+FFFD, so that the output is valid JSON with everything else as it was.
// Not for JSON whose strings must come back byte for byte (a safetensors header's tensor names):
// there a name that is not UTF-8 must be refused, not changed.
template <typename Json>
std::string outputJson(const Json& json, int indent = 2)
{
    return json.dump(indent, ' ', false, Json::error_handler_t::replace);
}

} // namespace lq
