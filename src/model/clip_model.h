// An immutable, loaded CLIP ViT model: configuration plus weight views. Loaded once and shared read-only by
// every session (worker); sessions own all mutable scratch memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/safetensors.h"
#include "model/clip_config.h"
#include "model/clip_weights.h"

namespace hclip {

class ClipModel {
  public:
    // Loads `model.safetensors` (or `open_clip_model.safetensors`) from `path` (a directory, or the file itself),
    // with `config.json` (Hugging Face), `open_clip_config.json` and `preprocessor_config.json` when present.
    static Result<std::shared_ptr<const ClipModel>> load(const std::string& path);

    const ClipConfig& config() const { return config_; }
    const VisionWeights& vision() const { return vision_; }
    const TextWeights& text() const { return text_; }
    const std::string& weights_path() const { return weights_path_; }
    const std::string& model_dir() const { return model_dir_; }
    // Bytes held outside the mapping because tensors were stored as F16/BF16 (or unaligned) and converted.
    std::size_t converted_bytes() const { return converted_bytes_; }
    // The stored dtype of the weights ("F32", "F16", "BF16", or "mixed").
    const std::string& stored_dtype() const { return stored_dtype_; }

    ClipModel(const ClipModel&) = delete;
    ClipModel& operator=(const ClipModel&) = delete;

  private:
    ClipModel() = default;
    friend class ModelLoader;

    ClipConfig config_;
    VisionWeights vision_;
    TextWeights text_;
    SafetensorsFile file_;
    std::vector<std::vector<float>> converted_;
    std::size_t converted_bytes_ = 0;
    std::string weights_path_;
    std::string model_dir_;
    std::string stored_dtype_;
};

}  // namespace hclip
