// Pooling and element operations of a convolutional network on NHWC float32 tensors.
#pragma once

#include <cstddef>

namespace hclip {

// PyTorch AvgPool2d(k) (kernel = stride = k, no padding, floor): [batch, h, w, c] -> [batch, h / k, w / k, c].
void avg_pool_nhwc(const float* in, int batch, int height, int width, int channels, int k, float* out);

// Mean over all positions of each image: [batch, pixels, c] -> out rows `ldo` floats apart.
void mean_pool_rows(const float* in, int batch, int pixels, int channels, float* out, int ldo);

// x = max(x + y, 0), the residual join of a bottleneck.
void add_relu_inplace(float* x, const float* y, std::size_t n);

}  // namespace hclip
