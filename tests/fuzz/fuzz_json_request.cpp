// JSON request bodies as the HTTP layer hands them over: the parse, then each endpoint's field handling.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/http/json_api.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    auto json = hclip::server::parse_json_object(body);
    if (!json.ok()) return 0;
    (void)hclip::server::parse_classify_request(*json);
    (void)hclip::server::parse_embed_image_request(*json);
    (void)hclip::server::parse_embed_text_request(*json);
    // Error bodies echo client text: they must serialise whatever the client sent (invalid UTF-8 included).
    (void)hclip::server::error_body(body).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return 0;
}
