// Batches on the seed's endpoints: {"images": [...]} on /v1/embed/image and /v1/classify, and their answers.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "core/status.h"
#include "server/clip_service.h"

namespace hclip::server {

// True when the body is the batch form (it has "images").
bool is_batch_request(const nlohmann::json& body);

Result<std::vector<EmbedInput>> parse_embed_images_request(const nlohmann::json& body);
Result<ClassifyBatchRequest> parse_classify_batch_request(const nlohmann::json& body);

// {"embeddings": [[...], ...], "dimension": n, "model": "...", "inference_time_ms": t}
nlohmann::json embed_batch_response(const BatchEmbedResult& result, double elapsed_ms, const std::string& model);
// {"results": [{"classifications": [...]}, ...], "inference_time_ms": t, "model": "..."}
nlohmann::json classify_batch_response(const std::vector<ClassifyResult>& results, double elapsed_ms,
                                       const std::string& model);

}  // namespace hclip::server
