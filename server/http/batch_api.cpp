#include "server/http/batch_api.h"

#include "core/float_format.h"
#include "server/http/base64.h"
#include "server/http/json_api.h"

namespace hclip::server {

using Json = nlohmann::json;

namespace {

Result<std::vector<std::vector<std::uint8_t>>> parse_images(const Json& body) {
    if (body.contains("image")) return invalid_argument("send 'image' (one picture) or 'images' (a list), not both");
    if (!body.contains("images")) return invalid_argument("missing required field 'images'");
    const Json& images = body.at("images");  // present: at() cannot throw here
    if (!images.is_array()) return invalid_argument("'images' must be an array of base64 pictures");
    if (images.empty()) return invalid_argument("'images' must contain at least one item");
    std::vector<std::vector<std::uint8_t>> out;
    for (std::size_t i = 0; i < images.size(); ++i) {
        const std::string where = "images[" + std::to_string(i) + "]";
        if (!images[i].is_string()) return invalid_argument(where + " must be a string (base64 or a data: URI)");
        auto bytes = decode_image_field(images[i].get<std::string>());
        if (!bytes.ok()) return bytes.status().with_context(where);
        out.push_back(std::move(bytes).value());
    }
    return out;
}

}  // namespace

bool is_batch_request(const Json& body) {
    return body.contains("images");
}

Result<std::vector<EmbedInput>> parse_embed_images_request(const Json& body) {
    HCLIP_ASSIGN_OR_RETURN(auto images, parse_images(body));
    std::vector<EmbedInput> inputs(images.size());
    for (std::size_t i = 0; i < images.size(); ++i) {
        inputs[i].is_image = true;
        inputs[i].image = std::move(images[i]);
    }
    return inputs;
}

Result<ClassifyBatchRequest> parse_classify_batch_request(const Json& body) {
    ClassifyRequest labels;
    HCLIP_RETURN_IF_ERROR(parse_labels_and_options(body, labels));
    ClassifyBatchRequest r;
    HCLIP_ASSIGN_OR_RETURN(r.images, parse_images(body));
    r.prompts = std::move(labels.prompts);
    r.prompt_set = std::move(labels.prompt_set);
    r.top_k = labels.top_k;
    r.threshold = labels.threshold;
    return r;
}

Json embed_batch_response(const BatchEmbedResult& result, double elapsed_ms, const std::string& model) {
    const auto d = static_cast<std::size_t>(result.dimension);
    Json rows = Json::array();
    for (std::size_t at = 0; d > 0 && at < result.embeddings.size(); at += d) {
        Json row = Json::array();
        for (std::size_t k = 0; k < d; ++k)
            row.push_back(shortest_double(result.embeddings[at + k]));
        rows.push_back(std::move(row));
    }
    return {{"embeddings", std::move(rows)},
            {"dimension", result.dimension},
            {"model", model},
            {"inference_time_ms", round_ms(elapsed_ms)}};
}

Json classify_batch_response(const std::vector<ClassifyResult>& results, double elapsed_ms, const std::string& model) {
    Json items = Json::array();
    for (const auto& r : results)
        items.push_back({{"classifications", classifications_json(r)}});
    Json j = {{"results", std::move(items)}, {"inference_time_ms", round_ms(elapsed_ms)}, {"model", model}};
    if (!results.empty() && !results.front().warnings.empty()) j["warnings"] = results.front().warnings;
    return j;
}

}  // namespace hclip::server
