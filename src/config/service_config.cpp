#include "config/service_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "core/mapped_file.h"

namespace hclip::server {

namespace {

std::string describe(const YAML::Node& node) {
    if (node.IsScalar()) return "'" + node.Scalar() + "'";
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    return "nothing";
}

Status type_error(const std::string& key, const YAML::Node& node, const std::string& expected) {
    return invalid_argument(key + " is " + describe(node) + "; expected " + expected);
}

// Scalars are read by hand rather than with yaml-cpp's as<T>(), which accepts "1e3" for an int or "yes" for a
// string silently; here a value means exactly one thing.
Status read_int(const YAML::Node& node, const std::string& key, long long min, long long max, long long& out) {
    if (!node.IsScalar() || node.Tag() == "!") return type_error(key, node, "a whole number");
    const std::string& s = node.Scalar();
    std::size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(s, &used, 10);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != s.size()) return type_error(key, node, "a whole number");
    if (v < min || v > max) {
        return invalid_argument(key + " is " + s + "; expected a whole number from " + std::to_string(min) + " to " +
                                std::to_string(max));
    }
    out = v;
    return {};
}

Status read_double(const YAML::Node& node, const std::string& key, double min, double max, double& out) {
    if (!node.IsScalar() || node.Tag() == "!") return type_error(key, node, "a number");
    const std::string& s = node.Scalar();
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return type_error(key, node, "a number");
    if (v < min || v > max) {
        std::ostringstream m;
        m << key << " is " << s << "; expected a number from " << min << " to " << max;
        return invalid_argument(m.str());
    }
    out = v;
    return {};
}

Status read_bool(const YAML::Node& node, const std::string& key, bool& out) {
    if (node.IsScalar()) {
        const std::string& s = node.Scalar();
        if (s == "true" || s == "True" || s == "TRUE") {
            out = true;
            return {};
        }
        if (s == "false" || s == "False" || s == "FALSE") {
            out = false;
            return {};
        }
    }
    return type_error(key, node, "true or false");
}

Status read_string(const YAML::Node& node, const std::string& key, std::string& out) {
    if (!node.IsScalar() || node.Scalar().empty()) return type_error(key, node, "a non-empty string");
    out = node.Scalar();
    return {};
}

using Reader = std::function<Status(const YAML::Node&, const std::string&)>;

Status read_section(const YAML::Node& root, const std::string& section, const std::map<std::string, Reader>& keys) {
    const YAML::Node node = root[section];
    if (!node || node.IsNull()) return {};
    if (!node.IsMap()) return type_error(section, node, "a mapping of settings");
    for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        const std::string full = section + "." + key;
        auto it = keys.find(key);
        if (it == keys.end()) {
            std::string known;
            for (const auto& [k, _] : keys)
                known += (known.empty() ? "" : ", ") + k;
            return invalid_argument("unknown setting " + full + "; " + section + " accepts: " + known);
        }
        HCLIP_RETURN_IF_ERROR(it->second(kv.second, full));
    }
    return {};
}

