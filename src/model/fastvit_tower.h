// The CPU image tower of timm's FastViT as MobileCLIP uses it (fastvit_mci0/1/2): NHWC activations, every multi-branch
// block already folded into one convolution at load (model/fastvit_weights.h), 1x1 convolutions as GEMMs, the
// grouped ones as direct loops (kernels/depthwise_conv.h). The convolutional trunk runs one image at a time, so its
// scratch is one image's largest activation whatever the batch; the head runs the whole batch in one GEMM.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "model/image_tower.h"

namespace hclip {

class FastVitTower final : public ImageTower {
  public:
    FastVitTower(std::shared_ptr<const ClipModel> model, int max_batch);

    int max_batch() const override { return max_batch_; }
    Status encode(std::span<const float> pixels, int batch, std::span<float> out) override;

  protected:
    const ClipModel& model() const override { return *model_; }

  private:
    // One image, CHW pixels -> its pooled features [final_width] written to `pooled`.
    void trunk(const float* chw, float* pooled);
    void conv(const FoldedConv& c, const float* in, int size, float* out);
    void depthwise(const DepthwiseConv& c, const float* in, int size, float* out);
    void squeeze_excite(const SqueezeExciteWeights& se, float* x, int pixels);
    void conv_mlp(const ConvMlpWeights& m, int size, int width);
    void attention_block(const AttentionBlockWeights& b, int size, int width);

    std::shared_ptr<const ClipModel> model_;
    int max_batch_;
    std::vector<float> cur_, t1_, t2_, columns_, se_scratch_;  // one image's activations and scratch
    std::vector<float> qkv_, attention_scratch_, attended_;    // the attention stages, one image
    std::vector<float> pooled_;                                // [max_batch, final_width]
};

}  // namespace hclip
