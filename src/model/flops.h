// Floating-point operations of one tower pass (multiply-add = 2), for reporting achieved GFLOP/s.
#pragma once

#include <cmath>

#include "model/clip_config.h"

namespace hclip {

// One transformer pass over `tokens` positions of one sequence.
inline double transformer_flops(const TransformerConfig& c, int tokens) {
    const double t = tokens, w = c.width, m = c.mlp_width;
    const double per_layer = 2.0 * t * w * 3.0 * w     // q, k, v
                             + 2.0 * 2.0 * t * t * w   // scores and weighted sum
                             + 2.0 * t * w * w         // output projection
                             + 2.0 * 2.0 * t * w * m;  // MLP
    return per_layer * c.layers;
}

// ModifiedResNet: every convolution (the folded BatchNorms cost nothing), then the attention pool.
inline double resnet_vision_flops(const ClipConfig& c) {
    const VisionConfig& v = c.vision;
    double f = 0.0;
    const auto conv = [&f](int out_size, int in, int out, int k) { f += 2.0 * out_size * out_size * in * out * k * k; };
    const int w = v.width;
    int h = v.image_size / 2;
    conv(h, 3, w / 2, 3);
    conv(h, w / 2, w / 2, 3);
    conv(h, w / 2, w, 3);
    h /= 2;
    int in = w;
    for (int stage = 0; stage < 4; ++stage) {
        const int planes = w << stage;
        for (int i = 0; i < v.resnet.stage_layers[static_cast<std::size_t>(stage)]; ++i) {
            const int stride = (i == 0 && stage > 0) ? 2 : 1;
            conv(h, in, planes, 1);
            conv(h, planes, planes, 3);
            h /= stride;
            conv(h, planes, 4 * planes, 1);
            if (stride > 1 || in != 4 * planes) conv(h, in, 4 * planes, 1);
            in = 4 * planes;
        }
    }
    // The attention pool as computed (model/attention_pool.h: keys and values folded, not projected per token).
    const double t = h * h + 1.0, cw = v.attnpool_width(), heads = v.heads;
    return f + 2.0 * cw * cw             // the one query
           + 2.0 * 2.0 * cw * cw         // the keys folded into it, the values applied to each head's mix
           + 2.0 * 2.0 * t * heads * cw  // scores against and weighted sum of the tokens, per head
           + 2.0 * cw * c.embed_dim;     // c_proj
}

// FastViT: every convolution (grouped ones at their real cost), the attention stages' products, the head.
inline double fastvit_vision_flops(const ClipConfig& c) {
    const FastVitConfig& f = c.vision.fastvit;
    double h = c.vision.image_size / 2, flops = 2.0 * h * h * 27.0 * f.stem_width;  // 3x3 stride 2
    h /= 2;
    flops += 2.0 * h * h * (9.0 * f.stem_width + static_cast<double>(f.stem_width) * f.stem_width);
    double width = f.stem_width;
    for (const FastVitStageConfig& s : f.stages) {
        if (s.downsample) {
            h = std::floor((h - 1) / 2) + 1;
            width = s.width;
            flops += 2.0 * h * h * (49.0 * width + width * width);
        }
        if (s.positional_conv) flops += 2.0 * h * h * 49.0 * width;
        const double mlp = 2.0 * h * h * (49.0 * width + 2.0 * width * s.mlp_width);
        const double mixer = s.attention ? 2.0 * h * h * 4.0 * width * width + 2.0 * 2.0 * h * h * h * h * width
                                         : 2.0 * h * h * 9.0 * width;
        flops += s.layers * (mlp + mixer);
    }
    return flops + 2.0 * h * h * 9.0 * f.final_width + 2.0 * f.final_width * c.embed_dim;
}

inline double vision_flops(const ClipConfig& c) {
    if (c.vision.kind == VisionKind::kResNet) return resnet_vision_flops(c);
    if (c.vision.kind == VisionKind::kFastVit) return fastvit_vision_flops(c);
    const VisionConfig& v = c.vision;
    const double patch = 2.0 * v.num_patches() * 3.0 * v.patch_size * v.patch_size * v.width;
    return patch + transformer_flops(v, v.num_tokens()) + 2.0 * v.width * c.embed_dim;
}

// A non-causal text tower always computes its whole context, whatever the text's length.
inline double text_flops(const ClipConfig& c, int tokens) {
    if (!c.text.causal) tokens = c.text.context_length;
    return transformer_flops(c.text, tokens) + 2.0 * c.text.width * c.embed_dim;
}

}  // namespace hclip
