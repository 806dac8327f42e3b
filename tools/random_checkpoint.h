// Random-weight CLIP checkpoints in the OpenAI layout, for benchmarking at full size (make_random_model) and for
// geometry tests. Weights are seeded and scaled like a trained model's (small projections, LayerNorm and BatchNorm
// gains near 1, positive running variances) so activations stay in a realistic range; the outputs mean nothing.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace hclip::random_checkpoint {

class Writer {
  public:
    explicit Writer(unsigned seed) : rng_(seed) {}

    void normal(const std::string& name, std::vector<std::int64_t> shape, float stddev, float mean = 0.0f);
    void uniform(const std::string& name, std::vector<std::int64_t> shape, float low, float high);
    // Leaves a tensor out of what write() writes (tests of malformed checkpoints).
    void drop(const std::string& name);
    Status write(const std::string& path) const;

  private:
    std::vector<float>& add(const std::string& name, std::vector<std::int64_t> shape);

    std::mt19937 rng_;
    std::vector<std::vector<float>> storage_;
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes_;
};

struct TextGeometry {
    int width = 512, layers = 12;
};

struct VitGeometry {
    int image_size = 224, patch = 32, width = 768, layers = 12;
};

// OpenAI's ModifiedResNet: stem width, bottlenecks per stage, input resolution (32 x the attention-pool grid).
struct ResNetGeometry {
    int width = 64;
    std::array<int, 4> layers{3, 4, 6, 3};
    int image_size = 224;
};

// timm's FastViT as MobileCLIP uses it (fastvit_mci0/1/2), OpenCLIP names "visual.trunk.*", in the multi-branch
// training form the published checkpoints have: blocks per stage and stage widths; mlp ratio 3, squeeze-excite in the
// last two downsamplers, attention and a positional convolution in the last stage, final width 2 x the last.
struct FastVitGeometry {
    std::array<int, 4> layers{2, 6, 10, 2};
    std::array<int, 4> widths{64, 128, 256, 512};
};

// A transformer stack "<prefix>N." in OpenAI names.
void add_transformer_blocks(Writer& w, const std::string& prefix, int layers, int width);
void add_vit_vision(Writer& w, const VitGeometry& g, int embed_dim);
void add_resnet_vision(Writer& w, const ResNetGeometry& g, int embed_dim);
void add_fastvit_vision(Writer& w, const FastVitGeometry& g, int embed_dim);
// timm's vit_base_mci_224 (MobileCLIP-B): conv stem 3 -> 192 (4x4/4) -> 192 (2x2/2) -> 768 (2x2/2), 12 ViT-B blocks at
// 224 px, timm names under "visual.trunk.".
void add_vit_conv_stem_vision(Writer& w, int embed_dim, int layers = 12);
// The text tower, text_projection and logit_scale; `prefix` "text." for OpenCLIP's CustomTextCLIP (MobileCLIP).
void add_text(Writer& w, const TextGeometry& g, int embed_dim, const std::string& prefix = "");

}  // namespace hclip::random_checkpoint
