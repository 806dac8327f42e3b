// The weights of timm's FastViT image tower (MobileCLIP's fastvit_mci0/1/2) as the CPU tower uses them: every
// multi-branch block (MobileOne, RepMixer, the large-kernel patch embedding, the conditional positional convolution)
// folded once at load into one plain convolution with a bias, every layer scale folded into the layer before it.
// The model owns these buffers.
#pragma once

#include <vector>

#include "model/resnet_weights.h"

namespace hclip {

// A grouped convolution with one input channel per group: depthwise when out == in, else out / in outputs per input
// channel (output o reads input o / multiplier, PyTorch's grouping). Padding kernel / 2.
struct DepthwiseConv {
    std::vector<float> weight;  // [kernel, kernel, out]: one tap's weights are contiguous over the NHWC channels
    std::vector<float> bias;    // [out]
    int in = 0, out = 0, kernel = 3, stride = 1;

    int multiplier() const { return in > 0 ? out / in : 0; }
    int out_size(int size) const { return (size + 2 * (kernel / 2) - kernel) / stride + 1; }
};

// timm's SqueezeExcite: x * sigmoid(fc2(relu(fc1(mean over pixels of x)))).
struct SqueezeExciteWeights {
    std::vector<float> fc1, fc1_bias;  // [reduced, channels], [reduced]
    std::vector<float> fc2, fc2_bias;  // [channels, reduced], [channels]
    int channels = 0, reduced = 0;
    bool present() const { return channels > 0; }
};

// Depthwise 7x7 conv + BatchNorm (folded), 1x1 to mlp_width, GELU, 1x1 back (the block's layer scale folded in).
struct ConvMlpWeights {
    DepthwiseConv conv;
    FoldedConv fc1, fc2;
};

// x = depthwise 3x3 (RepMixer: x + scale * (mixer(x) - norm(x)), folded, identity included); x += mlp(x).
struct RepMixerBlockWeights {
    DepthwiseConv mixer;
    ConvMlpWeights mlp;
};

// x += proj(attention(BatchNorm(x))) (layer scale 1 folded into proj); x += mlp(x). qkv has no bias.
struct AttentionBlockWeights {
    std::vector<float> norm_scale, norm_shift;  // the BatchNorm as y = x * scale + shift, per channel
    FoldedConv qkv, proj;
    ConvMlpWeights mlp;
};

struct FastVitStageWeights {
    // The patch embedding: a grouped 7x7 stride-2 convolution (its 3x3 branch folded in), optional squeeze-excite,
    // GELU, then a 1x1 MobileOne convolution (identity BatchNorm folded in) and GELU.
    DepthwiseConv down_conv;
    SqueezeExciteWeights down_se;
    FoldedConv down_pointwise;
    DepthwiseConv positional_conv;  // x + conv7x7(x), the identity folded in; when the stage has one
    std::vector<RepMixerBlockWeights> repmixer_blocks;
    std::vector<AttentionBlockWeights> attention_blocks;
};

struct FastVitWeights {
    FoldedConv stem_conv;          // 3x3 stride 2, 3 -> stem width, GELU
    DepthwiseConv stem_depthwise;  // 3x3 stride 2, GELU
    FoldedConv stem_pointwise;     // 1x1, GELU
    std::vector<FastVitStageWeights> stages;
    DepthwiseConv final_conv;  // grouped 3x3, then squeeze-excite and GELU
    SqueezeExciteWeights final_se;
    std::vector<float> head, head_bias;  // [embed, final_width], [embed]
};

}  // namespace hclip
