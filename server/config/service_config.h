// The service configuration (YAML, /etc/hailo/hailo-clip.yaml by default). Every key of the user's README keeps its
// meaning; validation is strict: an unknown key, a wrong type or an out-of-range value is an error naming the key,
// the value and what was expected.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace hclip::server {

inline constexpr const char* kDefaultConfigPath = "/etc/hailo/hailo-clip.yaml";

struct ServerSection {
    std::string host = "0.0.0.0";
    int port = 5000;
    bool debug = false;
    int http_threads = 16;  // connections served at once; each keeps one thread while it is open
};

struct ClipSection {
    std::string model = "clip-vit-b-32";  // the name reported to clients
    std::string model_dir = "/var/lib/hailo-clip/models/clip-vit-b-32";
    int embedding_dimension = 512;  // must equal the model's
    int device = 0;                 // NPU device index (used by the Hailo backend)
    int image_size = 224;           // must equal the model's
    int batch_size = 8;             // images or texts per tower pass (also across requests)
    double logit_scale = 100.0;
    int text_cache_size = 1024;  // prompt embeddings kept (0 disables the cache)
};

struct PerformanceSection {
    int worker_threads = 2;         // inference workers, each with its own encoders
    double request_timeout = 30.0;  // seconds, whole request
    int max_queue_size = 10;        // requests waiting for a worker
    int gemm_threads = 1;           // threads inside one matrix product, per worker
};

struct LimitsSection {
    std::uint64_t max_body_bytes = 32ull << 20;
    std::uint64_t max_image_pixels = 1ull << 26;  // decompression-bomb guard, checked before decoding
    int max_prompts = 256;
    std::uint64_t max_prompt_bytes = 4096;
};

struct ServiceConfig {
    ServerSection server;
    ClipSection clip;
    PerformanceSection performance;
    LimitsSection limits;
    std::string source = "built-in defaults";  // the file it came from, for the start-up log
};

// Parses and validates YAML text. `source` names the file in messages.
Result<ServiceConfig> parse_service_config(const std::string& yaml_text, const std::string& source);
Result<ServiceConfig> load_service_config(const std::string& path);

// Checks what only the loaded model can tell (embedding_dimension, image_size).
Status check_config_against_model(const ServiceConfig& config, int model_embedding_dimension, int model_image_size);

}  // namespace hclip::server
