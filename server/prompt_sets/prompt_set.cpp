#include "server/prompt_sets/prompt_set.h"

#include <set>

#include "engine/zero_shot.h"

namespace hclip::server {

bool is_valid_prompt_set_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

namespace {

Status check_texts(const std::vector<std::string>& texts, const char* what, std::size_t max_count,
                   std::size_t max_bytes) {
    if (texts.size() > max_count) {
        return resource_exhausted(std::string("'") + what + "' has " + std::to_string(texts.size()) +
                                  " entries; the limit is " + std::to_string(max_count));
    }
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::string where = std::string(what) + "[" + std::to_string(i) + "]";
        if (texts[i].empty()) return invalid_argument(where + " must not be empty");
        if (texts[i].size() > max_bytes) {
            return resource_exhausted(where + " is " + std::to_string(texts[i].size()) + " bytes; the limit is " +
                                      std::to_string(max_bytes));
        }
        if (!seen.insert(texts[i]).second) return invalid_argument(where + " repeats '" + texts[i] + "'");
    }
    return {};
}

std::string fill_template(const std::string& pattern, const std::string& label) {
    std::string out;
    std::size_t at = 0;
    for (std::size_t hole = pattern.find("{}"); hole != std::string::npos; hole = pattern.find("{}", at)) {
        out.append(pattern, at, hole - at);
        out += label;
        at = hole + 2;
    }
    out.append(pattern, at, std::string::npos);
    return out;
}

Result<std::vector<std::string>> string_list(const nlohmann::json& body, const char* field, bool required) {
    std::vector<std::string> out;
    if (!body.contains(field) || body.at(field).is_null()) {
        if (required) return invalid_argument(std::string("missing required field '") + field + "'");
        return out;
    }
    const nlohmann::json& list = body.at(field);  // present: at() cannot throw here
    if (!list.is_array()) return invalid_argument(std::string("'") + field + "' must be an array of strings");
    std::size_t i = 0;
    for (const nlohmann::json& item : list) {
        if (!item.is_string())
            return invalid_argument(std::string(field) + "[" + std::to_string(i) + "] must be a string");
        out.push_back(item.get<std::string>());
        ++i;
    }
    return out;
}

}  // namespace

Status validate_prompt_set(const PromptSet& set, const PromptSetLimits& limits) {
    if (!is_valid_prompt_set_name(set.name)) {
        return invalid_argument("a prompt set name is 1 to 64 characters from a-z, 0-9, '_' and '-'; got '" +
                                set.name.substr(0, 80) + "'");
    }
    if (set.prompts.empty()) return invalid_argument("'prompts' must contain at least one prompt");
    HCLIP_RETURN_IF_ERROR(check_texts(set.prompts, "prompts", limits.max_prompts, limits.max_text_bytes));
    HCLIP_RETURN_IF_ERROR(check_texts(set.templates, "templates", limits.max_templates, limits.max_text_bytes));
    for (std::size_t i = 0; i < set.templates.size(); ++i) {
        if (set.templates[i].find("{}") == std::string::npos) {
            return invalid_argument("templates[" + std::to_string(i) + "] has no '{}' where the label goes");
        }
    }
    return {};
}

std::vector<std::string> prompt_set_texts(const PromptSet& set) {
    if (set.templates.empty()) return set.prompts;
    std::vector<std::string> texts;
    texts.reserve(set.prompts.size() * set.templates.size());
    for (const auto& label : set.prompts) {
        for (const auto& pattern : set.templates)
            texts.push_back(fill_template(pattern, label));
    }
    return texts;
}

std::vector<float> ensemble_label_embeddings(const PromptSet& set, const std::vector<float>& text_embeddings,
                                             std::size_t dim) {
    if (set.templates.empty()) return text_embeddings;
    const std::size_t per_label = set.templates.size();
    std::vector<float> labels(set.prompts.size() * dim, 0.0f);
    for (std::size_t l = 0; l < set.prompts.size(); ++l) {
        // Accumulate in double so the mean does not depend on the order of many small terms.
        std::vector<double> sum(dim, 0.0);
        for (std::size_t t = 0; t < per_label; ++t) {
            const float* row = text_embeddings.data() + (l * per_label + t) * dim;
            for (std::size_t k = 0; k < dim; ++k)
                sum[k] += static_cast<double>(row[k]);
        }
        for (std::size_t k = 0; k < dim; ++k)
            labels[l * dim + k] = static_cast<float>(sum[k] / static_cast<double>(per_label));
    }
    l2_normalize_rows(labels, dim);
    return labels;
}

nlohmann::json prompt_set_json(const PromptSet& set) {
    return {{"name", set.name}, {"prompts", set.prompts}, {"templates", set.templates}};
}

Result<PromptSet> parse_prompt_set(const nlohmann::json& body, const std::string& name) {
    if (!body.is_object()) return invalid_argument("a prompt set is a JSON object {\"prompts\": [...]}");
    for (const auto& [key, _] : body.items()) {
        if (key != "prompts" && key != "templates" && key != "name") {
            return invalid_argument("unknown field '" + key + "'; a prompt set has 'prompts' and 'templates'");
        }
    }
    if (auto n = body.find("name"); n != body.end() && !(n->is_string() && n->get<std::string>() == name)) {
        return invalid_argument("'name' in the body must equal the name in the path ('" + name + "')");
    }
    PromptSet set;
    set.name = name;
    HCLIP_ASSIGN_OR_RETURN(set.prompts, string_list(body, "prompts", true));
    HCLIP_ASSIGN_OR_RETURN(set.templates, string_list(body, "templates", false));
    return set;
}

}  // namespace hclip::server
