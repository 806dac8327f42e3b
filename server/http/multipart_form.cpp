#include "server/http/multipart_form.h"

#include <cmath>
#include <cstdlib>

#include "server/http/base64.h"

namespace hclip::server {

using Json = nlohmann::json;

namespace {

// A form field is text; a number-looking value becomes a JSON number so the JSON checks apply unchanged
// (top_k "2.5" is then "a number with a fraction", "abc" stays a string: both rejected with the JSON messages).
Json number_or_text(const std::string& text) {
    if (text.empty()) return text;
    char* end = nullptr;
    const long long whole = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() + text.size()) return whole;
    const double real = std::strtod(text.c_str(), &end);
    if (end == text.c_str() + text.size() && std::isfinite(real)) return real;
    return text;
}

}  // namespace

Result<Json> form_to_json(const std::vector<FormPart>& parts) {
    Json body = Json::object();
    Json images = Json::array();
    Json prompts = Json::array();
    bool have_prompts = false;
    for (const auto& part : parts) {
        if (part.name == "image" || part.name == "images") {
            // Base64 here costs a few milliseconds per megabyte and buys one code path for both forms.
            images.push_back(encode_base64(part.content));
        } else if (part.name == "prompts") {
            prompts.push_back(part.content);
            have_prompts = true;
        } else if (part.name == "prompt_set") {
            body["prompt_set"] = part.content;
        } else if (part.name == "top_k" || part.name == "threshold") {
            body[part.name] = number_or_text(part.content);
        } else {
            return invalid_argument("unknown form field '" + part.name.substr(0, 64) +
                                    "'; the fields are image, prompts, prompt_set, top_k and threshold");
        }
    }
    if (images.size() == 1) {
        body["image"] = images[0];
    } else if (images.size() > 1) {
        body["images"] = std::move(images);
    }
    if (have_prompts) body["prompts"] = std::move(prompts);
    return body;
}

}  // namespace hclip::server
