// The engine facade: one immutable model + tokenizer + preprocessing, shared by every thread, and a factory for
// per-worker encoder sessions. Preparing inputs (decode, resize, tokenize) is const and thread-safe, so callers
// can do it on their own threads and leave the workers only the towers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/encoder.h"
#include "image/decode.h"
#include "model/clip_model.h"
#include "tokenizer/clip_tokenizer.h"

namespace hclip {

struct EngineOptions {
    std::string model_dir;
    int max_batch = 8;  // images or texts per tower pass
    // Threads of the process-wide compute pool that every session's products are split across (a process-wide
    // setting: kernels/compute_pool.h); 0 = one per core.
    int gemm_threads = 0;
    bool pack_weights = true;  // weights packed once at load where the build has a packed GEMM (ModelOptions)
    DecodeOptions decode;      // includes the decompression-bomb limit
};

// An image ready for the image tower: resized, centre-cropped, 8-bit RGB HWC.
struct PreparedImage {
    int size = 0;
    std::vector<std::uint8_t> rgb;
    ImageInfo source;  // the picture as sent: format and size
};

class ClipEngine {
  public:
    static Result<std::unique_ptr<ClipEngine>> load(const EngineOptions& options);

    const ClipModel& model() const { return *model_; }
    const std::shared_ptr<const ClipModel>& model_ptr() const { return model_; }
    const ClipTokenizer& tokenizer() const { return tokenizer_; }
    const EngineOptions& options() const { return options_; }
    int embed_dim() const { return model_->config().embed_dim; }
    int image_size() const { return model_->config().vision.image_size; }

    // Decode + resize + crop. Thread-safe.
    Result<PreparedImage> prepare_image(std::span<const std::uint8_t> encoded) const;
    // Thread-safe.
    TokenizedText tokenize(std::string_view text) const {
        return tokenizer_.encode(text, model_->config().text.context_length);
    }

    // Per-worker sessions (CPU backend).
    std::unique_ptr<ImageEncoder> create_image_encoder() const;
    std::unique_ptr<TextEncoder> create_text_encoder() const;

  private:
    ClipEngine() = default;

    EngineOptions options_;
    std::shared_ptr<const ClipModel> model_;
    ClipTokenizer tokenizer_;
};

}  // namespace hclip
