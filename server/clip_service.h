// The service's behaviour, independent of HTTP: requests as native types in, results or a Status out. HTTP threads
// call it; they decode, resize and tokenize here, and only the towers run on the inference workers.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/clip_engine.h"
#include "config/service_config.h"
#include "server/inference/health_monitor.h"
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

// A self-test's outcome, as /health reports it once one has run (src/selftest).
struct SelfTestRecord {
    std::string time;  // ISO 8601, UTC
    bool passed = false;
    std::string verdict;  // the self-test's verdict line
};

struct HealthReport {
    bool healthy = false;       // ready: what /health and /health/ready answer, and what the watchdog pings on
    bool live = false;          // no inference worker stuck past performance.hung_worker_timeout
    std::string status;         // "healthy" or "unhealthy"
    std::string reason;         // why not healthy
    bool model_loaded = false;  // the workers hold the model's encoders and an inference through them succeeded
    std::string model;
    std::string backend;  // the encoders actually serving: cpu, hailo, hailo-emulated (+cpu-text): ClipEngine
    int embedding_dimension = 0;
    double uptime_seconds = 0.0;
    int workers = 0;
    int busy_workers = 0;
    std::size_t queued = 0;
    std::uint64_t inferences = 0;
    std::uint64_t failed_inferences = 0;  // failed batches plus expired requests
    std::uint64_t expired = 0;            // requests whose deadline passed before their answer
    std::uint64_t rejected = 0;
    double oldest_batch_seconds = 0.0;
    std::uint64_t probes = 0, failed_probes = 0;
    std::optional<SelfTestRecord> last_self_test;
    std::size_t text_cache_entries = 0;
    std::uint64_t text_cache_hits = 0;
};

class ClipService {
  public:
    // Loads the model, checks the config against it, starts the workers and runs a warm-up inference whose raw
    // projections must be finite, non-zero and different for different inputs. Any failure here means the
    // service must not start. Then starts the health monitor.
    static Result<std::unique_ptr<ClipService>> create(const ServiceConfig& config);
    ~ClipService();

    Result<ClassifyResult> classify(const ClassifyRequest& request, Clock::time_point deadline);
    Result<EmbedResult> embed_image(const std::vector<std::uint8_t>& image, Clock::time_point deadline);
    Result<EmbedResult> embed_text(const std::string& text, Clock::time_point deadline);

    HealthReport health() const;
    // The hook through which a self-test run reports to /health. The service does not run one itself (yet):
    // until something calls this, /health has no last_self_test.
    void record_self_test(SelfTestRecord record);
    const ServiceConfig& config() const { return config_; }
    const ClipEngine& engine() const { return *engine_; }

    // Stops accepting inference, finishes queued work until `deadline`, fails the rest.
    void shutdown(Clock::time_point deadline);

  private:
    ClipService() = default;
    Status warm_up();
    std::optional<Status> probe();
    Result<InferenceOutput> infer(InferenceInput input, Clock::time_point deadline);
    Status check_text(const std::string& text, const char* field) const;

    ServiceConfig config_;
    std::unique_ptr<ClipEngine> engine_;
    std::unique_ptr<HealthMonitor> monitor_;  // before pool_: the pool reports every batch to it
    std::unique_ptr<InferencePool> pool_;
    // The probe's input (a mid-grey picture, a short prompt) and the warm-up's normalized answer to it.
    InferenceInput probe_input_;
    std::vector<float> probe_image_answer_, probe_text_answer_;
    mutable std::mutex self_test_mutex_;
    std::optional<SelfTestRecord> self_test_;
    std::unique_ptr<TextEmbeddingCache> cache_;
    Clock::time_point started_ = Clock::now();
};

}  // namespace hclip::server
