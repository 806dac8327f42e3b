#include "server/clip_service.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "config/engine_options.h"
#include "core/timer.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "server/inference/projection_checks.h"
#include "server/log.h"

namespace hclip::server {

Result<std::unique_ptr<ClipService>> ClipService::create(const ServiceConfig& config) {
    std::unique_ptr<ClipService> s(new ClipService());
    s->config_ = config;
    // The same path as every CLI command: the configuration's engine options, then ClipEngine::open, which picks
    // the backends from the registry; every choice and fallback is logged there.
    EngineOptions options = engine_options_from_config(config);
    options.log = {.info = [](const std::string& m) { log_info(m); },
                   .warning = [](const std::string& m) { log_warning(m); }};
    HCLIP_ASSIGN_OR_RETURN(s->engine_, ClipEngine::open(options));
    HCLIP_RETURN_IF_ERROR(check_config_against_model(config, s->engine_->embed_dim(), s->engine_->image_size()));
    HCLIP_RETURN_IF_ERROR(s->open_prompt_sets());
    s->cache_ = std::make_unique<TextEmbeddingCache>(static_cast<std::size_t>(config.clip.text_cache_size),
                                                     s->engine_->embed_dim());
    HealthOptions health;
    health.hung_bound = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(config.performance.hung_worker_bound()));
    health.probe_interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(config.performance.health_probe_interval));
    s->monitor_ = std::make_unique<HealthMonitor>(health);
    HealthMonitor* monitor = s->monitor_.get();
    s->pool_ = std::make_unique<InferencePool>(
        s->engine_->embed_dim(), config.performance.worker_threads, config.performance.max_queue_size,
        config.clip.batch_size, [monitor](bool ok, const std::string& error) { monitor->record(ok, error); });
    const ClipEngine* engine = s->engine_.get();
    EncoderFactory factory{.image = [engine] { return engine->create_image_encoder(); },
                           .text = [engine] { return engine->create_text_encoder(); }};
    s->pool_->set_tower_observer([metrics = s->metrics_.get()](const char* tower, double seconds) {
        metrics->observe_inference(tower, seconds);
    });
    HCLIP_RETURN_IF_ERROR(s->pool_->start(factory));
    HCLIP_RETURN_IF_ERROR(s->warm_up().with_context("warm-up inference"));
    ClipService* service = s.get();
    s->monitor_->start(*s->pool_, [service] { return service->probe(); });
    return s;
}

ClipService::~ClipService() {
    if (monitor_) monitor_->stop();  // its thread uses the pool, which goes first
}

namespace {

// The largest difference between two answers to the same input (batching changes only the last bits).
constexpr float kProbeTolerance = 1e-3f;

float max_abs_difference(std::span<const float> a, std::span<const float> b) {
    float m = 0.0f;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
        m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

}  // namespace

Status ClipService::warm_up() {
    // A real pass through both towers with two different pictures (mid-grey, and black with a white square) and
    // two different prompts, checked before normalization.
    const int size = engine_->image_size();
    const auto side = static_cast<std::size_t>(size);
    PreparedImage grey, pattern;
    grey.size = pattern.size = size;
    grey.rgb.assign(side * side * 3u, 128);
    pattern.rgb.assign(side * side * 3u, 0);
    for (std::size_t y = side / 4; y < 3 * side / 4; ++y)
        std::fill_n(pattern.rgb.begin() + static_cast<std::ptrdiff_t>((y * side + side / 4) * 3), side / 2 * 3, 255);
    probe_input_.images.push_back(grey);
    probe_input_.texts.push_back(engine_->tokenize("a photo").ids);
    InferenceInput input;
    input.images = {std::move(grey), std::move(pattern)};
    input.texts = {probe_input_.texts[0], engine_->tokenize("a diagram of an electric circuit").ids};
    input.raw_projections = true;
    HCLIP_ASSIGN_OR_RETURN(
        InferenceOutput out,
        infer(std::move(input),
              Clock::now() + std::chrono::seconds(static_cast<long>(config_.performance.request_timeout) + 60)));
    const auto d = static_cast<std::size_t>(engine_->embed_dim());
    HCLIP_RETURN_IF_ERROR(check_raw_projections(out.image_embeddings, d, "image projection"));
    HCLIP_RETURN_IF_ERROR(check_raw_projections(out.text_embeddings, d, "text projection"));
    probe_image_answer_.assign(out.image_embeddings.begin(),
                               out.image_embeddings.begin() + static_cast<std::ptrdiff_t>(d));
    probe_text_answer_.assign(out.text_embeddings.begin(),
                              out.text_embeddings.begin() + static_cast<std::ptrdiff_t>(d));
    l2_normalize_rows(probe_image_answer_, d);
    l2_normalize_rows(probe_text_answer_, d);
    return {};
}

std::optional<Status> ClipService::probe() {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(config_.performance.request_timeout));
    auto submitted = pool_->submit(probe_input_, deadline);
    if (!submitted.ok()) return std::nullopt;  // busy or stopping: no room for a probe now, and no evidence
    if (submitted->wait_until(deadline) != std::future_status::ready) {
        return deadline_exceeded("the probe inference took longer than request_timeout");
    }
    Result<InferenceOutput> out = submitted->get();
    if (!out.ok()) return out.status();
    if (out->image_embeddings.size() != probe_image_answer_.size() ||
        out->text_embeddings.size() != probe_text_answer_.size()) {
        return internal_error("the probe's answer has the wrong size");
    }
    const float di = max_abs_difference(out->image_embeddings, probe_image_answer_);
    const float dt = max_abs_difference(out->text_embeddings, probe_text_answer_);
    if (!(di <= kProbeTolerance && dt <= kProbeTolerance)) {
        return internal_error("the probe's embeddings differ from the warm-up's answer to the same input (max |diff| " +
                              std::to_string(std::max(di, dt)) + ")");
    }
    return Status();
}

