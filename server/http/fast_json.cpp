#include "server/http/fast_json.h"

#include <cstdint>
#include <string>

// GCC 12 sees a "potential null pointer dereference" in simdjson's inlined parser (its tape behind a unique_ptr,
// allocated before any read); the warning is about the library's code, not this file's.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <simdjson.h>

namespace hclip::server {

namespace {

using Json = nlohmann::json;

// nlohmann's types for the same text: a non-negative integer is unsigned, a negative one signed, anything with a
// fraction or an exponent a double. Recursion is bounded by simdjson's depth limit.
Json to_json(simdjson::dom::element e) {
    using Type = simdjson::dom::element_type;
    switch (e.type()) {
        case Type::OBJECT: {
            Json out = Json::object();
            const simdjson::dom::object object = e.get_object().value_unsafe();
            for (const auto field : object)
                out[std::string(field.key)] = to_json(field.value);  // a repeated key: the last wins, as in nlohmann
            return out;
        }
        case Type::ARRAY: {
            Json out = Json::array();
            const simdjson::dom::array array = e.get_array().value_unsafe();
            for (const auto item : array)
                out.push_back(to_json(item));
            return out;
        }
        case Type::STRING:
            return Json(std::string(e.get_string().value_unsafe()));
        case Type::INT64: {
            const std::int64_t v = e.get_int64().value_unsafe();
            return v >= 0 ? Json(static_cast<std::uint64_t>(v)) : Json(v);
        }
        case Type::UINT64:
            return Json(e.get_uint64().value_unsafe());
        case Type::DOUBLE:
            return Json(e.get_double().value_unsafe());
        case Type::BOOL:
            return Json(e.get_bool().value_unsafe());
        case Type::NULL_VALUE:
            break;
    }
    return Json(nullptr);
}

}  // namespace

std::optional<nlohmann::json> parse_with_simdjson(std::string_view text) {
    // nlohmann keeps the sign of an integer -0 in its type (signed, where 0 is unsigned); simdjson's value cannot
    // tell. A body with "-0" anywhere (in a string too) is rare: nlohmann parses it.
    if (text.find("-0") != std::string_view::npos) return std::nullopt;
    simdjson::dom::parser parser;
    // realloc_if_needed: simdjson reads up to 64 bytes past the end, so it works on a padded copy. Running out of
    // memory in the parser is an error code here (nlohmann then tries); in building the result, std::bad_alloc
    // reaches the HTTP layer as it does from nlohmann.
    auto document = parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true);
    if (document.error() != simdjson::SUCCESS) return std::nullopt;
    return to_json(document.value_unsafe());
}

}  // namespace hclip::server

#pragma GCC diagnostic pop
