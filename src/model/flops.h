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

inline double vision_flops(const ClipConfig& c) {
    const VisionConfig& v = c.vision;
    const double patch = 2.0 * v.num_patches() * 3.0 * v.patch_size * v.patch_size * v.width;
    return patch + transformer_flops(v, v.num_tokens()) + 2.0 * v.width * c.embed_dim;
}

inline double text_flops(const ClipConfig& c, int tokens) {
    return transformer_flops(c.text, tokens) + 2.0 * c.text.width * c.embed_dim;
}

}  // namespace hclip
