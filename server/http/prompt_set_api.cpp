#include "server/http/prompt_set_api.h"

#include "server/http/error_mapping.h"
#include "server/http/json_api.h"

namespace hclip::server {

namespace {

ApiAnswer error_answer(const Status& status) {
    return {http_status_for(status), error_body(status.message())};
}

ApiAnswer configured_conflict(const std::string& name) {
    return {409, error_body("prompt set '" + name +
                            "' is declared in the configuration (prompt_sets:); change it there and restart")};
}

Status check_name(const std::string& name) {
    if (is_valid_prompt_set_name(name)) return {};
    return invalid_argument("a prompt set name is 1 to 64 characters from a-z, 0-9, '_' and '-'");
}

}  // namespace

ApiAnswer put_prompt_set_answer(PromptSetStore& store, const std::string& name, const nlohmann::json& body) {
    if (Status s = check_name(name); !s.ok()) return error_answer(s);
    if (store.is_configured(name)) return configured_conflict(name);
    auto set = parse_prompt_set(body, name);
    if (!set.ok()) return error_answer(set.status());
    const nlohmann::json stored = prompt_set_json(*set);
    auto outcome = store.put(std::move(set).value());
    if (!outcome.ok()) return error_answer(outcome.status());
    return {*outcome == PromptSetStore::PutOutcome::kCreated ? 201 : 200, stored};
}

ApiAnswer get_prompt_set_answer(const PromptSetStore& store, const std::string& name) {
    auto entry = store.get(name);
    if (!entry) return error_answer(not_found("no prompt set named '" + name.substr(0, 80) + "'"));
    return {200, prompt_set_json(entry->set)};
}

ApiAnswer list_prompt_sets_answer(const PromptSetStore& store) {
    nlohmann::json sets = nlohmann::json::array();
    for (const auto& name : store.names()) {
        auto entry = store.get(name);
        if (!entry) continue;  // deleted meanwhile
        nlohmann::json j = prompt_set_json(entry->set);
        j["configured"] = entry->configured;
        sets.push_back(std::move(j));
    }
    return {200, {{"prompt_sets", std::move(sets)}}};
}

ApiAnswer delete_prompt_set_answer(PromptSetStore& store, const std::string& name) {
    if (store.is_configured(name)) return configured_conflict(name);
    if (Status s = store.remove(name); !s.ok()) return error_answer(s);
    return {200, {{"name", name}, {"deleted", true}}};
}

}  // namespace hclip::server
