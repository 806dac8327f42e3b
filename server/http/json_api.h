// JSON request bodies to native requests (with messages a client can act on), and results to JSON bodies.
// The JSON field names are those of the API specification.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "server/clip_service.h"

namespace hclip::server {

// The body as a JSON object: parsed by simdjson (http/fast_json.h), or by nlohmann::json where simdjson refuses it,
// so that a body is accepted or refused exactly as nlohmann alone would.
Result<nlohmann::json> parse_json_object(const std::string& body);
Result<ClassifyRequest> parse_classify_request(const nlohmann::json& body);
// prompts (or prompt_set), top_k and threshold of a classify body; `image` is left alone.
Status parse_labels_and_options(const nlohmann::json& body, ClassifyRequest& request);
Result<std::vector<std::uint8_t>> parse_embed_image_request(const nlohmann::json& body);
Result<std::string> parse_embed_text_request(const nlohmann::json& body);

// One picture's ranked labels, as every classify answer lists them (text, score, rank, similarity).
nlohmann::json classifications_json(const ClassifyResult& result);
// Milliseconds as answers report them: one decimal.
double round_ms(double ms);
nlohmann::json classify_response(const ClassifyResult& result, double elapsed_ms, const std::string& model);
nlohmann::json embed_response(const EmbedResult& result, double elapsed_ms, const std::string& model);
nlohmann::json health_response(const HealthReport& health, const std::string& version);
// /health/live: {"live": true} (200), or false with a reason (503) while an inference worker is stuck.
nlohmann::json liveness_response(const HealthReport& health);
// /health/ready: {"ready": true} (200), or false with a reason (503): the same verdict as /health's status.
nlohmann::json readiness_response(const HealthReport& health);
nlohmann::json error_body(const std::string& message);

}  // namespace hclip::server
