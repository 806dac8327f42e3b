// The service's behaviour, independent of HTTP: requests as native types in, results or a Status out. HTTP threads
// call it; they decode, resize and tokenize here, and only the towers run on the inference workers.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/service_config.h"
#include "core/status.h"
#include "engine/clip_engine.h"
#include "selftest/selftest.h"
#include "server/inference/health_monitor.h"
#include "server/inference/inference_pool.h"
#include "server/inference/text_cache.h"
#include "server/metrics/metrics.h"
#include "server/prompt_sets/prompt_set_store.h"

namespace hclip::server {

struct ClassifyRequest {
    std::vector<std::uint8_t> image;  // encoded picture (JPEG, PNG, ...)
    std::vector<std::string> prompts;
    int top_k = 3;
    double threshold = 0.0;
    std::string prompt_set;  // instead of prompts: a stored set's labels
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
    bool verified = false;  // passed against published outputs, not only the sanity check
    std::string verdict;    // the self-test's verdict line
};

// One item of a mixed batch (POST /v1/embeddings): a text or an encoded picture.
struct EmbedInput {
    bool is_image = false;
    std::string text;
    std::vector<std::uint8_t> image;
};

struct BatchEmbedResult {
    std::vector<float> embeddings;  // inputs.size() x dimension, L2-normalized, in input order
    int dimension = 0;
    std::size_t prompt_tokens = 0;  // token ids given to the text tower (start and end tokens included)
    std::vector<std::string> warnings;
};

// Several pictures scored against the same labels: `prompts`, or the stored set `prompt_set` when that is set.
struct ClassifyBatchRequest {
    std::vector<std::vector<std::uint8_t>> images;
    std::vector<std::string> prompts;
    std::string prompt_set;
    int top_k = 3;
    double threshold = 0.0;
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
    // Batches: every picture and uncached text of the request goes through the towers in one pass each. Errors
    // name the offending item as `<item_name>[index]`.
    Result<BatchEmbedResult> embed_batch(const std::vector<EmbedInput>& inputs, const std::string& item_name,
                                         Clock::time_point deadline);
    Result<std::vector<ClassifyResult>> classify_batch(const ClassifyBatchRequest& request, Clock::time_point deadline);

    HealthReport health() const;
    // Runs the self-test (src/selftest) through the inference workers, i.e. the encoders that answer requests,
    // and records its verdict for /health. An error means it could not run (no checks: `expectations` is that
    // error; an encoder failing); that is recorded as a failure too. clip_service_self_test.cpp.
    Result<selftest::SelfTestReport> run_self_test(const Result<selftest::Expectations>& expectations,
                                                   Clock::time_point deadline);
    // What /health reports as last_self_test.
    void record_self_test(SelfTestRecord record);
    const ServiceConfig& config() const { return config_; }
    PromptSetStore& prompt_sets() { return *prompt_sets_; }
    Metrics& metrics() { return *metrics_; }
    // The numbers of /metrics that the pool, the cache and the backend keep.
    MetricsGauges metrics_gauges() const;
    const ClipEngine& engine() const { return *engine_; }

    // Stops accepting inference, finishes queued work until `deadline`, fails the rest.
    void shutdown(Clock::time_point deadline);

  private:
    ClipService() = default;
    Status warm_up();
    std::optional<Status> probe();
    Result<InferenceOutput> infer(InferenceInput input, Clock::time_point deadline);
    Status check_text(const std::string& text, const char* field) const;
    Status open_prompt_sets();
    Status check_classify_labels(const ClassifyBatchRequest& request) const;
    // Scores prepared pictures against labels (the request's prompts or its prompt set) in one inference.
    Result<std::vector<ClassifyResult>> classify_prepared(std::vector<PreparedImage> images,
                                                          const ClassifyBatchRequest& request, double prepare_ms,
                                                          Clock::time_point deadline);
    Result<std::shared_ptr<const std::vector<float>>> prompt_set_embeddings(const PromptSetStore::Entry& entry,
                                                                            Clock::time_point deadline);

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
    std::unique_ptr<PromptSetStore> prompt_sets_;
    std::unique_ptr<Metrics> metrics_ = std::make_unique<Metrics>();
    Clock::time_point started_ = Clock::now();
};

}  // namespace hclip::server
