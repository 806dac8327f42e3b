// The CPU image tower of OpenAI's ModifiedResNet (RN50, RN101, RN50x4, RN50x16, RN50x64): NHWC activations,
// convolutions with BatchNorm folded in (kernels/conv2d.h), attention pooling with the mean token as the only query.
// The convolutional trunk runs one image at a time, so its scratch is one image's activations whatever the batch;
// the attention pool runs the whole batch at once.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "model/image_tower.h"

namespace hclip {

class ResNetTower final : public ImageTower {
  public:
    ResNetTower(std::shared_ptr<const ClipModel> model, int max_batch);

    int max_batch() const override { return max_batch_; }
    Status encode(std::span<const float> pixels, int batch, std::span<float> out) override;

  protected:
    const ClipModel& model() const override { return *model_; }

  private:
    void encode_chunk(const float* pixels, int batch, float* out);
    // One image, CHW pixels -> its final grid [grid * grid, width * 32] written to `features`.
    void trunk(const float* chw, float* features);
    void bottleneck(const BottleneckWeights& b, int height, int width);
    // out = relu?(conv(in) + bias): the direct kernel when the model has one for `c` (compiled at load for this
    // input size and ReLU), else im2col + GEMM. `in` is what `from` wrote: bf16 where its direct kernel writes
    // bf16 for this reader (under clip.compute bf16; model_loader.cpp decides), else float32. `out` holds bf16
    // where c's own kernel writes it.
    void conv(const FoldedConv& c, const FoldedConv* from, const float* in, int height, int width, float* out,
              bool relu);
    // sum = relu(conv(in) + bias + sum): a block's last convolution and its residual connection.
    void conv_add_relu(const FoldedConv& c, const FoldedConv* from, const float* in, int height, int width, float* sum,
                       float* scratch);
    void attention_pool(int batch, float* out);

    std::shared_ptr<const ClipModel> model_;
    int max_batch_;
    std::vector<float> cur_, t1_, t2_, t3_, columns_;           // one image's activations and im2col scratch
    std::vector<float> tokens_, q_, folded_, scores_, pooled_;  // the attention pool, for max_batch images
};

}  // namespace hclip
