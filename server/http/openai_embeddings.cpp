#include "server/http/openai_embeddings.h"

#include <cstring>

#include "core/float_format.h"
#include "server/http/base64.h"

namespace hclip::server {

using Json = nlohmann::json;

namespace {

std::string item_name(std::size_t i) {
    return "input[" + std::to_string(i) + "]";
}

Result<std::vector<std::uint8_t>> image_bytes(const std::string& field, std::size_t i) {
    if (field.rfind("http://", 0) == 0 || field.rfind("https://", 0) == 0) {
        return invalid_argument(item_name(i) +
                                ": the service does not fetch URLs; send the picture as a data: URI or bare base64");
    }
    auto bytes = decode_image_field(field);
    if (!bytes.ok()) return bytes.status().with_context(item_name(i));
    return bytes;
}

Result<std::string> string_member(const Json& item, const char* key, std::size_t i) {
    auto it = item.find(key);
    if (it == item.end() || !it->is_string()) {
        return invalid_argument(item_name(i) + ": '" + key + "' must be a string");
    }
    return it->get<std::string>();
}

// One array item: "text", {"text": ...}, {"image": ...}, {"type": "text", "text": ...} or
// {"type": "image_url", "image_url": {"url": ...}}.
Result<EmbedInput> parse_item(const Json& item, std::size_t i) {
    EmbedInput in;
    if (item.is_string()) {
        in.text = item.get<std::string>();
        return in;
    }
    if (!item.is_object()) {
        return invalid_argument(item_name(i) +
                                " must be a string or an object ({\"text\": ...}, {\"image\": ...} or "
                                "{\"type\": \"image_url\", ...}); token arrays are not accepted");
    }
    const auto type = item.find("type");
    if (type != item.end()) {
        if (!type->is_string()) return invalid_argument(item_name(i) + ": 'type' must be a string");
        const std::string t = type->get<std::string>();
        if (t == "text") {
            HCLIP_ASSIGN_OR_RETURN(in.text, string_member(item, "text", i));
            return in;
        }
        if (t == "image_url") {
            const auto url = item.find("image_url");
            std::string field;
            if (url != item.end() && url->is_string()) {
                field = url->get<std::string>();
            } else if (url != item.end() && url->is_object()) {
                HCLIP_ASSIGN_OR_RETURN(field, string_member(*url, "url", i));
            } else {
                return invalid_argument(item_name(i) +
                                        ": 'image_url' must be {\"url\": \"data:image/...;base64,...\"}");
            }
            in.is_image = true;
            HCLIP_ASSIGN_OR_RETURN(in.image, image_bytes(field, i));
            return in;
        }
        return invalid_argument(item_name(i) + " has unknown type '" + t + "'; use 'text' or 'image_url'");
    }
    if (item.contains("image")) {
        HCLIP_ASSIGN_OR_RETURN(std::string field, string_member(item, "image", i));
        in.is_image = true;
        HCLIP_ASSIGN_OR_RETURN(in.image, image_bytes(field, i));
        return in;
    }
    if (item.contains("text")) {
        HCLIP_ASSIGN_OR_RETURN(in.text, string_member(item, "text", i));
        return in;
    }
    return invalid_argument(item_name(i) + " is an object without 'text', 'image' or 'type'");
}

}  // namespace

Result<OpenAiEmbeddingsRequest> parse_openai_embeddings_request(const Json& body, const std::string& served_model) {
    OpenAiEmbeddingsRequest r;
    if (auto m = body.find("model"); m != body.end() && !m->is_null()) {
        if (!m->is_string()) return invalid_argument("'model' must be a string");
        if (m->get<std::string>() != served_model) {
            return not_found("model '" + m->get<std::string>() + "' is not served here; this service serves '" +
                             served_model + "'");
        }
    }
    if (auto f = body.find("encoding_format"); f != body.end() && !f->is_null()) {
        if (!f->is_string() || (*f != "float" && *f != "base64")) {
            return invalid_argument("'encoding_format' must be \"float\" or \"base64\"");
        }
        r.base64 = *f == "base64";
    }
    if (!body.contains("input")) return invalid_argument("missing required field 'input'");
    const Json& input = body.at("input");  // present: at() cannot throw here
    if (input.is_string()) {
        EmbedInput in;
        in.text = input.get<std::string>();
        r.inputs.push_back(std::move(in));
    } else if (input.is_array()) {
        if (input.empty()) return invalid_argument("'input' must contain at least one item");
        std::size_t index = 0;
        for (const Json& item : input) {
            HCLIP_ASSIGN_OR_RETURN(EmbedInput in, parse_item(item, index++));
            r.inputs.push_back(std::move(in));
        }
    } else {
        return invalid_argument("'input' must be a string or an array of items");
    }
    return r;
}

std::string float32_le_base64(std::span<const float> values) {
    std::string bytes;
    bytes.reserve(values.size() * 4);
    for (float v : values) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        for (int b = 0; b < 4; ++b)  // little-endian whatever the host's order
            bytes.push_back(static_cast<char>((bits >> (8 * b)) & 0xffu));
    }
    return encode_base64(bytes);
}

Json openai_embeddings_response(const BatchEmbedResult& result, bool base64, const std::string& model) {
    const auto d = static_cast<std::size_t>(result.dimension);
    const std::size_t count = d == 0 ? 0 : result.embeddings.size() / d;
    Json data = Json::array();
    for (std::size_t i = 0; i < count; ++i) {
        const std::span<const float> row(result.embeddings.data() + i * d, d);
        Json embedding;
        if (base64) {
            embedding = float32_le_base64(row);
        } else {
            embedding = Json::array();
            for (float v : row)
                embedding.push_back(shortest_double(v));
        }
        data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
    }
    return {{"object", "list"},
            {"data", std::move(data)},
            {"model", model},
            {"usage", {{"prompt_tokens", result.prompt_tokens}, {"total_tokens", result.prompt_tokens}}}};
}

}  // namespace hclip::server
