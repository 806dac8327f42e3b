// Floating-point operations of one tower pass (multiply-add = 2), for reporting achieved GFLOP/s.
#pragma once

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
    const double t = h * h + 1.0, cw = v.attnpool_width();
    return f + 2.0 * 2.0 * t * cw * cw  // keys and values of every token
           + 2.0 * cw * cw              // the one query
           + 2.0 * 2.0 * t * cw         // scores and weighted sum
           + 2.0 * cw * c.embed_dim;    // c_proj
}

inline double vision_flops(const ClipConfig& c) {
    if (c.vision.kind == VisionKind::kResNet) return resnet_vision_flops(c);
    const VisionConfig& v = c.vision;
    const double patch = 2.0 * v.num_patches() * 3.0 * v.patch_size * v.patch_size * v.width;
    return patch + transformer_flops(v, v.num_tokens()) + 2.0 * v.width * c.embed_dim;
}

inline double text_flops(const ClipConfig& c, int tokens) {
    return transformer_flops(c.text, tokens) + 2.0 * c.text.width * c.embed_dim;
}

}  // namespace hclip
