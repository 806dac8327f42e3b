#include "server/clip_service.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "backends/hailo/cpu_stand_in.h"
#include "core/timer.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
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
    HCLIP_RETURN_IF_ERROR(s->open_prompt_sets());
    s->cache_ = std::make_unique<TextEmbeddingCache>(static_cast<std::size_t>(config.clip.text_cache_size),
                                                     s->engine_->embed_dim());
    s->pool_ = std::make_unique<InferencePool>(s->engine_->embed_dim(), config.performance.worker_threads,
                                               config.performance.max_queue_size, config.clip.batch_size);
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
    s->pool_->set_tower_observer([metrics = s->metrics_.get()](const char* tower, double seconds) {
        metrics->observe_inference(tower, seconds);
    });
    HCLIP_RETURN_IF_ERROR(s->pool_->start(factory));
    HCLIP_RETURN_IF_ERROR(s->warm_up().with_context("warm-up inference"));
    return s;
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

Status ClipService::warm_up() {
    // A real pass through both towers: a mid-grey picture and a short prompt.
    PreparedImage grey;
    grey.size = engine_->image_size();
    grey.rgb.assign(static_cast<std::size_t>(grey.size) * static_cast<std::size_t>(grey.size) * 3u, 128);
    InferenceInput input;
    input.images.push_back(std::move(grey));
    input.texts.push_back(engine_->tokenize("a photo").ids);
    HCLIP_ASSIGN_OR_RETURN(
        InferenceOutput out,
        infer(std::move(input),
              Clock::now() + std::chrono::seconds(static_cast<long>(config_.performance.request_timeout) + 60)));
    for (const auto* v : {&out.image_embeddings, &out.text_embeddings}) {
        double sq = 0.0;
        for (float x : *v) {
            if (!std::isfinite(x)) return internal_error("the model produced a non-finite embedding");
            sq += static_cast<double>(x) * static_cast<double>(x);
        }
        if (std::fabs(sq - 1.0) > 1e-3) return internal_error("the model produced an embedding that is not unit-norm");
    }
    return {};
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
    h.model_loaded = engine_ != nullptr;
    h.model = config_.clip.model;
    h.backend = backend_name_;
    h.embedding_dimension = engine_->embed_dim();
    h.uptime_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    h.workers = pool_->workers();
    h.busy_workers = p.busy_workers;
    h.queued = p.waiting;
    h.inferences = p.completed;
    h.failed_inferences = p.failed;
    h.rejected = p.rejected;
    h.text_cache_entries = cache_->size();
    h.text_cache_hits = cache_->hits();
    // Healthy only while the model is loaded and the most recent real inference (the warm-up at first) worked.
    h.healthy = h.model_loaded && p.last_inference_ok;
    h.status = h.healthy ? "healthy" : "unhealthy";
    if (!h.healthy)
        h.reason = p.last_error.empty() ? "no successful inference yet" : "last inference failed: " + p.last_error;
    if (hailo_) {
        // While a lost device is reopened every request gets 503; health says so at once.
        const hailo::HailoState npu = hailo_->state();
        if (!npu.ready) {
            h.healthy = false;
            h.status = "unhealthy";
            h.reason = "the Hailo device is being reinitialized: " + npu.reason;
        }
    }
    return h;
}

void ClipService::shutdown(Clock::time_point deadline) {
    pool_->shutdown(deadline);
}

}  // namespace hclip::server
