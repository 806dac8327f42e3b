#include "server/clip_service.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "backends/hailo/cpu_stand_in.h"
#include "core/timer.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "server/inference/projection_checks.h"
#include "server/log.h"

namespace hclip::server {

Result<std::unique_ptr<ClipService>> ClipService::create(const ServiceConfig& config) {
    std::unique_ptr<ClipService> s(new ClipService());
    s->config_ = config;
    EngineOptions options;
    options.model_dir = config.clip.model_dir;
    options.max_batch = config.clip.batch_size;
    options.gemm_threads = config.performance.gemm_threads;
    options.decode.max_pixels = config.limits.max_image_pixels;
    HCLIP_ASSIGN_OR_RETURN(s->engine_, ClipEngine::load(options));
    HCLIP_RETURN_IF_ERROR(check_config_against_model(config, s->engine_->embed_dim(), s->engine_->image_size()));
    HCLIP_RETURN_IF_ERROR(s->select_backend());
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
    EncoderFactory factory{
        .image = [engine]() -> Result<std::unique_ptr<ImageEncoder>> { return engine->create_image_encoder(); },
        .text = [engine]() -> Result<std::unique_ptr<TextEncoder>> { return engine->create_text_encoder(); }};
    if (s->hailo_) {
        std::shared_ptr<hailo::HailoBackend> npu = s->hailo_;
        const int batch = config.clip.batch_size;
        factory.image = [npu]() -> Result<std::unique_ptr<ImageEncoder>> { return npu->create_image_encoder(); };
        factory.text = [npu, batch]() -> Result<std::unique_ptr<TextEncoder>> {
            return npu->create_text_encoder(batch);
        };
    }
    HCLIP_RETURN_IF_ERROR(s->pool_->start(factory));
    HCLIP_RETURN_IF_ERROR(s->warm_up().with_context("warm-up inference"));
    ClipService* service = s.get();
    s->monitor_->start(*s->pool_, [service] { return service->probe(); });
    return s;
}

ClipService::~ClipService() {
    if (monitor_) monitor_->stop();  // its thread uses the pool, which goes first
}

// Which encoders serve. The choice and every fallback are logged, and /health reports the backend actually serving.
Status ClipService::select_backend() {
    const HailoSection& h = config_.hailo;
    const bool have_hailort = hailo::hailort_device_factory() != nullptr;
    const bool emulate = h.device_emulation == "cpu-stand-in";
    if (emulate && have_hailort) {
        return invalid_argument(
            "hailo.device_emulation: cpu-stand-in exists only in builds without HailoRT; this "
            "build has HailoRT, so set hailo.device_emulation: none");
    }
    std::string choice = config_.clip.backend;
    if (choice == "auto") {
        choice = have_hailort || emulate ? "hailo" : "cpu";
        log_info(choice == "hailo" ? "clip.backend auto: this build has HailoRT; using the Hailo NPU"
                                   : "clip.backend auto: this build has no HailoRT; using the CPU");
    }
    if (choice == "cpu") {
        backend_name_ = "cpu";
        return {};
    }
    hailo::NpuDeviceFactory factory = hailo::hailort_device_factory();
    if (emulate) {
        std::shared_ptr<hailo::StandInFaults> faults;
        if (const char* spec = std::getenv("HAILO_CLIP_STAND_IN_FAULT"); spec != nullptr && *spec != '\0') {
            HCLIP_ASSIGN_OR_RETURN(faults, hailo::parse_stand_in_faults(spec));
            log_warning(std::string("HAILO_CLIP_STAND_IN_FAULT: injecting ") + spec + " into the stand-in");
        }
        factory = hailo::cpu_stand_in_factory(engine_->model_ptr(), faults);
        log_warning(
            "hailo.device_emulation is cpu-stand-in: the Hailo backend runs on a CPU EMULATION of the NPU "
            "(test builds only); nothing runs on a Hailo device and /health reports hailo-emulated");
    }
    hailo::HailoBackendOptions o;
    o.image_hef = h.image_hef;
    o.text_hef = h.text_hef;
    o.token_embedding_lut = h.token_embedding_lut;
    o.text_projection = h.text_projection;
    o.text_on_npu = h.text_encoder == "hailo";
    o.device.device_index = config_.clip.device;
    o.device.group_id = h.group_id;
    o.timeout = std::chrono::milliseconds(h.timeout_ms);
    o.retry_max = std::chrono::milliseconds(static_cast<long>(h.retry_max_seconds) * 1000);
    o.log_warning = [](const std::string& m) { log_warning(m); };
    o.log_info = [](const std::string& m) { log_info(m); };
    auto started = hailo::HailoBackend::start(o, engine_->model_ptr(), factory);
    if (started.ok()) {
        hailo_ = std::move(started).value();
        backend_name_ = hailo_->name();
        log_info("Hailo backend: " + hailo_->description() + "; image encoder " + h.image_hef + "; text encoder " +
                 (o.text_on_npu ? h.text_hef : std::string("on the CPU (hailo.text_encoder: cpu)")));
        return {};
    }
    const Status& why = started.status();
    // Only an unavailable device falls back; a wrong file or size is a configuration error that must be fixed.
    if (why.code() == StatusCode::kUnavailable && h.on_unavailable == "cpu") {
        log_warning("the Hailo NPU cannot be used: " + why.to_string() +
                    "; hailo.on_unavailable is cpu, so the CPU serves (/health reports backend cpu)");
        backend_name_ = "cpu";
        return {};
    }
    return why.with_context("starting the Hailo backend");
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
    if (request.prompts.empty()) return invalid_argument("'prompts' must contain at least one prompt");
    if (request.prompts.size() > static_cast<std::size_t>(config_.limits.max_prompts)) {
        return resource_exhausted("'prompts' has " + std::to_string(request.prompts.size()) +
                                  " prompts; the limit is " + std::to_string(config_.limits.max_prompts));
    }
    for (std::size_t i = 0; i < request.prompts.size(); ++i) {
        HCLIP_RETURN_IF_ERROR(check_text(request.prompts[i], ("prompt " + std::to_string(i + 1)).c_str()));
    }
    if (request.top_k < 1) return invalid_argument("'top_k' must be at least 1");
    if (!(request.threshold >= 0.0 && request.threshold <= 1.0)) {
        return invalid_argument("'threshold' must be between 0 and 1");
    }

    Stopwatch clock;
    HCLIP_ASSIGN_OR_RETURN(PreparedImage image, engine_->prepare_image(request.image));
    const double prepare_ms = clock.elapsed_ms();
    const std::string source =
        image.source.format + " " + std::to_string(image.source.width) + "x" + std::to_string(image.source.height);

    // Prompts: from the cache, or tokenized and encoded once each (duplicates within the request share one pass).
    const auto d = static_cast<std::size_t>(engine_->embed_dim());
    std::vector<float> text_embeddings(request.prompts.size() * d);
    ClassifyResult result;
    InferenceInput input;
    input.images.push_back(std::move(image));
    std::unordered_map<std::string, std::size_t> pending;   // prompt -> index in input.texts
    std::vector<std::pair<std::size_t, std::size_t>> fill;  // (prompt index, pending index)
    for (std::size_t i = 0; i < request.prompts.size(); ++i) {
        const std::string& p = request.prompts[i];
        // Tokenizing is microseconds; doing it even for cached prompts keeps the truncation warning truthful.
        TokenizedText t = engine_->tokenize(p);
        if (t.truncated) {
            result.warnings.push_back("prompt " + std::to_string(i + 1) + " has " + std::to_string(t.full_length) +
                                      " tokens and was truncated to " + std::to_string(t.ids.size()));
        }
        if (cache_->lookup(p, std::span<float>(text_embeddings).subspan(i * d, d))) continue;
        auto [it, inserted] = pending.emplace(p, input.texts.size());
        if (inserted) input.texts.push_back(std::move(t.ids));
        fill.emplace_back(i, it->second);
    }
    const std::size_t encoded = input.texts.size();
    clock.reset();
    HCLIP_ASSIGN_OR_RETURN(InferenceOutput out, infer(std::move(input), deadline));
    if (debug_logging()) {
        char line[160];
        std::snprintf(line, sizeof line,
                      "classify: %s image, decode+resize %.1f ms, %zu prompts (%zu encoded), "
                      "queue+inference %.1f ms",
                      source.c_str(), prepare_ms, request.prompts.size(), encoded, clock.elapsed_ms());
        log_debug(line);
    }
    for (const auto& [prompt_index, text_index] : fill) {
        std::copy_n(out.text_embeddings.begin() + static_cast<std::ptrdiff_t>(text_index * d), d,
                    text_embeddings.begin() + static_cast<std::ptrdiff_t>(prompt_index * d));
    }
    for (const auto& [text, text_index] : pending) {
        cache_->insert(text, std::span<const float>(out.text_embeddings).subspan(text_index * d, d));
    }

    const auto cosines = cosine_similarities(out.image_embeddings, text_embeddings, engine_->embed_dim());
    const int top_k = std::min<int>(request.top_k, static_cast<int>(request.prompts.size()));
    for (const RankedLabel& r : rank_labels(cosines, static_cast<float>(config_.clip.logit_scale), top_k,
                                            static_cast<float>(request.threshold))) {
        result.classifications.push_back(
            {request.prompts[static_cast<std::size_t>(r.index)], r.score, r.similarity, r.rank});
    }
    return result;
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
    h.backend = backend_name_;
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
    if (hailo_) {
        // While a lost device is reopened every request gets 503; health says so at once.
        const hailo::HailoState npu = hailo_->state();
        if (!npu.ready) {
            h.healthy = false;
            h.reason = "the Hailo device is being reinitialized: " + npu.reason;
        }
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
