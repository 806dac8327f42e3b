// A prompt set: named labels for zero-shot classification, optionally with templates ("a photo of a {}.") whose
// filled embeddings are averaged per label (the CLIP paper's prompt ensembling). Validation and the JSON form
// shared by the API, the configuration and the files of the store.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hclip::server {

struct PromptSet {
    std::string name;
    std::vector<std::string> prompts;    // the labels, returned as `text` by classify
    std::vector<std::string> templates;  // each contains "{}"; empty means the labels are encoded as they are
};

struct PromptSetLimits {
    std::size_t max_sets = 256;
    std::size_t max_prompts = 256;      // labels per set (limits.max_prompts)
    std::size_t max_templates = 16;     // templates per set
    std::size_t max_text_bytes = 4096;  // per label or template (limits.max_prompt_bytes)
};

// [a-z0-9_-]{1,64}: safe as a file name and in a URL path.
bool is_valid_prompt_set_name(std::string_view name);

// invalid_argument for a bad name, empty/non-unique labels, a template without "{}"; resource_exhausted over limits.
Status validate_prompt_set(const PromptSet& set, const PromptSetLimits& limits);

// The texts to encode, label-major: for label i and template t, index i * templates + t (or i without templates).
std::vector<std::string> prompt_set_texts(const PromptSet& set);

// Label embeddings from the normalized embeddings of prompt_set_texts(): the re-normalized mean per label.
std::vector<float> ensemble_label_embeddings(const PromptSet& set, const std::vector<float>& text_embeddings,
                                             std::size_t dim);

// {"name", "prompts", "templates"}, the shape of GET /v1/prompt-sets/{name} and of the stored files.
nlohmann::json prompt_set_json(const PromptSet& set);
// The body of PUT /v1/prompt-sets/{name} (or a stored file): {"prompts": [...], "templates": [...]}.
Result<PromptSet> parse_prompt_set(const nlohmann::json& body, const std::string& name);

}  // namespace hclip::server
