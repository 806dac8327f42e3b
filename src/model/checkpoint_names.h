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
TowerTensorNames text_tensor_names(CheckpointLayout layout);
BlockTensorNames block_tensor_names(CheckpointLayout layout, const std::string& block_prefix, int index);

}  // namespace hclip
