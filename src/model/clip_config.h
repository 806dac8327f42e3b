// Architecture of a CLIP model (ViT or ResNet image tower, transformer text tower), inferred from tensor shapes plus
// the checkpoint's config file.
#pragma once

#include <array>
#include <string>

#include "image/preprocess.h"

namespace hclip {

enum class Activation { kQuickGelu, kGelu };
// The family of the image tower. The text tower is the same transformer for every family.
enum class VisionKind { kVit, kResNet };
enum class CheckpointLayout { kOpenAI, kHuggingFace };

std::string_view activation_name(Activation act);
std::string_view layout_name(CheckpointLayout layout);
std::string_view vision_kind_name(VisionKind kind);

struct TransformerConfig {
    int width = 0;
    int layers = 0;
    int heads = 0;
    int mlp_width = 0;
    Activation activation = Activation::kQuickGelu;
    float layer_norm_eps = 1e-5f;

    int head_dim() const { return heads > 0 ? width / heads : 0; }
};

// OpenAI's ModifiedResNet. `width` is the stem's output width; stage i has width * 2^i bottleneck channels and
// 4 * width * 2^i outputs. The attention pool runs at width * 32 channels with `heads` heads (TransformerConfig).
struct ResNetConfig {
    std::array<int, 4> stage_layers{};
    static constexpr int kDownsampling = 32;  // stem 4 x stages 2 x 2 x 2: input size = 32 x attention-pool grid
};

// ViT: TransformerConfig is the transformer's; ResNet: width is the stem width, heads the attention pool's heads,
// layers the total number of bottlenecks.
struct VisionConfig : TransformerConfig {
    VisionKind kind = VisionKind::kVit;
    int image_size = 0;
    int patch_size = 0;   // ViT only
    ResNetConfig resnet;  // ResNet only

    int grid() const { return patch_size > 0 ? image_size / patch_size : 0; }
    int num_patches() const { return grid() * grid(); }
    int num_tokens() const { return num_patches() + 1; }  // patches + class token

    int attnpool_grid() const { return image_size / ResNetConfig::kDownsampling; }
    int attnpool_width() const { return width * 32; }  // 4 x the last stage's width 8 x width
};

struct TextConfig : TransformerConfig {
    int context_length = 0;
    int vocab_size = 0;
    int eot_token = 49407;
};

struct ClipConfig {
    VisionConfig vision;
    TextConfig text;
    int embed_dim = 0;
    float checkpoint_logit_scale = 100.0f;  // exp() of the checkpoint's learned logit_scale
    PreprocessConfig preprocess;  // from preprocess_cfg / preprocessor_config.json; OpenAI's when neither says
    CheckpointLayout layout = CheckpointLayout::kOpenAI;

    // The preprocessing every backend's input goes through: the configuration's, at the image tower's size.
    PreprocessSpec preprocess_spec() const { return PreprocessSpec{preprocess, vision.image_size}; }

    // "ViT width 768, 12 layers, 12 heads, patch 32, 224 px | text width 512, 12 layers, 8 heads | embed 512"
    std::string summary() const;
};

}  // namespace hclip
