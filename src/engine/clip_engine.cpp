#include "engine/clip_engine.h"

#include <thread>

#include "engine/backend_registry.h"
#include "image/preprocess.h"
#include "kernels/compute_pool.h"

namespace hclip {

namespace {

constexpr const char* kCpu = "cpu";

void log_info(const EngineLog& log, const std::string& m) {
    if (log.info) log.info(m);
}

void log_warning(const EngineLog& log, const std::string& m) {
    if (log.warning) log.warning(m);
}

// "auto": the first registered backend other than the CPU whose probe says it can serve, else the CPU.
Result<std::string> resolve_auto(const BackendRegistry& registry, const EngineLog& log) {
    std::string why_not;
    for (const std::string& name : registry.names()) {
        if (name == kCpu) continue;
        HCLIP_ASSIGN_OR_RETURN(BackendFactory f, registry.find(name));
        const BackendProbe p = f.probe ? f.probe() : BackendProbe{true, ""};
        if (p.available) {
            log_info(log, "backend auto: using " + name);
            return name;
        }
        why_not += "; " + name + ": " + p.reason;
    }
    log_info(log, "backend auto: using the CPU" + (why_not.empty() ? std::string() : " (" + why_not.substr(2) + ")"));
    return std::string(kCpu);
}

std::string towers_text(TowerSet t) {
    return t.image && t.text ? "both towers" : t.image ? "the image tower" : "the text tower";
}

}  // namespace

Result<std::unique_ptr<ClipEngine>> ClipEngine::open(const EngineOptions& options) {
    if (options.max_batch < 1) return invalid_argument("max_batch must be at least 1");
    // The thread count first: the kernel timings at load run on the compute pool as the towers will.
    set_compute_threads(options.gemm_threads);
    HCLIP_ASSIGN_OR_RETURN(auto model,
                           ClipModel::load(options.model_dir, {.pack_weights = options.pack_weights,
                                                               .weights = options.weights,
                                                               .compute = options.compute,
                                                               .gemm_kernel = options.gemm_kernel,
                                                               .gemm_kernel_cache = options.gemm_kernel_cache}));
    for (const std::string& line : model->gemm_plan().describe())
        log_info(options.log, line);
    HCLIP_ASSIGN_OR_RETURN(auto tokenizer, ClipTokenizer::from_model_dir(model->model_dir()));
    if (tokenizer.vocab_size() != static_cast<std::size_t>(model->config().text.vocab_size)) {
        return invalid_argument("the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                                " tokens but the model's token embedding has " +
                                std::to_string(model->config().text.vocab_size) + " rows");
    }
    std::unique_ptr<ClipEngine> engine(new ClipEngine());
    engine->options_ = options;
    engine->model_ = std::move(model);
    engine->tokenizer_ = std::move(tokenizer);
    if (options.jpeg_scaled_decode) engine->options_.decode.jpeg_scaled_min_side = engine->image_size();
    HCLIP_RETURN_IF_ERROR(engine->open_backends());
    return engine;
}

Status ClipEngine::open_backends() {
    const BackendRegistry& registry = BackendRegistry::global();
    const EngineLog& log = options_.log;
    std::string image_choice = options_.image_backend.empty() ? options_.backend : options_.image_backend;
    std::string text_choice = options_.text_backend.empty() ? options_.backend : options_.text_backend;
    if (image_choice == "auto" || text_choice == "auto") {
        HCLIP_ASSIGN_OR_RETURN(const std::string automatic, resolve_auto(registry, log));
        if (image_choice == "auto") image_choice = automatic;
        if (text_choice == "auto") text_choice = automatic;
    }

    // Opens `name` for `towers`; an unavailable backend goes to the CPU only when fallback_to_cpu says so.
    auto open_one = [&](const std::string& name, TowerSet towers) -> Result<std::shared_ptr<Backend>> {
        HCLIP_ASSIGN_OR_RETURN(BackendFactory factory, registry.find(name));
        const BackendContext context{model_, towers, options_.max_batch, &options_.hailo, &log};
        Status why;
        if (const BackendProbe p = factory.probe ? factory.probe() : BackendProbe{true, ""}; !p.available && !p.guess) {
            why = unavailable("the " + name + " backend is not available: " + p.reason);
        } else {
            auto opened = factory.open(context);
            if (opened.ok()) {
                log_info(log, towers_text(towers) + ": " + (*opened)->name() + " (" + (*opened)->description() + ")");
                return opened;
            }
            why = opened.status().with_context("opening the " + name + " backend");
        }
        // Only an unavailable device falls back; a wrong file or size is a configuration error to fix.
        if (name == kCpu || why.code() != StatusCode::kUnavailable || !options_.fallback_to_cpu) return why;
        const std::string fallback =
            why.message() + "; the CPU serves " + towers_text(towers) + " instead (fallback to the CPU was asked for)";
        log_warning(log, fallback);
        fallbacks_.push_back(fallback);
        HCLIP_ASSIGN_OR_RETURN(BackendFactory cpu, registry.find(kCpu));
        return cpu.open(context);
    };

    if (image_choice == text_choice) {
        HCLIP_ASSIGN_OR_RETURN(image_, open_one(image_choice, {.image = true, .text = true}));
        text_ = image_;
    } else {
        HCLIP_ASSIGN_OR_RETURN(image_, open_one(image_choice, {.image = true, .text = false}));
        HCLIP_ASSIGN_OR_RETURN(text_, open_one(text_choice, {.image = false, .text = true}));
    }
    return {};
}

std::string ClipEngine::backend_name() const {
    const std::string image = image_backend(), text = text_backend();
    return image == text ? image : image + "+" + text + "-text";
}

BackendState ClipEngine::backend_state() const {
    for (const Backend* b : {image_.get(), text_.get()}) {
        if (BackendState s = b->state(); !s.ready) return s;
    }
    return {};
}

Result<PreparedImage> ClipEngine::prepare_image(std::span<const std::uint8_t> encoded) const {
    PreparedImage out;
    HCLIP_ASSIGN_OR_RETURN(out.source, probe_image(encoded));
    HCLIP_ASSIGN_OR_RETURN(Image image, decode_image(encoded, options_.decode));
    out.size = image_size();
    out.rgb.resize(static_cast<std::size_t>(out.size) * static_cast<std::size_t>(out.size) * 3u);
    HCLIP_RETURN_IF_ERROR(resize_crop_to_rgb8(image, model_->config().preprocess_spec(), out.rgb));
    return out;
}

Result<std::unique_ptr<ImageEncoder>> ClipEngine::create_image_encoder() const {
    return image_->create_image_encoder();
}

Result<std::unique_ptr<TextEncoder>> ClipEngine::create_text_encoder() const {
    return text_->create_text_encoder();
}

}  // namespace hclip
