#include "selftest/expectations.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>

#include "core/mapped_file.h"

namespace hclip::selftest {

namespace {

using Json = nlohmann::json;

constexpr std::pair<CheckKind, std::string_view> kKindNames[] = {
    {CheckKind::kTokenIds, "token_ids"},
    {CheckKind::kProbabilities, "probabilities"},
    {CheckKind::kLogits, "logits"},
    {CheckKind::kImageEmbeddingSum, "image_embedding_sum"},
    {CheckKind::kImageEmbeddingValues, "image_embedding_values"},
    {CheckKind::kTextEmbeddingSum, "text_embedding_sum"},
    {CheckKind::kTextEmbeddingValues, "text_embedding_values"},
    {CheckKind::kSimilarity, "similarity"},
};

bool is_lower_hex_sha256(const std::string& s) {
    return s.size() == 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Validation with messages that say where in the file the problem is.
class Parser {
  public:
    explicit Parser(std::string source) : source_(std::move(source)) {}

    Status error(const std::string& where, const std::string& what) const {
        return invalid_argument(source_ + ": " + where + ": " + what);
    }

    // Unknown keys are refused so a misspelt key cannot silently disable a check. "comment" is always allowed.
    Status only_keys(const Json& j, const std::string& where, std::initializer_list<std::string_view> allowed) const {
        for (const auto& [key, value] : j.items()) {
            if (key == "comment") continue;
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                return error(where, "unknown key '" + key + "'");
            }
        }
        return {};
    }

    Result<std::string> string_at(const Json& j, const std::string& where, const char* key, bool required) const {
        auto it = j.find(key);
        if (it == j.end()) {
            if (required) return error(where, std::string("'") + key + "' is missing");
            return std::string();
        }
        if (!it->is_string()) return error(where, std::string("'") + key + "' must be a string");
        return it->get<std::string>();
    }

    Result<std::vector<std::string>> strings_at(const Json& j, const std::string& where, const char* key,
                                                bool required) const {
        auto it = j.find(key);
        std::vector<std::string> out;
        if (it == j.end()) {
            if (required) return error(where, std::string("'") + key + "' is missing");
            return out;
        }
        if (!it->is_array()) return error(where, std::string("'") + key + "' must be an array of strings");
        for (const auto& v : *it) {
            if (!v.is_string()) return error(where, std::string("'") + key + "' must be an array of strings");
            out.push_back(v.get<std::string>());
        }
        return out;
    }

    Result<std::vector<double>> numbers(const Json& j, const std::string& what) const {
        std::vector<double> out;
        if (!j.is_array()) return error(what, "must be an array of numbers");
        for (const auto& v : j) {
            if (!v.is_number() || !std::isfinite(v.get<double>())) return error(what, "must be an array of numbers");
            out.push_back(v.get<double>());
        }
        return out;
    }

    Result<Tolerance> tolerance(const Json& j, const std::string& where) const {
        if (!j.is_object()) return error(where, "must be an object");
        HCLIP_RETURN_IF_ERROR(only_keys(j, where, {"abs", "top1", "top_probability"}));
        Tolerance t;
        if (auto it = j.find("abs"); it != j.end()) {
            if (!it->is_number() || !(it->get<double>() > 0.0)) return error(where, "'abs' must be a positive number");
            t.abs = it->get<double>();
        }
        if (auto it = j.find("top1"); it != j.end()) {
            if (!it->is_boolean()) return error(where, "'top1' must be true or false");
            t.top1 = it->get<bool>();
        }
        if (auto it = j.find("top_probability"); it != j.end()) {
            if (!it->is_number() || !(it->get<double>() > 0.0) || it->get<double>() > 1.0) {
                return error(where, "'top_probability' must be a number in (0, 1]");
            }
            t.top_probability = it->get<double>();
        }
        if (!t.abs && !t.top1 && !t.top_probability) {
            return error(where, "states no condition (give 'abs', 'top1' or 'top_probability')");
        }
        return t;
    }

    Result<std::map<std::string, ToleranceProfile>> profiles(const Json& j, const std::string& where) const {
        if (!j.is_object()) return error(where, "must be an object of backend profiles");
        std::map<std::string, ToleranceProfile> out;
        for (const auto& [backend, profile] : j.items()) {
            if (backend == "comment") continue;
            const std::string pwhere = where + "." + backend;
            if (!profile.is_object()) return error(pwhere, "must be an object of check kinds");
            ToleranceProfile p;
            for (const auto& [kind, tol] : profile.items()) {
                if (kind == "comment") continue;
                if (!parse_check_kind(kind)) return error(pwhere, "unknown check kind '" + kind + "'");
                if (kind == "token_ids") return error(pwhere, "token_ids are always compared exactly");
                HCLIP_ASSIGN_OR_RETURN(Tolerance t, tolerance(tol, pwhere + "." + kind));
                const bool scores = kind == "probabilities" || kind == "logits" || kind == "similarity";
                if (!scores && (t.top1 || t.top_probability)) {
                    return error(pwhere + "." + kind, "only 'abs' applies to embedding values");
                }
                p.emplace(kind, t);
            }
            out.emplace(backend, std::move(p));
        }
        return out;
    }

    Result<Check> check(const Json& j, const std::string& where_in) const {
        if (!j.is_object()) return error(where_in, "must be an object");
        Check c;
        HCLIP_ASSIGN_OR_RETURN(c.name, string_at(j, where_in, "name", true));
        const std::string where = where_in + " ('" + c.name + "')";
        HCLIP_ASSIGN_OR_RETURN(std::string kind, string_at(j, where, "kind", true));
        auto parsed_kind = parse_check_kind(kind);
        if (!parsed_kind) return error(where, "unknown kind '" + kind + "'");
        c.kind = *parsed_kind;
        HCLIP_ASSIGN_OR_RETURN(c.source, string_at(j, where, "source", false));
        auto expected = j.find("expected");
        if (expected == j.end()) return error(where, "'expected' is missing");

        auto one_string = [&](const char* key, std::vector<std::string>& dst) -> Status {
            HCLIP_ASSIGN_OR_RETURN(std::string v, string_at(j, where, key, true));
            dst.push_back(std::move(v));
            return {};
        };
        switch (c.kind) {
            case CheckKind::kTokenIds: {
                HCLIP_RETURN_IF_ERROR(only_keys(j, where, {"name", "kind", "source", "text", "expected"}));
                HCLIP_RETURN_IF_ERROR(one_string("text", c.texts));
                if (!expected->is_array() || expected->empty()) return error(where, "'expected' must be token ids");
                for (const auto& v : *expected) {
                    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 1 << 30) {
                        return error(where, "'expected' must be token ids");
                    }
                    c.expected_ids.push_back(v.get<std::int32_t>());
                }
                break;
            }
            case CheckKind::kProbabilities:
            case CheckKind::kLogits: {
                HCLIP_RETURN_IF_ERROR(only_keys(j, where, {"name", "kind", "source", "image", "texts", "expected"}));
                HCLIP_RETURN_IF_ERROR(one_string("image", c.images));
                HCLIP_ASSIGN_OR_RETURN(c.texts, strings_at(j, where, "texts", true));
                if (c.texts.size() < 2) return error(where, "'texts' needs at least two prompts");
                HCLIP_ASSIGN_OR_RETURN(c.expected, numbers(*expected, where + " 'expected'"));
                if (c.expected.size() != c.texts.size()) {
                    return error(where, "'expected' has " + std::to_string(c.expected.size()) + " values for " +
                                            std::to_string(c.texts.size()) + " texts");
                }
                break;
            }
            case CheckKind::kImageEmbeddingSum:
            case CheckKind::kTextEmbeddingSum: {
                const bool image = c.kind == CheckKind::kImageEmbeddingSum;
                HCLIP_RETURN_IF_ERROR(
                    only_keys(j, where, {"name", "kind", "source", image ? "image" : "text", "expected"}));
                HCLIP_RETURN_IF_ERROR(one_string(image ? "image" : "text", image ? c.images : c.texts));
                if (!expected->is_number() || !std::isfinite(expected->get<double>())) {
                    return error(where, "'expected' must be a number");
                }
                c.expected = {expected->get<double>()};
                break;
            }
            case CheckKind::kImageEmbeddingValues:
            case CheckKind::kTextEmbeddingValues: {
                const bool image = c.kind == CheckKind::kImageEmbeddingValues;
                HCLIP_RETURN_IF_ERROR(
                    only_keys(j, where, {"name", "kind", "source", image ? "image" : "text", "offset", "expected"}));
                HCLIP_RETURN_IF_ERROR(one_string(image ? "image" : "text", image ? c.images : c.texts));
                if (auto it = j.find("offset"); it != j.end()) {
                    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 1 << 20) {
                        return error(where, "'offset' must be a non-negative integer");
                    }
                    c.offset = it->get<int>();
                }
                HCLIP_ASSIGN_OR_RETURN(c.expected, numbers(*expected, where + " 'expected'"));
                if (c.expected.empty()) return error(where, "'expected' is empty");
                break;
            }
            case CheckKind::kSimilarity: {
                HCLIP_RETURN_IF_ERROR(only_keys(j, where, {"name", "kind", "source", "images", "texts", "expected"}));
                HCLIP_ASSIGN_OR_RETURN(c.images, strings_at(j, where, "images", true));
                HCLIP_ASSIGN_OR_RETURN(c.texts, strings_at(j, where, "texts", true));
                if (c.images.empty() || c.texts.empty()) return error(where, "'images' and 'texts' must not be empty");
                if (!expected->is_array() || expected->size() != c.texts.size()) {
                    return error(where,
                                 "'expected' must have one row per text (" + std::to_string(c.texts.size()) + ")");
                }
                for (std::size_t r = 0; r < expected->size(); ++r) {
                    const std::string rwhere = where + " 'expected' row " + std::to_string(r);
                    HCLIP_ASSIGN_OR_RETURN(std::vector<double> row, numbers((*expected)[r], rwhere));
                    if (row.size() != c.images.size()) {
                        return error(rwhere, "has " + std::to_string(row.size()) + " values for " +
                                                 std::to_string(c.images.size()) + " images");
                    }
                    c.expected.insert(c.expected.end(), row.begin(), row.end());
                }
                break;
            }
        }
        return c;
    }

