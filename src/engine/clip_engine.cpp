#include "engine/clip_engine.h"

#include "backends/cpu/cpu_encoders.h"
#include "image/preprocess.h"
#include "kernels/compute_pool.h"

namespace hclip {

Result<std::unique_ptr<ClipEngine>> ClipEngine::load(const EngineOptions& options) {
    if (options.max_batch < 1) return invalid_argument("max_batch must be at least 1");
    HCLIP_ASSIGN_OR_RETURN(auto model, ClipModel::load(options.model_dir, {.pack_weights = options.pack_weights}));
    HCLIP_ASSIGN_OR_RETURN(auto tokenizer, ClipTokenizer::from_model_dir(model->model_dir()));
    if (tokenizer.vocab_size() != static_cast<std::size_t>(model->config().text.vocab_size)) {
        return invalid_argument("the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                                " tokens but the model's token embedding has " +
                                std::to_string(model->config().text.vocab_size) + " rows");
    }
    set_compute_threads(options.gemm_threads);
    std::unique_ptr<ClipEngine> engine(new ClipEngine());
    engine->options_ = options;
    engine->model_ = std::move(model);
    engine->tokenizer_ = std::move(tokenizer);
    return engine;
}

Result<PreparedImage> ClipEngine::prepare_image(std::span<const std::uint8_t> encoded) const {
    PreparedImage out;
    HCLIP_ASSIGN_OR_RETURN(out.source, probe_image(encoded));
    HCLIP_ASSIGN_OR_RETURN(Image image, decode_image(encoded, options_.decode));
    out.size = image_size();
    out.rgb.resize(static_cast<std::size_t>(out.size) * static_cast<std::size_t>(out.size) * 3u);
    HCLIP_RETURN_IF_ERROR(resize_crop_to_rgb8(image, out.size, out.rgb));
    return out;
}

std::unique_ptr<ImageEncoder> ClipEngine::create_image_encoder() const {
    return make_cpu_image_encoder(model_, options_.max_batch);
}

std::unique_ptr<TextEncoder> ClipEngine::create_text_encoder() const {
    return make_cpu_text_encoder(model_, options_.max_batch);
}

}  // namespace hclip
