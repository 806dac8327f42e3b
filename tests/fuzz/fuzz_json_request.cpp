// JSON request bodies as the HTTP layer hands them over: the parse, then each endpoint's field handling.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/http/batch_api.h"
#include "server/http/fast_json.h"
#include "server/http/json_api.h"
#include "server/http/openai_embeddings.h"
#include "server/prompt_sets/prompt_set.h"
#include "support/json_identical.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    // Whatever simdjson accepts, nlohmann (whose verdicts the service keeps) accepts as the identical value.
    if (auto fast = hclip::server::parse_with_simdjson(body)) {
        const auto reference = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
        if (reference.is_discarded() || !hclip::testing::json_identical(*fast, reference)) __builtin_trap();
    }
    auto json = hclip::server::parse_json_object(body);
    if (!json.ok()) return 0;
    (void)hclip::server::parse_classify_request(*json);
    (void)hclip::server::parse_embed_image_request(*json);
    (void)hclip::server::parse_embed_text_request(*json);
    (void)hclip::server::parse_classify_batch_request(*json);
    (void)hclip::server::parse_embed_images_request(*json);
    (void)hclip::server::parse_openai_embeddings_request(*json, "clip-vit-b-32");
    if (auto set = hclip::server::parse_prompt_set(*json, "fuzz"); set.ok()) {
        if (hclip::server::validate_prompt_set(*set, {}).ok()) (void)hclip::server::prompt_set_texts(*set);
    }
    // Error bodies echo client text: they must serialise whatever the client sent (invalid UTF-8 included).
    (void)hclip::server::error_body(body).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return 0;
}
