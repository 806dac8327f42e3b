// Per-channel operations on NHWC float32 images of a convolutional network.
#pragma once

#include <cstddef>

namespace hclip {

// y[p, c] = x[p, c] * scale[c] + shift[c] (an inference-mode BatchNorm). x and y may alias.
void channel_affine_nhwc(const float* x, int pixels, int channels, const float* scale, const float* shift, float* y);

// Squeeze-and-excitation (timm's SEModule with ReLU and a sigmoid gate), in place:
// x[p, c] *= sigmoid(fc2 relu(fc1 mean_p(x) + b1) + b2)[c]. fc1: [reduced, channels], fc2: [channels, reduced];
// scratch: channels + reduced floats.
struct SqueezeExciteArgs {
    int channels = 0, reduced = 0;
    const float *fc1 = nullptr, *fc1_bias = nullptr, *fc2 = nullptr, *fc2_bias = nullptr;
};
void squeeze_excite_nhwc(float* x, int pixels, const SqueezeExciteArgs& se, float* scratch);

}  // namespace hclip