    Result<ModelEntry> model(const Json& j, const std::string& where_in) const {
        if (!j.is_object()) return error(where_in, "must be an object");
        HCLIP_RETURN_IF_ERROR(only_keys(j, where_in,
                                        {"id", "description", "sha256", "names", "layouts", "architecture",
                                         "logit_scale", "tolerances", "checks"}));
        ModelEntry m;
        HCLIP_ASSIGN_OR_RETURN(m.id, string_at(j, where_in, "id", true));
        const std::string where = where_in + " ('" + m.id + "')";
        HCLIP_ASSIGN_OR_RETURN(m.description, string_at(j, where, "description", true));
        HCLIP_ASSIGN_OR_RETURN(m.sha256, strings_at(j, where, "sha256", false));
        for (auto& s : m.sha256) {
            std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
            if (!is_lower_hex_sha256(s)) return error(where, "'" + s + "' is not a SHA-256 (64 hex digits)");
        }
        HCLIP_ASSIGN_OR_RETURN(m.names, strings_at(j, where, "names", false));
        HCLIP_ASSIGN_OR_RETURN(m.layouts, strings_at(j, where, "layouts", false));
        for (const auto& l : m.layouts) {
            if (l != "openai" && l != "huggingface") {
                return error(where, "layout '" + l + "' is not 'openai' or 'huggingface'");
            }
        }
        if (auto it = j.find("architecture"); it != j.end()) {
            if (!it->is_object()) return error(where, "'architecture' must be an object");
            for (const auto& [key, value] : it->items()) {
                if (key == "comment") continue;
                if (architecture_signature(ClipConfig{}).count(key) == 0) {
                    return error(where, "unknown architecture key '" + key + "'");
                }
                if (key == "activation") {
                    if (!value.is_string() || (value != "quick_gelu" && value != "gelu")) {
                        return error(where, "'activation' must be \"quick_gelu\" or \"gelu\"");
                    }
                    m.architecture[key] = value.get<std::string>();
                } else {
                    if (!value.is_number_integer() || value.get<std::int64_t>() <= 0) {
                        return error(where, "architecture '" + key + "' must be a positive integer");
                    }
                    m.architecture[key] = std::to_string(value.get<std::int64_t>());
                }
            }
        }
        // An entry must be recognisable: by the file's identity, or by what it is called and how it is built.
        if (m.sha256.empty() && (m.names.empty() || m.architecture.empty())) {
            return error(where, "needs 'sha256', or both 'names' and 'architecture', to be matched with a model");
        }
        if (auto it = j.find("logit_scale"); it != j.end()) {
            if (!it->is_number() || !(it->get<double>() > 0.0)) {
                return error(where, "'logit_scale' must be a positive number");
            }
            m.logit_scale = it->get<double>();
        }
        if (auto it = j.find("tolerances"); it != j.end()) {
            HCLIP_ASSIGN_OR_RETURN(m.tolerances, profiles(*it, where + " tolerances"));
        }
        auto checks = j.find("checks");
        if (checks == j.end() || !checks->is_array() || checks->empty()) {
            return error(where, "'checks' must be a non-empty array");
        }
        std::set<std::string> names;
        for (std::size_t i = 0; i < checks->size(); ++i) {
            HCLIP_ASSIGN_OR_RETURN(Check c, check((*checks)[i], where + " checks[" + std::to_string(i) + "]"));
            if (!names.insert(c.name).second) return error(where, "two checks are named '" + c.name + "'");
            m.checks.push_back(std::move(c));
        }
        return m;
    }

