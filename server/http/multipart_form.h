// multipart/form-data uploads (curl -F image=@photo.jpg -F prompts="a cat" ...) turned into the JSON body of the
// same request, so an upload is answered by exactly the code that answers JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace hclip::server {

struct FormPart {
    std::string name;
    std::string content;
};

// Parts: "image" (a file; repeated: the batch form "images"), "prompts" (repeated), "prompt_set", "top_k",
// "threshold". Another part name is invalid_argument naming it.
Result<nlohmann::json> form_to_json(const std::vector<FormPart>& parts);

}  // namespace hclip::server
