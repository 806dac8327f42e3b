// The CPU image tower of timm's vit_base_mci_224 (MobileCLIP-B, MobileCLIP2-B): a convolutional stem (NHWC, its
// BatchNorms folded at load) whose output grid is the patch tokens, the positional embedding added to the patches
// only, the class token prepended, timm's pre-LayerNorm transformer (the shared run_transformer), the final norm of
// the class token and the head with its bias.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "model/image_tower.h"
#include "model/transformer.h"

namespace hclip {

class ConvStemVitTower final : public ImageTower {
  public:
    ConvStemVitTower(std::shared_ptr<const ClipModel> model, int max_batch);

    int max_batch() const override { return max_batch_; }
    Status encode(std::span<const float> pixels, int batch, std::span<float> out) override;

  protected:
    const ClipModel& model() const override { return *model_; }

  private:
    void encode_chunk(const float* pixels, int batch, float* out);
    // One image's stem: CHW pixels -> [grid * grid, width] written to `tokens`.
    void stem(const float* chw, float* tokens);

    std::shared_ptr<const ClipModel> model_;
    int max_batch_;
    TransformerScratch scratch_;
    std::vector<float> x_, pooled_;
    std::vector<float> a_, b_, columns_;  // one image's stem activations and im2col scratch
    std::vector<SequenceSpan> sequences_;
};

}  // namespace hclip
