// The engine facade: one immutable model + tokenizer + preprocessing, shared by every thread, the backends that
// serve its two towers (chosen through the BackendRegistry), and a factory for per-worker encoder sessions.
// Preparing inputs (decode, resize, tokenize) is const and thread-safe, so callers can do it on their own threads
// and leave the workers only the towers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/backend.h"
#include "engine/backend_options.h"
#include "engine/encoder.h"
#include "image/decode.h"
#include "model/clip_model.h"
#include "tokenizer/clip_tokenizer.h"

namespace hclip {

struct EngineOptions {
    std::string model_dir;
    // Which registered backend serves the towers: "auto" (the first registered backend other than the CPU whose
    // probe says it can serve, else "cpu"), "cpu" or "hailo". image_backend / text_backend, when set, choose per
    // tower (text on the CPU while images run on the NPU).
    std::string backend = "auto";
    std::string image_backend;
    std::string text_backend;
    // A chosen backend that is unavailable (its probe says no, or opening finds no usable device) hands its
    // towers to the CPU instead of failing. Only when asked; always logged and listed in fallbacks().
    bool fallback_to_cpu = false;
    HailoOptions hailo;
    EngineLog log;
    int max_batch = 8;  // images or texts per tower pass
    // Threads of the process-wide compute pool that every session's products are split across (a process-wide
    // setting: kernels/compute_pool.h); 0 = one per core.
    int gemm_threads = 0;
    bool pack_weights = true;  // weights packed once at load where the build has a packed GEMM (ModelOptions)
    DecodeOptions decode;      // includes the decompression-bomb limit
    // Decode JPEGs at the smallest DCT scale (1/2, 1/4, 1/8) that keeps the model's input size: faster for large
    // photos, not Pillow-exact (sets decode.jpeg_scaled_min_side to the model's image size at open).
    bool jpeg_scaled_decode = false;
    WeightStorage weights = WeightStorage::kF32;        // fp32, or 16-bit storage of the large matrices (ModelOptions)
    ComputePrecision compute = ComputePrecision::kF32;  // fp32, or bf16 products (ModelOptions)
    // The GEMM kernel per weight shape (ModelOptions): timed at load, or forced; the timings file ("" = none).
    GemmKernelMode gemm_kernel = GemmKernelMode::kAuto;
    std::string gemm_kernel_cache;
};

// An image ready for the image tower: resized, centre-cropped, 8-bit RGB HWC.
struct PreparedImage {
    int size = 0;
    std::vector<std::uint8_t> rgb;
    ImageInfo source;  // the picture as sent: format and size
};

class ClipEngine {
  public:
    // Loads the model and tokenizer and opens the backends of both towers from BackendRegistry::global().
    static Result<std::unique_ptr<ClipEngine>> open(const EngineOptions& options);

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

    // Per-worker sessions from the backend serving each tower. Thread-safe.
    Result<std::unique_ptr<ImageEncoder>> create_image_encoder() const;
    Result<std::unique_ptr<TextEncoder>> create_text_encoder() const;

    // The backends actually serving ("cpu", "hailo", "hailo-emulated").
    std::string image_backend() const { return image_->name(); }
    std::string text_backend() const { return text_->name(); }
    // Both in one word: "cpu", "hailo", or "hailo+cpu-text" when the text tower runs elsewhere.
    std::string backend_name() const;
    // Every fallback to the CPU that opening took, with its reason; empty when the choice was honoured.
    const std::vector<std::string>& fallbacks() const { return fallbacks_; }
    // Not ready while a serving backend cannot serve (a lost NPU being reopened), with its reason.
    BackendState backend_state() const;

  private:
    ClipEngine() = default;
    Status open_backends();

    EngineOptions options_;
    std::shared_ptr<const ClipModel> model_;
    ClipTokenizer tokenizer_;
    std::shared_ptr<Backend> image_, text_;
    std::vector<std::string> fallbacks_;
};

}  // namespace hclip