Reader int_into(int& dst, long long min, long long max) {
    return [&dst, min, max](const YAML::Node& n, const std::string& key) {
        long long v = 0;
        HCLIP_RETURN_IF_ERROR(read_int(n, key, min, max, v));
        dst = static_cast<int>(v);
        return Status();
    };
}
// A whole number the user may leave out (or write as null): then it stays unset.
Reader optional_int_into(std::optional<int>& dst, long long min, long long max) {
    return [&dst, min, max](const YAML::Node& n, const std::string& key) {
        if (n.IsNull()) {
            dst.reset();
            return Status();
        }
        long long v = 0;
        HCLIP_RETURN_IF_ERROR(read_int(n, key, min, max, v));
        dst = static_cast<int>(v);
        return Status();
    };
}
Reader u64_into(std::uint64_t& dst, long long min, long long max) {
    return [&dst, min, max](const YAML::Node& n, const std::string& key) {
        long long v = 0;
        HCLIP_RETURN_IF_ERROR(read_int(n, key, min, max, v));
        dst = static_cast<std::uint64_t>(v);
        return Status();
    };
}
Reader double_into(double& dst, double min, double max) {
    return [&dst, min, max](const YAML::Node& n, const std::string& key) { return read_double(n, key, min, max, dst); };
}
// A number the user may leave out (or write as null): then it stays unset.
Reader optional_double_into(std::optional<double>& dst, double min, double max) {
    return [&dst, min, max](const YAML::Node& n, const std::string& key) {
        if (n.IsNull()) {
            dst.reset();
            return Status();
        }
        double v = 0.0;
        HCLIP_RETURN_IF_ERROR(read_double(n, key, min, max, v));
        dst = v;
        return Status();
    };
}
// An optional string: empty is allowed and means "not set".
Reader optional_string_into(std::string& dst) {
    return [&dst](const YAML::Node& n, const std::string& key) {
        if (n.IsNull()) {
            dst.clear();
            return Status();
        }
        if (!n.IsScalar()) return type_error(key, n, "a string");
        dst = n.Scalar();
        return Status();
    };
}
Reader bool_into(bool& dst) {
    return [&dst](const YAML::Node& n, const std::string& key) { return read_bool(n, key, dst); };
}
Reader string_into(std::string& dst) {
    return [&dst](const YAML::Node& n, const std::string& key) { return read_string(n, key, dst); };
}
Reader one_of_into(std::string& dst, std::vector<std::string> allowed) {
    return [&dst, allowed](const YAML::Node& n, const std::string& key) {
        std::string list;
        for (const auto& a : allowed)
            list += (list.empty() ? "" : ", ") + a;
        std::string v;
        if (!read_string(n, key, v).ok() || std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
            return type_error(key, n, "one of " + list);
        }
        dst = v;
        return Status();
    };
}

Status read_string_list(const YAML::Node& node, const std::string& key, std::vector<std::string>& out) {
    if (!node.IsSequence()) return type_error(key, node, "a list of strings");
    out.clear();
    for (std::size_t i = 0; i < node.size(); ++i) {
        std::string v;
        HCLIP_RETURN_IF_ERROR(read_string(node[i], key + "[" + std::to_string(i) + "]", v));
        out.push_back(std::move(v));
    }
    return {};
}

// prompt_sets: {name: {prompts: [...], templates: [...]}}. Names and sizes are checked where sets are stored.
Status read_prompt_sets(const YAML::Node& node, std::vector<ConfiguredPromptSet>& out) {
    if (!node || node.IsNull()) return {};
    if (!node.IsMap()) return type_error("prompt_sets", node, "a mapping of set names to {prompts, templates}");
    for (const auto& kv : node) {
        ConfiguredPromptSet set;
        set.name = kv.first.Scalar();
        const std::string key = "prompt_sets." + set.name;
        if (!kv.second.IsMap()) return type_error(key, kv.second, "a mapping with prompts (and templates)");
        bool have_prompts = false;
        for (const auto& field : kv.second) {
            const std::string name = field.first.Scalar();
            if (name == "prompts") {
                HCLIP_RETURN_IF_ERROR(read_string_list(field.second, key + ".prompts", set.prompts));
                have_prompts = true;
            } else if (name == "templates") {
                HCLIP_RETURN_IF_ERROR(read_string_list(field.second, key + ".templates", set.templates));
            } else {
                return invalid_argument("unknown setting " + key + "." + name +
                                        "; a prompt set has prompts and "
                                        "templates");
            }
        }
        if (!have_prompts) return invalid_argument(key + " has no prompts");
        out.push_back(std::move(set));
    }
    return {};
}

bool is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

// A key travels in an HTTP header: printable ASCII without spaces, and long enough not to be guessed.
Status check_api_key(const std::string& key, const std::string& where) {
    if (key.empty()) return {};
    for (char ch : key) {
        if (ch < 0x21 || ch > 0x7e) {
            return invalid_argument(where + ": the key must be printable ASCII without spaces");
        }
    }
    if (key.size() < 16) return invalid_argument(where + ": the key is shorter than 16 characters");
    return {};
}