  private:
    std::string source_;
};

}  // namespace

std::string_view check_kind_name(CheckKind kind) {
    for (const auto& [k, name] : kKindNames) {
        if (k == kind) return name;
    }
    return "unknown";
}

std::optional<CheckKind> parse_check_kind(std::string_view name) {
    for (const auto& [k, n] : kKindNames) {
        if (n == name) return k;
    }
    return std::nullopt;
}

Result<Expectations> parse_expectations(std::string_view json_text, const std::string& source_name) {
    const Parser p(source_name);
    const Json j = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_argument(source_name + ": not valid JSON");
    if (!j.is_object()) return p.error("top level", "must be an object");
    HCLIP_RETURN_IF_ERROR(p.only_keys(j, "top level", {"format", "version", "tolerances", "sanity", "models"}));
    if (j.value("format", std::string()) != "hailo-clip-selftest-expectations") {
        return p.error("top level", "'format' must be \"hailo-clip-selftest-expectations\"");
    }
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != 1) {
        return p.error("top level", "'version' must be 1 (this program reads version 1)");
    }
    Expectations e;
    if (auto it = j.find("tolerances"); it != j.end()) {
        HCLIP_ASSIGN_OR_RETURN(e.tolerances, p.profiles(*it, "tolerances"));
    }
    auto sanity = j.find("sanity");
    if (sanity == j.end() || !sanity->is_object()) return p.error("sanity", "is missing");
    HCLIP_RETURN_IF_ERROR(p.only_keys(*sanity, "sanity", {"pairs"}));
    auto pairs = sanity->find("pairs");
    if (pairs == sanity->end() || !pairs->is_array() || pairs->size() < 2) {
        return p.error("sanity", "'pairs' needs at least two pictures with their descriptions");
    }
    for (std::size_t i = 0; i < pairs->size(); ++i) {
        const std::string where = "sanity.pairs[" + std::to_string(i) + "]";
        const Json& pj = (*pairs)[i];
        if (!pj.is_object()) return p.error(where, "must be an object");
        HCLIP_RETURN_IF_ERROR(p.only_keys(pj, where, {"image", "text"}));
        SanityPair pair;
        HCLIP_ASSIGN_OR_RETURN(pair.image, p.string_at(pj, where, "image", true));
        HCLIP_ASSIGN_OR_RETURN(pair.text, p.string_at(pj, where, "text", true));
        e.sanity.push_back(std::move(pair));
    }
    auto models = j.find("models");
    if (models == j.end() || !models->is_array()) return p.error("models", "must be an array");
    std::set<std::string> ids;
    for (std::size_t i = 0; i < models->size(); ++i) {
        HCLIP_ASSIGN_OR_RETURN(ModelEntry m, p.model((*models)[i], "models[" + std::to_string(i) + "]"));
        if (!ids.insert(m.id).second) return p.error("models", "two entries have the id '" + m.id + "'");
        e.models.push_back(std::move(m));
    }
    return e;
}

