// The CPU image tower: normalized pixels [batch, 3, S, S] -> raw image embeddings [batch, embed_dim].
// One session per worker; not thread-safe; no allocation after construction.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "model/clip_model.h"
#include "model/transformer.h"

namespace hclip {

class VisionTower {
  public:
    VisionTower(std::shared_ptr<const ClipModel> model, int max_batch);

    int max_batch() const { return max_batch_; }
    int embed_dim() const { return model_->config().embed_dim; }
    int image_size() const { return model_->config().vision.image_size; }

    // pixels: batch * 3 * S * S floats (CHW per image, already normalized); out: batch * embed_dim floats.
    // Larger batches than max_batch are processed in chunks.
    Status encode(std::span<const float> pixels, int batch, std::span<float> out);

  private:
    void encode_chunk(const float* pixels, int batch, float* out);

    std::shared_ptr<const ClipModel> model_;
    int max_batch_;
    TransformerScratch scratch_;
    std::vector<float> x_, patches_, pooled_;
    std::vector<SequenceSpan> sequences_;
};

}  // namespace hclip
