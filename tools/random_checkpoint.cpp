#include "random_checkpoint.h"

#include <algorithm>
#include <cmath>

#include "io/safetensors.h"

namespace hclip::random_checkpoint {

std::vector<float>& Writer::add(const std::string& name, std::vector<std::int64_t> shape) {
    std::size_t n = 1;
    for (auto d : shape)
        n *= static_cast<std::size_t>(d);
    storage_.emplace_back(n);
    shapes_.emplace_back(name, std::move(shape));
    return storage_.back();
}

void Writer::normal(const std::string& name, std::vector<std::int64_t> shape, float stddev, float mean) {
    std::normal_distribution<float> dist(mean, stddev);
    for (auto& x : add(name, std::move(shape)))
        x = dist(rng_);
}

void Writer::uniform(const std::string& name, std::vector<std::int64_t> shape, float low, float high) {
    std::uniform_real_distribution<float> dist(low, high);
    for (auto& x : add(name, std::move(shape)))
        x = dist(rng_);
}

void Writer::drop(const std::string& name) {
    for (std::size_t i = 0; i < shapes_.size(); ++i) {
        if (shapes_[i].first != name) continue;
        shapes_.erase(shapes_.begin() + static_cast<std::ptrdiff_t>(i));
        storage_.erase(storage_.begin() + static_cast<std::ptrdiff_t>(i));
        return;
    }
}

Status Writer::write(const std::string& path) const {
    std::vector<TensorToWrite> tensors;
    for (std::size_t i = 0; i < storage_.size(); ++i)
        tensors.push_back({shapes_[i].first, shapes_[i].second, storage_[i]});
    return write_safetensors(path, tensors, {{"format", "pt"}, {"note", "random weights"}});
}

void add_transformer_blocks(Writer& w, const std::string& prefix, int layers, int width) {
    const float s = 1.0f / std::sqrt(static_cast<float>(width));
    for (int i = 0; i < layers; ++i) {
        const std::string p = prefix + std::to_string(i) + ".";
        w.normal(p + "ln_1.weight", {width}, 0.02f, 1.0f);
        w.normal(p + "ln_1.bias", {width}, 0.02f);
        w.normal(p + "attn.in_proj_weight", {3 * width, width}, s);
        w.normal(p + "attn.in_proj_bias", {3 * width}, 0.02f);
        w.normal(p + "attn.out_proj.weight", {width, width}, s);
        w.normal(p + "attn.out_proj.bias", {width}, 0.02f);
        w.normal(p + "ln_2.weight", {width}, 0.02f, 1.0f);
        w.normal(p + "ln_2.bias", {width}, 0.02f);
        w.normal(p + "mlp.c_fc.weight", {4 * width, width}, s);
        w.normal(p + "mlp.c_fc.bias", {4 * width}, 0.02f);
        w.normal(p + "mlp.c_proj.weight", {width, 4 * width}, s * 0.5f);
        w.normal(p + "mlp.c_proj.bias", {width}, 0.02f);
    }
}

void add_vit_vision(Writer& w, const VitGeometry& g, int embed_dim) {
    const int grid = g.image_size / g.patch, vw = g.width;
    w.normal("visual.conv1.weight", {vw, 3, g.patch, g.patch}, 0.02f);
    w.normal("visual.class_embedding", {vw}, 0.05f);
    w.normal("visual.positional_embedding", {grid * grid + 1, vw}, 0.05f);
    w.normal("visual.ln_pre.weight", {vw}, 0.02f, 1.0f);
    w.normal("visual.ln_pre.bias", {vw}, 0.02f);
    add_transformer_blocks(w, "visual.transformer.resblocks.", g.layers, vw);
    w.normal("visual.ln_post.weight", {vw}, 0.02f, 1.0f);
    w.normal("visual.ln_post.bias", {vw}, 0.02f);
    w.normal("visual.proj", {vw, embed_dim}, 1.0f / std::sqrt(static_cast<float>(vw)));
}

namespace {

// He-scaled convolution weight plus its BatchNorm: `gain` scales gamma (below 1 for the last BatchNorm of a
// residual branch, so 50 blocks of random residuals do not grow without bound).
void conv_bn(Writer& w, const std::string& conv, const std::string& bn, int out, int in, int k, float gain = 1.0f) {
    w.normal(conv + "weight", {out, in, k, k}, std::sqrt(2.0f / static_cast<float>(in * k * k)));
    w.normal(bn + "weight", {out}, 0.1f * gain, gain);
    w.normal(bn + "bias", {out}, 0.05f);
    w.normal(bn + "running_mean", {out}, 0.1f);
    w.uniform(bn + "running_var", {out}, 0.5f, 1.5f);
}

// A BatchNorm alone (an identity branch, or the norm of an attention block).
void batch_norm(Writer& w, const std::string& bn, int channels, float gain = 1.0f) {
    w.normal(bn + "weight", {channels}, 0.1f * gain, gain);
    w.normal(bn + "bias", {channels}, 0.05f);
    w.normal(bn + "running_mean", {channels}, 0.1f);
    w.uniform(bn + "running_var", {channels}, 0.5f, 1.5f);
}

// A MobileOneBlock's branches: conv_kxk.0 (+ conv_scale for kernels above 1) (+ identity when the shape is kept).
void mobileone(Writer& w, const std::string& p, int out, int in_per_group, int k, bool scale, bool identity) {
    conv_bn(w, p + "conv_kxk.0.conv.", p + "conv_kxk.0.bn.", out, in_per_group, k, 0.5f);
    if (scale) conv_bn(w, p + "conv_scale.conv.", p + "conv_scale.bn.", out, in_per_group, 1, 0.5f);
    if (identity) batch_norm(w, p + "identity.", out, 0.5f);
}

void squeeze_excite(Writer& w, const std::string& p, int channels, int reduced) {
    w.normal(p + "fc1.weight", {reduced, channels, 1, 1}, 1.0f / std::sqrt(static_cast<float>(channels)));
    w.normal(p + "fc1.bias", {reduced}, 0.02f);
    w.normal(p + "fc2.weight", {channels, reduced, 1, 1}, 1.0f / std::sqrt(static_cast<float>(reduced)));
    w.normal(p + "fc2.bias", {channels}, 0.02f);
}

void conv_mlp(Writer& w, const std::string& p, int width) {
    conv_bn(w, p + "conv.conv.", p + "conv.bn.", width, 1, 7);
    w.normal(p + "fc1.weight", {3 * width, width, 1, 1}, 1.0f / std::sqrt(static_cast<float>(width)));
    w.normal(p + "fc1.bias", {3 * width}, 0.02f);
    w.normal(p + "fc2.weight", {width, 3 * width, 1, 1}, 1.0f / std::sqrt(static_cast<float>(3 * width)));
    w.normal(p + "fc2.bias", {width}, 0.02f);
}

}  // namespace

void add_fastvit_vision(Writer& w, const FastVitGeometry& g, int embed_dim) {
    const std::string t = "visual.trunk.";
    const int w0 = g.widths[0];
    mobileone(w, t + "stem.0.", w0, 3, 3, true, false);
    mobileone(w, t + "stem.1.", w0, 1, 3, true, false);
    mobileone(w, t + "stem.2.", w0, w0, 1, false, true);
    int prev = w0;
    for (std::size_t i = 0; i < 4; ++i) {
        const int width = g.widths[i];
        const std::string p = t + "stages." + std::to_string(i) + ".";
        if (i > 0) {
            const std::string d = p + "downsample.proj.";
            conv_bn(w, d + "0.large_conv.conv.", d + "0.large_conv.bn.", width, 1, 7);
            conv_bn(w, d + "0.small_conv.conv.", d + "0.small_conv.bn.", width, 1, 3);
            if (i >= 2) squeeze_excite(w, d + "0.se.", width, width / 4);
            mobileone(w, d + "1.", width, width, 1, false, true);
        }
        if (i == 3) {
            w.normal(p + "pos_emb.pos_enc.weight", {width, 1, 7, 7}, 0.05f);
            w.normal(p + "pos_emb.pos_enc.bias", {width}, 0.02f);
        }
        for (int b = 0; b < g.layers[i]; ++b) {
            const std::string bp = p + "blocks." + std::to_string(b) + ".";
            if (i == 3) {
                batch_norm(w, bp + "norm.", width);
                w.normal(bp + "token_mixer.qkv.weight", {3 * width, width},
                         1.0f / std::sqrt(static_cast<float>(width)));
                w.normal(bp + "token_mixer.proj.weight", {width, width}, 1.0f / std::sqrt(static_cast<float>(width)));
                w.normal(bp + "token_mixer.proj.bias", {width}, 0.02f);
                w.normal(bp + "layer_scale_1.gamma", {width, 1, 1}, 0.02f, 0.1f);
                w.normal(bp + "layer_scale_2.gamma", {width, 1, 1}, 0.02f, 0.1f);
            } else {
                mobileone(w, bp + "token_mixer.mixer.", width, 1, 3, true, true);
                batch_norm(w, bp + "token_mixer.norm.identity.", width);
                w.normal(bp + "token_mixer.layer_scale.gamma", {width, 1, 1}, 0.02f, 0.1f);
                w.normal(bp + "layer_scale.gamma", {width, 1, 1}, 0.02f, 0.1f);
            }
            conv_mlp(w, bp + "mlp.", width);
        }
        prev = width;
    }
    mobileone(w, t + "final_conv.", 2 * prev, 1, 3, true, false);
    squeeze_excite(w, t + "final_conv.se.", 2 * prev, 2 * prev / 16);
    w.normal(t + "head.fc.weight", {embed_dim, 2 * prev}, 1.0f / std::sqrt(static_cast<float>(2 * prev)));
    w.normal(t + "head.fc.bias", {embed_dim}, 0.02f);
}

void add_vit_conv_stem_vision(Writer& w, int embed_dim, int layers) {
    const std::string t = "visual.trunk.";
    const int width = 768, hidden = 192, grid = 14;
    const std::string stem = t + "patch_embed.backbone.";
    conv_bn(w, stem + "0.conv.", stem + "0.bn.", hidden, 3, 4);
    conv_bn(w, stem + "1.conv.", stem + "1.bn.", hidden, hidden, 2);
    w.normal(stem + "2.conv.weight", {width, hidden, 2, 2}, std::sqrt(1.0f / static_cast<float>(4 * hidden)));
    w.normal(stem + "2.conv.bias", {width}, 0.02f);
    w.normal(t + "cls_token", {1, 1, width}, 0.05f);
    w.normal(t + "pos_embed", {1, grid * grid, width}, 0.05f);
    const float s = 1.0f / std::sqrt(static_cast<float>(width));
    for (int i = 0; i < layers; ++i) {
        const std::string p = t + "blocks." + std::to_string(i) + ".";
        w.normal(p + "norm1.weight", {width}, 0.02f, 1.0f);
        w.normal(p + "norm1.bias", {width}, 0.02f);
        w.normal(p + "attn.qkv.weight", {3 * width, width}, s);
        w.normal(p + "attn.qkv.bias", {3 * width}, 0.02f);
        w.normal(p + "attn.proj.weight", {width, width}, s);
        w.normal(p + "attn.proj.bias", {width}, 0.02f);
        w.normal(p + "norm2.weight", {width}, 0.02f, 1.0f);
        w.normal(p + "norm2.bias", {width}, 0.02f);
        w.normal(p + "mlp.fc1.weight", {4 * width, width}, s);
        w.normal(p + "mlp.fc1.bias", {4 * width}, 0.02f);
        w.normal(p + "mlp.fc2.weight", {width, 4 * width}, s * 0.5f);
        w.normal(p + "mlp.fc2.bias", {width}, 0.02f);
    }
    w.normal(t + "norm.weight", {width}, 0.02f, 1.0f);
    w.normal(t + "norm.bias", {width}, 0.02f);
    w.normal(t + "head.weight", {embed_dim, width}, s);
    w.normal(t + "head.bias", {embed_dim}, 0.02f);
}

void add_resnet_vision(Writer& w, const ResNetGeometry& g, int embed_dim) {
    const int width = g.width;
    conv_bn(w, "visual.conv1.", "visual.bn1.", width / 2, 3, 3);
    conv_bn(w, "visual.conv2.", "visual.bn2.", width / 2, width / 2, 3);
    conv_bn(w, "visual.conv3.", "visual.bn3.", width, width / 2, 3);
    int in = width;
    for (int stage = 0; stage < 4; ++stage) {
        const int planes = width << stage;
        for (int i = 0; i < g.layers[static_cast<std::size_t>(stage)]; ++i) {
            const std::string p = "visual.layer" + std::to_string(stage + 1) + "." + std::to_string(i) + ".";
            conv_bn(w, p + "conv1.", p + "bn1.", planes, in, 1);
            conv_bn(w, p + "conv2.", p + "bn2.", planes, planes, 3);
            conv_bn(w, p + "conv3.", p + "bn3.", 4 * planes, planes, 1, 0.3f);
            if ((i == 0 && stage > 0) || in != 4 * planes) {
                conv_bn(w, p + "downsample.0.", p + "downsample.1.", 4 * planes, in, 1);
            }
            in = 4 * planes;
        }
    }
    const int grid = g.image_size / 32, cw = 32 * width;
    const float s = 1.0f / std::sqrt(static_cast<float>(cw));
    w.normal("visual.attnpool.positional_embedding", {grid * grid + 1, cw}, s);
    for (const char* proj : {"q_proj", "k_proj", "v_proj"}) {
        w.normal(std::string("visual.attnpool.") + proj + ".weight", {cw, cw}, s);
        w.normal(std::string("visual.attnpool.") + proj + ".bias", {cw}, 0.02f);
    }
    w.normal("visual.attnpool.c_proj.weight", {embed_dim, cw}, s);
    w.normal("visual.attnpool.c_proj.bias", {embed_dim}, 0.02f);
}

void add_text(Writer& w, const TextGeometry& g, int embed_dim, const std::string& prefix) {
    const int tw = g.width;
    w.normal(prefix + "token_embedding.weight", {49408, tw}, 0.02f);
    w.normal(prefix + "positional_embedding", {77, tw}, 0.01f);
    add_transformer_blocks(w, prefix + "transformer.resblocks.", g.layers, tw);
    w.normal(prefix + "ln_final.weight", {tw}, 0.02f, 1.0f);
    w.normal(prefix + "ln_final.bias", {tw}, 0.02f);
    w.normal(prefix + "text_projection", {tw, embed_dim}, 1.0f / std::sqrt(static_cast<float>(tw)));
    w.normal("logit_scale", {}, 0.0f, std::log(100.0f));
}

}  // namespace hclip::random_checkpoint
