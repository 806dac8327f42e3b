// The weights of OpenAI's ModifiedResNet image tower as the CPU tower uses them: every BatchNorm folded into its
// convolution (running statistics and eps) and every convolution reordered to [out, ky, kx, in] for NHWC
// (kernels/conv2d.h), once, at load. The model owns these buffers.
#pragma once

#include <array>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/packed_conv.h"
#include "kernels/packed_gemm.h"
#include "model/clip_weights.h"

namespace hclip {

// conv(x) * gamma / sqrt(var + eps) + (beta - mean * gamma / sqrt(var + eps)): a convolution with a bias.
struct FoldedConv {
    std::vector<float> weight;              // [out, kernel, kernel, in]; emptied when packed
    const PackedWeights* packed = nullptr;  // owned by the model: for im2col + GEMM (conv2d_nhwc)
    // Owned by the model: a direct convolution compiled for the one input size and epilogue the tower gives this
    // convolution (ResNet only); packed is then null.
    const PackedConv* direct = nullptr;
    std::vector<float> bias;  // [out]
    int in = 0, out = 0, kernel = 1, stride = 1;

    // The convolution applied to a height x width input ("same" padding for the 3x3 kernels).
    Conv2dShape shape(int height, int width) const {
        return {.height = height,
                .width = width,
                .in_channels = in,
                .out_channels = out,
                .kernel = kernel,
                .stride = stride,
                .padding = kernel / 2};
    }
};

// 1x1 conv-BN-ReLU, 3x3 conv-BN-ReLU, avgpool(stride) when stride > 1, 1x1 conv-BN (4 x planes outputs);
// shortcut: avgpool(stride) then 1x1 conv-BN where the stride or the width changes; add; ReLU.
struct BottleneckWeights {
    FoldedConv conv1, conv2, conv3;
    bool has_downsample = false;
    FoldedConv downsample;
    int stride = 1;  // the anti-aliasing average pool's kernel and stride
};

// Multi-head attention with the mean of the final grid as the only query, over the mean token and the grid.
struct AttentionPoolWeights {
    const float* positional_embedding = nullptr;  // [grid * grid + 1, width * 32]
    LinearWeights q, k, v, c_proj;
};

struct ResNetWeights {
    std::array<FoldedConv, 3> stem;         // stride 2, 1, 1; then avgpool(2)
    std::vector<BottleneckWeights> blocks;  // stage 1 first; stage_layers in VisionConfig::resnet
    AttentionPoolWeights attnpool;
};

// What ResNetTower does after a convolution's product (besides its bias).
enum class ResNetConvEpilogue { kNone, kRelu, kReluAfterResidual };

// Calls visit(conv, input_size, epilogue) for every convolution in the order ResNetTower runs them, with the square
// input size each one sees in an image_size x image_size picture: the one walk of the trunk that sizing its scratch
// and compiling its convolutions share. `Weights` is ResNetWeights or const ResNetWeights.
template <class Weights, class Visit>
void for_each_resnet_conv(Weights& r, int image_size, Visit&& visit) {
    using E = ResNetConvEpilogue;
    int h = image_size;
    visit(r.stem[0], h, E::kRelu);
    h = r.stem[0].shape(h, h).out_height();
    visit(r.stem[1], h, E::kRelu);
    visit(r.stem[2], h, E::kRelu);
    h /= 2;  // the stem's average pooling
    for (auto& b : r.blocks) {
        visit(b.conv1, h, E::kRelu);
        visit(b.conv2, h, E::kRelu);
        h /= b.stride;  // the anti-aliasing average pooling
        visit(b.conv3, h, E::kReluAfterResidual);
        if (b.has_downsample) visit(b.downsample, h, E::kNone);
    }
}

// The convolution that reads `c`'s output as it is, with no pooling or residual sum between, in ResNetTower's
// order: the stem's first two feed the next; a block's first feeds its second, which feeds its third where the
// block does not pool. Null otherwise. The model loader lets a convolution write bf16 for such a reader; the tower
// hands each convolution its producer by the same rule.
inline const FoldedConv* resnet_reader(const ResNetWeights& r, const FoldedConv& c) {
    if (&c == &r.stem[0]) return &r.stem[1];
    if (&c == &r.stem[1]) return &r.stem[2];
    for (const BottleneckWeights& b : r.blocks) {
        if (&c == &b.conv1) return &b.conv2;
        if (&c == &b.conv2 && b.stride == 1) return &b.conv3;
    }
    return nullptr;
}

}  // namespace hclip
