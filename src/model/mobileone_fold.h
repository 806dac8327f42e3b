// Structural reparameterization (RepVGG / MobileOne / RepLKNet, as timm's reparameterize() methods define it): a sum of
// parallel branches (kxk conv + BatchNorm, smaller conv + BatchNorm, identity BatchNorm, identity) is one convolution,
// because each branch is linear in the input. The kernels are summed in double, once, at load.
#pragma once

#include <span>
#include <vector>

#include "model/batch_norm_fold.h"
#include "model/fastvit_weights.h"

namespace hclip {

// A convolution kernel in PyTorch's layout [out, in_per_group, kernel, kernel] with its bias, in double.
struct RepKernel {
    int out = 0, in_per_group = 0, kernel = 0;
    std::vector<double> weight, bias;

    static RepKernel zeros(int out, int in_per_group, int kernel);
    std::size_t index(int o, int c, int ky, int kx) const {
        const auto k = static_cast<std::size_t>(kernel);
        return ((static_cast<std::size_t>(o) * static_cast<std::size_t>(in_per_group) + static_cast<std::size_t>(c)) *
                    k +
                static_cast<std::size_t>(ky)) *
                   k +
               static_cast<std::size_t>(kx);
    }
    double& at(int o, int c, int ky, int kx) { return weight[index(o, c, ky, kx)]; }
    double at(int o, int c, int ky, int kx) const { return weight[index(o, c, ky, kx)]; }
};

// kernel += conv_weight * s (centred when the branch's kernel is smaller), bias += beta - mean * s, with
// s = gamma / sqrt(var + eps). conv_weight: [out, in_per_group, branch_kernel, branch_kernel].
void add_conv_bn(RepKernel& k, std::span<const float> conv_weight, int branch_kernel, const BatchNormStats& bn,
                 double eps);
// The identity branch through a BatchNorm: channel o passes input o (o % in_per_group within its group).
void add_identity_bn(RepKernel& k, const BatchNormStats& bn, double eps);
// kernel += scale * identity (RepMixer's and RepCPE's skip connection folded into the convolution).
void add_identity(RepKernel& k, double scale);
// kernel += conv_weight, bias += conv_bias (same kernel size; a plain convolution with a bias).
void add_conv(RepKernel& k, std::span<const float> conv_weight, std::span<const float> conv_bias);
// kernel = a + scale[o] * (b - c) per output channel (RepMixer: identity + layer scale * (mixer - norm)).
RepKernel combine_scaled_difference(const RepKernel& a, const RepKernel& b, const RepKernel& c,
                                    std::span<const float> scale);
// Output channel o multiplied by scale[o], weight and bias (a layer scale after the convolution).
void scale_outputs(RepKernel& k, std::span<const float> scale);

// The folded kernel as the CPU tower runs it: dense ([out, ky, kx, in], in_per_group == in) or one input channel per
// group ([ky, kx, out]).
FoldedConv to_dense_conv(const RepKernel& k, int stride);
DepthwiseConv to_depthwise_conv(const RepKernel& k, int in, int stride);

}  // namespace hclip
