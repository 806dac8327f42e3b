// The CPU ViT image tower: normalized pixels [batch, 3, S, S] -> raw image embeddings [batch, embed_dim].
// One session per worker; not thread-safe; no allocation after construction.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "model/clip_model.h"
#include "model/image_tower.h"
#include "model/transformer.h"

namespace hclip {

class VisionTower final : public ImageTower {
  public:
    VisionTower(std::shared_ptr<const ClipModel> model, int max_batch);

    int max_batch() const override { return max_batch_; }
    Status encode(std::span<const float> pixels, int batch, std::span<float> out) override;

  protected:
    const ClipModel& model() const override { return *model_; }

  private:
    void encode_chunk(const float* pixels, int batch, float* out);

    std::shared_ptr<const ClipModel> model_;
    int max_batch_;
    TransformerScratch scratch_;
    std::vector<float> x_, patches_, pooled_;
    std::vector<SequenceSpan> sequences_;
};

}  // namespace hclip