Result<InferenceOutput> ClipService::infer(InferenceInput input, Clock::time_point deadline) {
    if (Clock::now() > deadline) return deadline_exceeded("the request exceeded request_timeout before inference");
    HCLIP_ASSIGN_OR_RETURN(auto future, pool_->submit(std::move(input), deadline));
    if (future.wait_until(deadline) != std::future_status::ready) {
        // The worker will see the deadline and drop the job; its promise is answered there.
        return deadline_exceeded("the request exceeded request_timeout (" +
                                 std::to_string(config_.performance.request_timeout) + " s)");
    }
    return future.get();
}

Status ClipService::check_text(const std::string& text, const char* field) const {
    if (text.empty()) return invalid_argument(std::string(field) + " must not be empty");
    if (text.size() > config_.limits.max_prompt_bytes) {
        return resource_exhausted(std::string(field) + " is " + std::to_string(text.size()) + " bytes; the limit is " +
                                  std::to_string(config_.limits.max_prompt_bytes));
    }
    return {};
}

Result<ClassifyResult> ClipService::classify(const ClassifyRequest& request, Clock::time_point deadline) {
    // The seed's checks come first and its picture errors carry no item index.
    ClassifyBatchRequest labels{{}, request.prompts, request.prompt_set, request.top_k, request.threshold};
    HCLIP_RETURN_IF_ERROR(check_classify_labels(labels));
    Stopwatch clock;
    std::vector<PreparedImage> images;
    HCLIP_ASSIGN_OR_RETURN(images.emplace_back(), engine_->prepare_image(request.image));
    HCLIP_ASSIGN_OR_RETURN(std::vector<ClassifyResult> results,
                           classify_prepared(std::move(images), labels, clock.elapsed_ms(), deadline));
    return std::move(results.front());
}

Result<EmbedResult> ClipService::embed_image(const std::vector<std::uint8_t>& image, Clock::time_point deadline) {
    HCLIP_ASSIGN_OR_RETURN(PreparedImage prepared, engine_->prepare_image(image));
    InferenceInput input;
    input.images.push_back(std::move(prepared));
    HCLIP_ASSIGN_OR_RETURN(InferenceOutput out, infer(std::move(input), deadline));
    return EmbedResult{std::move(out.image_embeddings), {}};
}

Result<EmbedResult> ClipService::embed_text(const std::string& text, Clock::time_point deadline) {
    HCLIP_RETURN_IF_ERROR(check_text(text, "'text'"));
    EmbedResult result;
    TokenizedText t = engine_->tokenize(text);
    if (t.truncated) {
        result.warnings.push_back("the text has " + std::to_string(t.full_length) + " tokens and was truncated to " +
                                  std::to_string(t.ids.size()));
    }
    result.embedding.resize(static_cast<std::size_t>(engine_->embed_dim()));
    if (cache_->lookup(text, result.embedding)) return result;
    InferenceInput input;
    input.texts.push_back(std::move(t.ids));
    HCLIP_ASSIGN_OR_RETURN(InferenceOutput out, infer(std::move(input), deadline));
    cache_->insert(text, out.text_embeddings);
    result.embedding = std::move(out.text_embeddings);
    return result;
}

HealthReport ClipService::health() const {
    HealthReport h;
    const PoolHealth p = pool_->health();
    const HealthVerdict v = monitor_->verdict();
    h.model = config_.clip.model;
    h.backend = engine_->backend_name();
    h.embedding_dimension = engine_->embed_dim();
    h.uptime_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    h.workers = pool_->workers();
    h.busy_workers = p.busy_workers;
    h.queued = p.waiting;
    h.inferences = p.completed;
    h.failed_inferences = p.failed + p.expired;
    h.expired = p.expired;
    h.rejected = p.rejected;
    h.oldest_batch_seconds = p.oldest_batch_seconds;
    h.probes = v.probes;
    h.failed_probes = v.failed_probes;
    h.text_cache_entries = cache_->size();
    h.text_cache_hits = cache_->hits();
    h.model_loaded = pool_->running() && (p.completed > 0);
    h.live = v.live;
    h.healthy = v.ready && h.model_loaded;
    h.reason = v.reason;
    if (h.reason.empty() && !h.model_loaded) h.reason = "the inference workers are stopped";
    // While a lost device is reopened every request gets 503; health says so at once.
    if (const BackendState backend = engine_->backend_state(); !backend.ready) {
        h.healthy = false;
        h.reason = backend.reason;
    }
    h.status = h.healthy ? "healthy" : "unhealthy";
    {
        std::lock_guard lock(self_test_mutex_);
        h.last_self_test = self_test_;
    }
    return h;
}

void ClipService::record_self_test(SelfTestRecord record) {
    std::lock_guard lock(self_test_mutex_);
    self_test_ = std::move(record);
}

void ClipService::shutdown(Clock::time_point deadline) {
    monitor_->stop();  // no probe while the queue drains
    pool_->shutdown(deadline);
}

}  // namespace hclip::server