Result<Expectations> load_expectations(const std::string& path,
                                       const std::vector<std::filesystem::path>& fallback_image_dirs) {
    HCLIP_ASSIGN_OR_RETURN(std::string text, read_file(path));
    HCLIP_ASSIGN_OR_RETURN(Expectations e, parse_expectations(text, path));
    e.image_dirs.push_back(std::filesystem::path(path).parent_path() / "images");
    for (const auto& d : fallback_image_dirs) {
        if (std::find(e.image_dirs.begin(), e.image_dirs.end(), d) == e.image_dirs.end()) e.image_dirs.push_back(d);
    }
    return e;
}

Result<std::filesystem::path> find_image(const Expectations& expectations, const std::string& name) {
    // A plain file name only: the data file must not reach outside its image folders.
    if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos || name == "." ||
        name == "..") {
        return invalid_argument("picture '" + name + "' must be a plain file name");
    }
    std::string tried;
    for (const auto& dir : expectations.image_dirs) {
        std::error_code ec;
        const auto candidate = dir / name;
        if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
        tried += (tried.empty() ? "" : ", ") + dir.string();
    }
    return not_found("self-test picture '" + name + "' is in none of the image folders (" +
                     (tried.empty() ? std::string("none configured") : tried) + ")");
}

std::vector<std::string> referenced_images(const Expectations& expectations) {
    std::vector<std::string> out;
    auto add = [&](const std::string& name) {
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    };
    for (const auto& m : expectations.models) {
        for (const auto& c : m.checks) {
            for (const auto& i : c.images)
                add(i);
        }
    }
    for (const auto& p : expectations.sanity)
        add(p.image);
    return out;
}

