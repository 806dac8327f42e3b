// Architecture of a CLIP model (ViT, ResNet, FastViT or conv-stem ViT image tower, transformer text tower), inferred
// from tensor shapes plus the checkpoint's config file.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "image/preprocess.h"

namespace hclip {

enum class Activation { kQuickGelu, kGelu };
// The family of the image tower. The text tower is the same transformer for every family.
// kVitConvStem: timm's vit_base_mci_224 (MobileCLIP-B, MobileCLIP2-B), a ViT whose patch embedding is a small
// convolutional stem.
enum class VisionKind { kVit, kResNet, kFastVit, kVitConvStem };
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

// timm's FastViT as MobileCLIP uses it (fastvit_mci0/1/2): a MobileOne stem (stride 4), stages of RepMixer or
// attention blocks, each stage after the first opening with a stride-2 patch embedding, a final grouped 3x3 MobileOne
// convolution with squeeze-excite, global average pooling and the head's linear layer to the embedding.
struct FastVitStageConfig {
    int layers = 0;
    int width = 0;
    int mlp_width = 0;
    bool attention = false;        // attention blocks, else RepMixer blocks
    bool downsample = false;       // opens with a patch embedding (7x7 stride 2 + 1x1)
    bool downsample_se = false;    // squeeze-excite in the patch embedding
    bool positional_conv = false;  // RepCPE before the blocks
};

struct FastVitConfig {
    std::string timm_name;  // "fastvit_mci0", ... as open_clip_config.json names it ("" without a config)
    int stem_width = 0;
    std::vector<FastVitStageConfig> stages;
    int final_width = 0;                            // the final MobileOne convolution's outputs, pooled into the head
    static constexpr int kAttentionHeadWidth = 32;  // timm's FastViT Attention default
};

// timm's ConvStem as vit_base_mci_224 uses it: conv (kernel = stride, no padding) + BatchNorm + GELU twice, then a
// conv with a bias to the transformer width; patch_size is the product of the kernels (4 x 2 x 2 = 16).
struct ConvStemConfig {
    std::array<int, 2> hidden_widths{};  // the first two convolutions' outputs
    std::array<int, 3> kernels{};
};

// ViT: TransformerConfig is the transformer's; ResNet: width is the stem width, heads the attention pool's heads,
// layers the total number of bottlenecks; FastViT: width is the last stage's width, layers the number of blocks.
struct VisionConfig : TransformerConfig {
    VisionKind kind = VisionKind::kVit;
    int image_size = 0;
    int patch_size = 0;        // ViT only
    ResNetConfig resnet;       // ResNet only
    FastVitConfig fastvit;     // FastViT only
    ConvStemConfig conv_stem;  // kVitConvStem only (which otherwise is a ViT: patch_size, grid, tokens)

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
    // OpenAI's CLIP text tower is causal; OpenCLIP's no_causal_mask (MobileCLIP2-S*, MobileCLIP-S*) lets every position
    // attend to all context_length positions, padding included.
    bool causal = true;
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
