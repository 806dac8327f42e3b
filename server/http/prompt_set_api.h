// The /v1/prompt-sets endpoints as status + JSON answers, independent of the HTTP library.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "server/prompt_sets/prompt_set_store.h"

namespace hclip::server {

struct ApiAnswer {
    int status = 200;
    nlohmann::json body;
};

// PUT /v1/prompt-sets/{name}: 201 created or 200 replaced, with the set as stored; 409 for a configured set.
ApiAnswer put_prompt_set_answer(PromptSetStore& store, const std::string& name, const nlohmann::json& body);
// GET /v1/prompt-sets/{name}: {"name", "prompts", "templates"}; 404 when unknown.
ApiAnswer get_prompt_set_answer(const PromptSetStore& store, const std::string& name);
// GET /v1/prompt-sets: {"prompt_sets": [{"name", "prompts", "templates", "configured"}, ...]} sorted by name.
ApiAnswer list_prompt_sets_answer(const PromptSetStore& store);
// DELETE /v1/prompt-sets/{name}: 200 {"name", "deleted": true}; 404 when unknown; 409 for a configured set.
ApiAnswer delete_prompt_set_answer(PromptSetStore& store, const std::string& name);

}  // namespace hclip::server
