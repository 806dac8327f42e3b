// POST /v1/embeddings in OpenAI's shape: {"model", "input", "encoding_format"} in, {"object": "list", "data",
// "model", "usage"} out. Texts and pictures may be mixed in one input; errors name the item as input[i].
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/clip_service.h"

namespace hclip::server {

struct OpenAiEmbeddingsRequest {
    std::vector<EmbedInput> inputs;
    bool base64 = false;  // encoding_format "base64": little-endian float32 bytes, base64-encoded
};

// `served_model` is the only model name accepted (another is kNotFound, naming the served one).
Result<OpenAiEmbeddingsRequest> parse_openai_embeddings_request(const nlohmann::json& body,
                                                                const std::string& served_model);
nlohmann::json openai_embeddings_response(const BatchEmbedResult& result, bool base64, const std::string& model);

// The float32 values as little-endian bytes, in standard base64 (OpenAI's encoding_format "base64").
std::string float32_le_base64(std::span<const float> values);

}  // namespace hclip::server
