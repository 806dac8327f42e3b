#include "server/http/json_api.h"

#include <cmath>
#include <optional>

#include "core/float_format.h"
#include "server/http/base64.h"
#include "server/http/fast_json.h"

namespace hclip::server {

using Json = nlohmann::json;

namespace {

const char* json_type_name(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null:
            return "null";
        case Json::value_t::boolean:
            return "a boolean";
        case Json::value_t::string:
            return "a string";
        case Json::value_t::array:
            return "an array";
        case Json::value_t::object:
            return "an object";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned:
            return "an integer";
        case Json::value_t::number_float:
            return "a number with a fraction";
        default:
            return "an unsupported value";
    }
}

Result<std::string> required_string(const Json& body, const char* field) {
    auto it = body.find(field);
    if (it == body.end()) return invalid_argument(std::string("missing required field '") + field + "'");
    if (!it->is_string()) {
        return invalid_argument(std::string("'") + field + "' must be a string, not " + json_type_name(*it));
    }
    return it->get<std::string>();
}

Json floats(std::span<const float> values) {
    Json a = Json::array();
    for (float v : values)
        a.push_back(shortest_double(v));
    return a;
}

}  // namespace

double round_ms(double ms) {
    return std::round(ms * 10.0) / 10.0;
}

Json classifications_json(const ClassifyResult& result) {
    Json items = Json::array();
    for (const auto& c : result.classifications) {
        items.push_back({{"text", c.text},
                         {"score", shortest_double(c.score)},
                         {"rank", c.rank},
                         {"similarity", shortest_double(c.similarity)}});
    }
    return items;
}

Result<Json> parse_json_object(const std::string& body) {
    std::optional<Json> fast = parse_with_simdjson(body);
    Json j = fast ? std::move(*fast) : Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_argument("the request body is not valid JSON");
    if (!j.is_object())
        return invalid_argument("the request body must be a JSON object, not " + std::string(json_type_name(j)));
    return j;
}

Status parse_labels_and_options(const Json& body, ClassifyRequest& r) {
    if (auto set = body.find("prompt_set"); set != body.end() && !set->is_null()) {
        if (!set->is_string() || set->get<std::string>().empty()) {
            return invalid_argument("'prompt_set' must be the name of a prompt set");
        }
        r.prompt_set = set->get<std::string>();
    }
    auto prompts = body.find("prompts");
    if (prompts == body.end() && !r.prompt_set.empty()) {
        // the labels come from the prompt set
    } else if (prompts == body.end()) {
        return invalid_argument("missing required field 'prompts' (an array of strings)");
    } else if (!prompts->is_array()) {
        return invalid_argument("'prompts' must be an array of strings, not " + std::string(json_type_name(*prompts)));
    } else {
        for (std::size_t i = 0; i < prompts->size(); ++i) {
            const Json& p = (*prompts)[i];
            if (!p.is_string()) {
                return invalid_argument("prompt " + std::to_string(i + 1) + " must be a string, not " +
                                        json_type_name(p));
            }
            r.prompts.push_back(p.get<std::string>());
        }
        if (!r.prompt_set.empty()) return invalid_argument("send 'prompts' or 'prompt_set', not both");
    }
    if (auto k = body.find("top_k"); k != body.end() && !k->is_null()) {
        if (k->is_number_unsigned()) {
            r.top_k = static_cast<int>(std::min<std::uint64_t>(k->get<std::uint64_t>(), 1u << 30));
        } else if (k->is_number_integer()) {
            r.top_k = k->get<std::int64_t>() < 1
                          ? 0
                          : static_cast<int>(std::min<std::int64_t>(k->get<std::int64_t>(), 1 << 30));
        } else {
            return invalid_argument("'top_k' must be a whole number, not " + std::string(json_type_name(*k)));
        }
    }
    if (auto t = body.find("threshold"); t != body.end() && !t->is_null()) {
        if (!t->is_number())
            return invalid_argument("'threshold' must be a number, not " + std::string(json_type_name(*t)));
        r.threshold = t->get<double>();
    }
    return {};
}

Result<ClassifyRequest> parse_classify_request(const Json& body) {
    ClassifyRequest r;
    HCLIP_ASSIGN_OR_RETURN(std::string image, required_string(body, "image"));
    HCLIP_ASSIGN_OR_RETURN(r.image, decode_image_field(image));
    HCLIP_RETURN_IF_ERROR(parse_labels_and_options(body, r));
    return r;
}

Result<std::vector<std::uint8_t>> parse_embed_image_request(const Json& body) {
    HCLIP_ASSIGN_OR_RETURN(std::string image, required_string(body, "image"));
    return decode_image_field(image);
}

Result<std::string> parse_embed_text_request(const Json& body) {
    return required_string(body, "text");
}

Json classify_response(const ClassifyResult& result, double elapsed_ms, const std::string& model) {
    Json j = {{"classifications", classifications_json(result)},
              {"inference_time_ms", round_ms(elapsed_ms)},
              {"model", model}};
    if (!result.warnings.empty()) j["warnings"] = result.warnings;
    return j;
}

Json embed_response(const EmbedResult& result, double elapsed_ms, const std::string& model) {
    Json j = {{"embedding", floats(result.embedding)},
              {"dimension", result.embedding.size()},
              {"model", model},
              {"inference_time_ms", round_ms(elapsed_ms)}};
    if (!result.warnings.empty()) j["warnings"] = result.warnings;
    return j;
}

Json health_response(const HealthReport& h, const std::string& version) {
    Json j = {{"status", h.status},
              {"service", "hailo-clip"},
              {"model_loaded", h.model_loaded},
              {"model", h.model},
              {"backend", h.backend},
              {"embedding_dimension", h.embedding_dimension},
              {"version", version},
              {"uptime_seconds", std::round(h.uptime_seconds * 10.0) / 10.0},
              {"workers", h.workers},
              {"busy_workers", h.busy_workers},
              {"queued", h.queued},
              {"inferences", h.inferences},
              {"failed_inferences", h.failed_inferences},
              {"expired_requests", h.expired},
              {"rejected_requests", h.rejected},
              {"oldest_batch_seconds", std::round(h.oldest_batch_seconds * 10.0) / 10.0},
              {"probes", h.probes},
              {"failed_probes", h.failed_probes},
              {"text_cache_entries", h.text_cache_entries},
              {"text_cache_hits", h.text_cache_hits}};
    if (!h.healthy) j["reason"] = h.reason;
    if (h.last_self_test) {
        j["last_self_test"] = {{"time", h.last_self_test->time},
                               {"passed", h.last_self_test->passed},
                               {"verified", h.last_self_test->verified},
                               {"verdict", h.last_self_test->verdict}};
    }
    return j;
}

Json liveness_response(const HealthReport& h) {
    Json j = {{"live", h.live}};
    if (!h.live) j["reason"] = h.reason;
    return j;
}

Json readiness_response(const HealthReport& h) {
    Json j = {{"ready", h.healthy}};
    if (!h.healthy) j["reason"] = h.reason;
    return j;
}

Json error_body(const std::string& message) {
    return {{"error", message}};
}

}  // namespace hclip::server
