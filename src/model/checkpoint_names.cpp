#include "model/checkpoint_names.h"

namespace hclip {

TowerTensorNames vision_tensor_names(CheckpointLayout layout) {
    TowerTensorNames n;
    if (layout == CheckpointLayout::kOpenAI) {
        n.block_prefix = "visual.transformer.resblocks.";
        n.patch_embedding = "visual.conv1.weight";
        n.class_embedding = "visual.class_embedding";
        n.position_embedding = "visual.positional_embedding";
        n.ln_pre_weight = "visual.ln_pre.weight";
        n.ln_pre_bias = "visual.ln_pre.bias";
        n.ln_post_weight = "visual.ln_post.weight";
        n.ln_post_bias = "visual.ln_post.bias";
        n.projection = "visual.proj";
    } else {
        n.block_prefix = "vision_model.encoder.layers.";
        n.patch_embedding = "vision_model.embeddings.patch_embedding.weight";
        n.class_embedding = "vision_model.embeddings.class_embedding";
        n.position_embedding = "vision_model.embeddings.position_embedding.weight";
        n.ln_pre_weight = "vision_model.pre_layrnorm.weight";  // sic: the Hugging Face name is misspelt
        n.ln_pre_bias = "vision_model.pre_layrnorm.bias";
        n.ln_post_weight = "vision_model.post_layernorm.weight";
        n.ln_post_bias = "vision_model.post_layernorm.bias";
        n.projection = "visual_projection.weight";
    }
    return n;
}

TowerTensorNames text_tensor_names(CheckpointLayout layout, const std::string& prefix) {
    TowerTensorNames n;
    if (layout == CheckpointLayout::kOpenAI) {
        n.block_prefix = prefix + "transformer.resblocks.";
        n.token_embedding = prefix + "token_embedding.weight";
        n.position_embedding = prefix + "positional_embedding";
        n.ln_post_weight = prefix + "ln_final.weight";
        n.ln_post_bias = prefix + "ln_final.bias";
        n.projection = prefix + "text_projection";
    } else {
        n.block_prefix = "text_model.encoder.layers.";
        n.token_embedding = "text_model.embeddings.token_embedding.weight";
        n.position_embedding = "text_model.embeddings.position_embedding.weight";
        n.ln_post_weight = "text_model.final_layer_norm.weight";
        n.ln_post_bias = "text_model.final_layer_norm.bias";
        n.projection = "text_projection.weight";
    }
    return n;
}

BlockTensorNames timm_vit_block_names(const std::string& block_prefix, int index) {
    const std::string p = block_prefix + std::to_string(index) + ".";
    BlockTensorNames n;
    n.ln1_weight = p + "norm1.weight";
    n.ln1_bias = p + "norm1.bias";
    n.ln2_weight = p + "norm2.weight";
    n.ln2_bias = p + "norm2.bias";
    n.in_proj_weight = p + "attn.qkv.weight";
    n.in_proj_bias = p + "attn.qkv.bias";
    n.out_weight = p + "attn.proj.weight";
    n.out_bias = p + "attn.proj.bias";
    n.fc1_weight = p + "mlp.fc1.weight";
    n.fc1_bias = p + "mlp.fc1.bias";
    n.fc2_weight = p + "mlp.fc2.weight";
    n.fc2_bias = p + "mlp.fc2.bias";
    return n;
}

BlockTensorNames block_tensor_names(CheckpointLayout layout, const std::string& block_prefix, int index) {
    const std::string p = block_prefix + std::to_string(index) + ".";
    BlockTensorNames n;
    if (layout == CheckpointLayout::kOpenAI) {
        n.ln1_weight = p + "ln_1.weight";
        n.ln1_bias = p + "ln_1.bias";
        n.ln2_weight = p + "ln_2.weight";
        n.ln2_bias = p + "ln_2.bias";
        n.in_proj_weight = p + "attn.in_proj_weight";
        n.in_proj_bias = p + "attn.in_proj_bias";
        n.out_weight = p + "attn.out_proj.weight";
        n.out_bias = p + "attn.out_proj.bias";
        n.fc1_weight = p + "mlp.c_fc.weight";
        n.fc1_bias = p + "mlp.c_fc.bias";
        n.fc2_weight = p + "mlp.c_proj.weight";
        n.fc2_bias = p + "mlp.c_proj.bias";
    } else {
        n.ln1_weight = p + "layer_norm1.weight";
        n.ln1_bias = p + "layer_norm1.bias";
        n.ln2_weight = p + "layer_norm2.weight";
        n.ln2_bias = p + "layer_norm2.bias";
        n.q_weight = p + "self_attn.q_proj.weight";
        n.q_bias = p + "self_attn.q_proj.bias";
        n.k_weight = p + "self_attn.k_proj.weight";
        n.k_bias = p + "self_attn.k_proj.bias";
        n.v_weight = p + "self_attn.v_proj.weight";
        n.v_bias = p + "self_attn.v_proj.bias";
        n.out_weight = p + "self_attn.out_proj.weight";
        n.out_bias = p + "self_attn.out_proj.bias";
        n.fc1_weight = p + "mlp.fc1.weight";
        n.fc1_bias = p + "mlp.fc1.bias";
        n.fc2_weight = p + "mlp.fc2.weight";
        n.fc2_bias = p + "mlp.fc2.bias";
    }
    return n;
}

namespace {
ConvBnTensorNames conv_bn(const std::string& conv, const std::string& bn) {
    return {conv + "weight", bn + "weight", bn + "bias", bn + "running_mean", bn + "running_var"};
}
}  // namespace

ConvBnTensorNames resnet_stem_names(int index) {
    const std::string i = std::to_string(index);
    return conv_bn("visual.conv" + i + ".", "visual.bn" + i + ".");
}

std::string resnet_block_prefix(int stage, int block) {
    return "visual.layer" + std::to_string(stage) + "." + std::to_string(block) + ".";
}

ConvBnTensorNames resnet_block_conv_names(const std::string& block_prefix, int index) {
    const std::string i = std::to_string(index);
    return conv_bn(block_prefix + "conv" + i + ".", block_prefix + "bn" + i + ".");
}

ConvBnTensorNames resnet_downsample_names(const std::string& block_prefix) {
    return conv_bn(block_prefix + "downsample.0.", block_prefix + "downsample.1.");
}

}  // namespace hclip
