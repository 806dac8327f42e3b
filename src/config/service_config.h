// The service configuration (YAML, /etc/hailo/hailo-clip.yaml by default). Every key of the user's README keeps its
// meaning; validation is strict: an unknown key, a wrong type or an out-of-range value is an error naming the key,
// the value and what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace hclip::server {

inline constexpr const char* kDefaultConfigPath = "/etc/hailo/hailo-clip.yaml";

// Where deploy/install.sh and `hailo-clip models pull` put models, one folder per model name.
inline constexpr const char* kInstalledModelsDir = "/var/lib/hailo-clip/models";

struct ServerSection {
    std::string host = "0.0.0.0";
    int port = 5000;
    bool debug = false;
    int http_threads = 16;  // connections served at once; each keeps one thread while it is open
    // Slow clients: seconds a client may stay silent while sending its request (headers or body) before the
    // connection is closed, seconds a response may wait for the client to read it, and seconds an idle
    // keep-alive connection is kept.
    double read_timeout = 10.0;
    double write_timeout = 10.0;
    double keep_alive_timeout = 5.0;
    // When set, every endpoint but /health needs "Authorization: Bearer <api_key>". api_key_file names a file
    // holding the key (read at start-up, surrounding whitespace ignored); at most one of the two may be set.
    std::string api_key;
    std::string api_key_file;
    bool metrics_require_api_key = false;  // GET /metrics is open (for scrapers) unless this is true
};

struct ClipSection {
    std::string model = "clip-vit-b-32";                                 // the name reported to clients
    std::string model_dir = "/var/lib/hailo-clip/models/clip-vit-b-32";  // default: kInstalledModelsDir/<model>
    // Not set: the model's. Set: a statement about the model that start-up checks (a mismatch stops it).
    std::optional<int> embedding_dimension;
    int device = 0;                 // NPU device index (used by the Hailo backend)
    std::optional<int> image_size;  // as embedding_dimension: not set means the model's
    int batch_size = 8;             // images or texts per tower pass (also across requests)
    double logit_scale = 100.0;
    int text_cache_size = 1024;  // prompt embeddings kept (0 disables the cache)
    // Which encoders serve: "cpu", "hailo" (the NPU, see the hailo section) or "auto" (hailo where this build has
    // HailoRT and a Hailo device is present, the CPU otherwise). See engine_options.h.
    std::string backend = "auto";
    // The shipped self-test (docs/selftest.md), run through the serving encoders: "report" runs it once after
    // start-up and shows its verdict in /health, "require" runs it before the service is ready and refuses to
    // start on a failure, "off" never runs it.
    std::string self_test = "report";
    // How the CPU towers store their large weight matrices: "fp32" (the default), or "bf16" / "fp16" (16 bits,
    // float32 arithmetic: less memory, not faster than packed fp32 yet, results within the reduced-precision criterion
    // of docs/configuration.md).
    std::string weights = "fp32";
    // What the CPU towers' matrix products multiply: "fp32" (the default), or "bf16" (bfloat16 inputs, float32
    // accumulation, on CPUs with bf16 dot products; results within the reduced-precision criterion of
    // docs/configuration.md).
    std::string compute = "fp32";
};

// The Hailo NPU backend (clip.backend: hailo). Paths default to where hailo-apps' resource download puts them.
struct HailoSection {
    std::string image_hef = "/usr/local/hailo/resources/models/hailo10h/clip_vit_b_32_image_encoder.hef";
    std::string text_hef = "/usr/local/hailo/resources/models/hailo10h/clip_vit_b_32_text_encoder.hef";
    std::string token_embedding_lut = "/usr/local/hailo/resources/npy/token_embedding_lut.npy";
    std::string text_projection = "/usr/local/hailo/resources/npy/text_projection.npy";
    std::string text_encoder = "hailo";   // "hailo", or "cpu": prompts on the CPU with clip.model_dir's weights
    std::string on_unavailable = "fail";  // at start-up: "fail" (exit non-zero) or "cpu" (serve on the CPU)
    std::string group_id = "SHARED";      // processes with the same VDevice group id share the chip
    int timeout_ms = 2000;                // one frame on the NPU
    int retry_max_seconds = 30;           // back-off limit while reinitializing a lost device
};

// Unless set, a worker counts as stuck once one batch has run for this many request timeouts.
inline constexpr double kHungWorkerTimeoutsPerRequestTimeout = 3.0;

struct PerformanceSection {
    int worker_threads = 2;         // requests computed at once, each worker with its own encoders
    double request_timeout = 30.0;  // seconds, whole request
    int max_queue_size = 10;        // requests waiting for a worker
    // Threads of the one compute pool all workers' products are split across (0 = one per core): a lone request
    // uses them all, concurrent requests share them.
    int gemm_threads = 0;
    // The GEMM kernel per weight shape: "auto" (timed on this machine, kept in gemm_kernel_cache), "packed" or
    // "plain" (forced: kernels/kernel_choice.h).
    std::string gemm_kernel = "auto";
    // The timings file of "auto": "" = the default (kernels/kernel_cache.h: $CACHE_DIRECTORY, XDG cache, ~/.cache),
    // "off" = none (timed at every start).
    std::string gemm_kernel_cache;
    // Seconds one batch may run before its worker counts as stuck: the service turns unhealthy and stops pinging
    // the systemd watchdog. Not set: kHungWorkerTimeoutsPerRequestTimeout x request_timeout.
    std::optional<double> hung_worker_timeout;
    double health_probe_interval = 30.0;  // seconds between probe inferences while idle or failing
    // Large JPEGs decoded at a DCT scale (EngineOptions::jpeg_scaled_decode): faster, not Pillow-exact.
    bool jpeg_scaled_decode = false;

    double hung_worker_bound() const;  // hung_worker_timeout, or its default
};

struct LimitsSection {
    std::uint64_t max_body_bytes = 32ull << 20;
    std::uint64_t max_image_pixels = 1ull << 26;  // decompression-bomb guard, checked before decoding
    int max_prompts = 256;
    std::uint64_t max_prompt_bytes = 4096;
    int max_batch_items = 64;  // pictures in one "images" batch, items in one /v1/embeddings "input"
};

// Where the service keeps what clients create at run time (prompt sets, in <state_dir>/prompt-sets/).
struct StorageSection {
    std::string state_dir = "/var/lib/hailo-clip";
};

// A named list of labels declared in the configuration (prompt_sets:), as PUT /v1/prompt-sets/{name} stores one.
struct ConfiguredPromptSet {
    std::string name;
    std::vector<std::string> prompts;
    std::vector<std::string> templates;
};

struct ServiceConfig {
    ServerSection server;
    ClipSection clip;
    PerformanceSection performance;
    LimitsSection limits;
    HailoSection hailo;
    StorageSection storage;
    std::vector<ConfiguredPromptSet> prompt_sets;
    std::string source = "built-in defaults";  // the file it came from, for the start-up log
};

// Parses and validates YAML text. `source` names the file in messages.
Result<ServiceConfig> parse_service_config(const std::string& yaml_text, const std::string& source);
Result<ServiceConfig> load_service_config(const std::string& path);

// Checks what only the loaded model can tell: embedding_dimension and image_size, where the user wrote them.
Status check_config_against_model(const ServiceConfig& config, int model_embedding_dimension, int model_image_size);

}  // namespace hclip::server
