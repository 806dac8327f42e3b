// The service's behaviour, independent of HTTP: requests as native types in, results or a Status out. HTTP threads
// call it; they decode, resize and tokenize here, and only the towers run on the inference workers.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/clip_engine.h"
#include "config/service_config.h"
#include "server/inference/inference_pool.h"
#include "server/inference/text_cache.h"

namespace hclip::server {

struct ClassifyRequest {
    std::vector<std::uint8_t> image;  // encoded picture (JPEG, PNG, ...)
    std::vector<std::string> prompts;
    int top_k = 3;
    double threshold = 0.0;
};

struct Classification {
    std::string text;
    float score = 0.0f;       // softmax(logit_scale * cosine) over all prompts
    float similarity = 0.0f;  // the raw cosine
    int rank = 0;
};

struct ClassifyResult {
    std::vector<Classification> classifications;
    std::vector<std::string> warnings;
};

struct EmbedResult {
    std::vector<float> embedding;  // L2-normalized
    std::vector<std::string> warnings;
};

struct HealthReport {
    bool healthy = false;
    std::string status;  // "healthy" or "unhealthy"
    std::string reason;  // why not healthy
    bool model_loaded = false;
    std::string model;
    std::string backend;  // the encoders actually serving: cpu, hailo, hailo-emulated (+cpu-text): ClipEngine
    int embedding_dimension = 0;
    double uptime_seconds = 0.0;
    int workers = 0;
    int busy_workers = 0;
    std::size_t queued = 0;
    std::uint64_t inferences = 0;
    std::uint64_t failed_inferences = 0;
    std::uint64_t rejected = 0;
    std::size_t text_cache_entries = 0;
    std::uint64_t text_cache_hits = 0;
};

class ClipService {
  public:
    // Loads the model, checks the config against it, starts the workers and runs a warm-up inference whose
    // result must be finite and unit-norm. Any failure here means the service must not start.
    static Result<std::unique_ptr<ClipService>> create(const ServiceConfig& config);

    Result<ClassifyResult> classify(const ClassifyRequest& request, Clock::time_point deadline);
    Result<EmbedResult> embed_image(const std::vector<std::uint8_t>& image, Clock::time_point deadline);
    Result<EmbedResult> embed_text(const std::string& text, Clock::time_point deadline);

    HealthReport health() const;
    const ServiceConfig& config() const { return config_; }
    const ClipEngine& engine() const { return *engine_; }

    // Stops accepting inference, finishes queued work until `deadline`, fails the rest.
    void shutdown(Clock::time_point deadline);

  private:
    ClipService() = default;
    Status warm_up();
    Result<InferenceOutput> infer(InferenceInput input, Clock::time_point deadline);
    Status check_text(const std::string& text, const char* field) const;

    ServiceConfig config_;
    std::unique_ptr<ClipEngine> engine_;
    std::unique_ptr<InferencePool> pool_;
    std::unique_ptr<TextEmbeddingCache> cache_;
    Clock::time_point started_ = Clock::now();
};

}  // namespace hclip::server