std::map<std::string, std::string> architecture_signature(const ClipConfig& c) {
    return {
        {"embed_dim", std::to_string(c.embed_dim)},
        {"image_size", std::to_string(c.vision.image_size)},
        {"patch_size", std::to_string(c.vision.patch_size)},
        {"vision_width", std::to_string(c.vision.width)},
        {"vision_layers", std::to_string(c.vision.layers)},
        {"vision_heads", std::to_string(c.vision.heads)},
        {"vision_mlp_width", std::to_string(c.vision.mlp_width)},
        {"text_width", std::to_string(c.text.width)},
        {"text_layers", std::to_string(c.text.layers)},
        {"text_heads", std::to_string(c.text.heads)},
        {"text_mlp_width", std::to_string(c.text.mlp_width)},
        {"context_length", std::to_string(c.text.context_length)},
        {"vocab_size", std::to_string(c.text.vocab_size)},
        // Both towers share one activation in every CLIP family; report the odd one out if they ever differ.
        {"activation", c.vision.activation == c.text.activation
                           ? std::string(activation_name(c.vision.activation))
                           : std::string(activation_name(c.vision.activation)) + "/" +
                                 std::string(activation_name(c.text.activation))},
    };
}

const ToleranceProfile* find_profile(const Expectations& expectations, const ModelEntry* entry,
                                     std::string_view backend) {
    if (entry != nullptr) {
        if (auto it = entry->tolerances.find(std::string(backend)); it != entry->tolerances.end()) return &it->second;
    }
    if (auto it = expectations.tolerances.find(std::string(backend)); it != expectations.tolerances.end()) {
        return &it->second;
    }
    return nullptr;
}

}  // namespace hclip::selftest