// The key from server.api_key_file, so the secret need not sit in a world-readable config file.
Status resolve_api_key(ServerSection& s) {
    if (s.api_key_file.empty()) return check_api_key(s.api_key, "server.api_key");
    if (!s.api_key.empty()) return invalid_argument("set server.api_key or server.api_key_file, not both");
    auto text = read_file(s.api_key_file);
    if (!text.ok()) return text.status().with_context("server.api_key_file");
    std::string key = *text;
    while (!key.empty() && is_space(key.back()))
        key.pop_back();
    std::size_t start = 0;
    while (start < key.size() && is_space(key[start]))
        ++start;
    key.erase(0, start);
    if (key.empty()) return invalid_argument("server.api_key_file " + s.api_key_file + " holds no key");
    s.api_key = std::move(key);
    return check_api_key(s.api_key, "server.api_key_file " + s.api_key_file);
}

Status parse_into(const YAML::Node& root, ServiceConfig& c) {
    if (!root || root.IsNull()) return {};  // an empty file means all defaults
    if (!root.IsMap()) return invalid_argument("the configuration must be a mapping of sections (server, clip, ...)");
    const std::set<std::string> sections = {"server", "clip",    "performance", "limits",
                                            "hailo",  "storage", "prompt_sets"};
    for (const auto& kv : root) {
        if (!sections.count(kv.first.Scalar())) {
            return invalid_argument("unknown section '" + kv.first.Scalar() +
                                    "'; the sections are server, clip, performance, limits, hailo, storage and "
                                    "prompt_sets");
        }
    }
    HCLIP_RETURN_IF_ERROR(read_section(root, "server",
                                       {{"host", string_into(c.server.host)},
                                        {"port", int_into(c.server.port, 0, 65535)},
                                        {"debug", bool_into(c.server.debug)},
                                        {"http_threads", int_into(c.server.http_threads, 1, 1024)},
                                        {"read_timeout", double_into(c.server.read_timeout, 0.001, 3600)},
                                        {"write_timeout", double_into(c.server.write_timeout, 0.001, 3600)},
                                        {"keep_alive_timeout", double_into(c.server.keep_alive_timeout, 0.001, 3600)},
                                        {"api_key", optional_string_into(c.server.api_key)},
                                        {"api_key_file", optional_string_into(c.server.api_key_file)},
                                        {"metrics_require_api_key", bool_into(c.server.metrics_require_api_key)}}));
    HCLIP_RETURN_IF_ERROR(
        read_section(root, "clip",
                     {{"model", string_into(c.clip.model)},
                      {"model_dir", string_into(c.clip.model_dir)},
                      {"embedding_dimension", optional_int_into(c.clip.embedding_dimension, 1, 65536)},
                      {"device", int_into(c.clip.device, 0, 64)},
                      {"image_size", optional_int_into(c.clip.image_size, 1, 4096)},
                      {"batch_size", int_into(c.clip.batch_size, 1, 256)},
                      {"logit_scale", double_into(c.clip.logit_scale, 1e-3, 1e4)},
                      {"text_cache_size", int_into(c.clip.text_cache_size, 0, 10000000)},
                      {"backend", one_of_into(c.clip.backend, {"auto", "cpu", "hailo"})},
                      {"self_test", one_of_into(c.clip.self_test, {"off", "report", "require"})},
                      {"weights", one_of_into(c.clip.weights, {"fp32", "bf16", "fp16"})},
                      {"compute", one_of_into(c.clip.compute, {"fp32", "bf16"})}}));
    // A model named without a directory is the installed model of that name (hailo-clip models pull NAME).
    if (const YAML::Node clip = root["clip"]; clip && clip.IsMap() && clip["model"] && !clip["model_dir"]) {
        c.clip.model_dir = std::string(kInstalledModelsDir) + "/" + c.clip.model;
    }
    HCLIP_RETURN_IF_ERROR(read_section(root, "hailo",
                                       {{"image_hef", string_into(c.hailo.image_hef)},
                                        {"text_hef", string_into(c.hailo.text_hef)},
                                        {"token_embedding_lut", string_into(c.hailo.token_embedding_lut)},
                                        {"text_projection", string_into(c.hailo.text_projection)},
                                        {"text_encoder", one_of_into(c.hailo.text_encoder, {"hailo", "cpu"})},
                                        {"on_unavailable", one_of_into(c.hailo.on_unavailable, {"fail", "cpu"})},
                                        {"group_id", string_into(c.hailo.group_id)},
                                        {"timeout_ms", int_into(c.hailo.timeout_ms, 1, 600000)},
                                        {"retry_max_seconds", int_into(c.hailo.retry_max_seconds, 1, 3600)}}));
    HCLIP_RETURN_IF_ERROR(
        read_section(root, "performance",
                     {{"worker_threads", int_into(c.performance.worker_threads, 1, 256)},
                      {"request_timeout", double_into(c.performance.request_timeout, 0.001, 86400)},
                      {"max_queue_size", int_into(c.performance.max_queue_size, 0, 100000)},
                      {"gemm_threads", int_into(c.performance.gemm_threads, 0, 256)},
                      {"gemm_kernel", one_of_into(c.performance.gemm_kernel, {"auto", "packed", "panels", "plain"})},
                      {"gemm_kernel_cache", string_into(c.performance.gemm_kernel_cache)},
                      {"hung_worker_timeout", optional_double_into(c.performance.hung_worker_timeout, 0.001, 86400)},
                      {"health_probe_interval", double_into(c.performance.health_probe_interval, 0.001, 86400)},
                      {"jpeg_scaled_decode", bool_into(c.performance.jpeg_scaled_decode)}}));
    if (c.performance.hung_worker_timeout && *c.performance.hung_worker_timeout < c.performance.request_timeout) {
        // A batch may legitimately run for a whole request_timeout; a shorter bound would restart a busy service.
        return invalid_argument("performance.hung_worker_timeout is " +
                                std::to_string(*c.performance.hung_worker_timeout) +
                                " s; it must be at least performance.request_timeout (" +
                                std::to_string(c.performance.request_timeout) + " s)");
    }
    HCLIP_RETURN_IF_ERROR(read_section(root, "limits",
                                       {{"max_body_bytes", u64_into(c.limits.max_body_bytes, 1024, 1ll << 32)},
                                        {"max_image_pixels", u64_into(c.limits.max_image_pixels, 1, 1ll << 32)},
                                        {"max_prompts", int_into(c.limits.max_prompts, 1, 100000)},
                                        {"max_prompt_bytes", u64_into(c.limits.max_prompt_bytes, 1, 1ll << 24)},
                                        {"max_batch_items", int_into(c.limits.max_batch_items, 1, 4096)}}));
    HCLIP_RETURN_IF_ERROR(read_section(root, "storage", {{"state_dir", string_into(c.storage.state_dir)}}));
    HCLIP_RETURN_IF_ERROR(read_prompt_sets(root["prompt_sets"], c.prompt_sets));
    return resolve_api_key(c.server);
}

}  // namespace

