#include "server/clip_service.h"

#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "core/timer.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "config/engine_options.h"
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
    s->cache_ = std::make_unique<TextEmbeddingCache>(static_cast<std::size_t>(config.clip.text_cache_size),
                                                     s->engine_->embed_dim());
    s->pool_ = std::make_unique<InferencePool>(s->engine_->embed_dim(), config.performance.worker_threads,
                                               config.performance.max_queue_size, config.clip.batch_size);
    const ClipEngine* engine = s->engine_.get();
    EncoderFactory factory{.image = [engine] { return engine->create_image_encoder(); },
                           .text = [engine] { return engine->create_text_encoder(); }};
    HCLIP_RETURN_IF_ERROR(s->pool_->start(factory));
    HCLIP_RETURN_IF_ERROR(s->warm_up().with_context("warm-up inference"));
    return s;
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
    h.model_loaded = engine_ != nullptr;
    h.model = config_.clip.model;
    h.backend = engine_->backend_name();
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
    // While a lost device is reopened every request gets 503; health says so at once.
    if (const BackendState backend = engine_->backend_state(); !backend.ready) {
        h.healthy = false;
        h.status = "unhealthy";
        h.reason = backend.reason;
    }
    return h;
}

void ClipService::shutdown(Clock::time_point deadline) {
    pool_->shutdown(deadline);
}

}  // namespace hclip::server
