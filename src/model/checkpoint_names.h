// Tensor names of the two checkpoint layouts in use, in one place so model code never formats strings.
#pragma once

#include <string>

#include "model/clip_config.h"

namespace hclip {

struct BlockTensorNames {
    std::string ln1_weight, ln1_bias, ln2_weight, ln2_bias;
    // OpenAI layout: one fused in_proj; Hugging Face: separate q/k/v.
    std::string in_proj_weight, in_proj_bias;
    std::string q_weight, q_bias, k_weight, k_bias, v_weight, v_bias;
    std::string out_weight, out_bias, fc1_weight, fc1_bias, fc2_weight, fc2_bias;
};

struct TowerTensorNames {
    std::string block_prefix;  // followed by the block index and '.'
    // Vision only.
    std::string patch_embedding, class_embedding;
    std::string position_embedding;
    std::string ln_pre_weight, ln_pre_bias;
    std::string ln_post_weight, ln_post_bias;  // vision: ln_post, text: ln_final
    std::string token_embedding;               // text only
    std::string projection;
};

TowerTensorNames vision_tensor_names(CheckpointLayout layout);
// `prefix`: "text." for OpenCLIP's CustomTextCLIP (MobileCLIP), whose text tower is a module of its own.
TowerTensorNames text_tensor_names(CheckpointLayout layout, const std::string& prefix = "");
BlockTensorNames block_tensor_names(CheckpointLayout layout, const std::string& block_prefix, int index);
// timm's VisionTransformer blocks (norm1, attn.qkv fused like OpenAI's in_proj, attn.proj, norm2, mlp.fc1/fc2).
BlockTensorNames timm_vit_block_names(const std::string& block_prefix, int index);
// timm's vit_base_mci_224 inside OpenCLIP's TimmModel.
inline constexpr const char* kConvStemVitPrefix = "visual.trunk.";
inline constexpr const char* kConvStemMarker = "visual.trunk.patch_embed.backbone.0.conv.weight";

// ModifiedResNet: OpenAI and OpenCLIP name it alike ("visual.layer1.0.conv1.weight", "visual.attnpool.q_proj.weight").
inline constexpr const char* kResNetMarker = "visual.layer1.0.conv1.weight";
struct ConvBnTensorNames {
    std::string conv_weight;
    std::string bn_weight, bn_bias, bn_running_mean, bn_running_var;
};
ConvBnTensorNames resnet_stem_names(int index);         // index 1..3: visual.conv1 + visual.bn1, ...
std::string resnet_block_prefix(int stage, int block);  // "visual.layer<stage>.<block>."; stage 1..4
ConvBnTensorNames resnet_block_conv_names(const std::string& block_prefix, int index);  // conv1/bn1 .. conv3/bn3
ConvBnTensorNames resnet_downsample_names(const std::string& block_prefix);             // downsample.0 / .1
inline constexpr const char* kAttnPoolPrefix = "visual.attnpool.";

}  // namespace hclip
