// Folding an inference-mode BatchNorm into the convolution before it, once, at load.
#pragma once

#include <span>

#include "model/resnet_weights.h"

namespace hclip {

// PyTorch's BatchNorm2d default; OpenAI's and OpenCLIP's ModifiedResNet keep it.
inline constexpr double kBatchNormEps = 1e-5;

struct BatchNormStats {
    std::span<const float> gamma, beta, running_mean, running_var;  // [out] each
};

// conv_weight: PyTorch [out, in, kernel, kernel]. Sets dst.weight to W * s reordered to [out, ky, kx, in] and
// dst.bias to beta - mean * s, with s = gamma / sqrt(running_var + eps), computed in double. dst's in, out and
// kernel must be set; the spans must have the sizes they imply.
void fold_batch_norm(std::span<const float> conv_weight, const BatchNormStats& bn, double eps, FoldedConv& dst);

}  // namespace hclip