Result<ServiceConfig> parse_service_config(const std::string& yaml_text, const std::string& source) {
    ServiceConfig config;
    config.source = source;
    try {
        const YAML::Node root = YAML::Load(yaml_text);
        Status s = parse_into(root, config);
        if (!s.ok()) return s.with_context("configuration " + source);
    } catch (const YAML::Exception& e) {  // yaml-cpp reports syntax errors by exception: converted at this edge
        return invalid_argument("configuration " + source + " is not valid YAML: " + e.what());
    }
    return config;
}

Result<ServiceConfig> load_service_config(const std::string& path) {
    HCLIP_ASSIGN_OR_RETURN(std::string text, read_file(path));
    return parse_service_config(text, path);
}

Status check_config_against_model(const ServiceConfig& c, int model_embedding_dimension, int model_image_size) {
    if (c.clip.embedding_dimension && *c.clip.embedding_dimension != model_embedding_dimension) {
        return invalid_argument(
            "clip.embedding_dimension is " + std::to_string(*c.clip.embedding_dimension) + " but the model in " +
            c.clip.model_dir + " has " + std::to_string(model_embedding_dimension) + "-dimension embeddings; set " +
            "clip.embedding_dimension: " + std::to_string(model_embedding_dimension) + " or leave it out");
    }
    if (c.clip.image_size && *c.clip.image_size != model_image_size) {
        return invalid_argument("clip.image_size is " + std::to_string(*c.clip.image_size) + " but the model in " +
                                c.clip.model_dir + " takes " + std::to_string(model_image_size) +
                                " px images; set clip.image_size: " + std::to_string(model_image_size) +
                                " or leave it out");
    }
    return {};
}

double PerformanceSection::hung_worker_bound() const {
    return hung_worker_timeout.value_or(kHungWorkerTimeoutsPerRequestTimeout * request_timeout);
}

}  // namespace hclip::server
