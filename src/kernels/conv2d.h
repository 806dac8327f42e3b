// 2-D convolution on NHWC float32 tensors through the one GEMM interface (kernels/gemm.h): a 1x1 stride-1
// convolution is a GEMM on the activations as they are; any other is im2col (one image at a time, into the
// caller's scratch) then a GEMM. Weights are [out, kernel, kernel, in] (reordered once at load from PyTorch's
// [out, in, kernel, kernel]), so every im2col row is the contiguous dot-product partner of a weight row.
#pragma once

#include <cstddef>

#include "kernels/packed_gemm.h"

namespace hclip {

struct Conv2dShape {
    int height = 0, width = 0;  // input
    int in_channels = 0, out_channels = 0;
    int kernel = 1, stride = 1, padding = 0;

    int out_height() const { return (height + 2 * padding - kernel) / stride + 1; }
    int out_width() const { return (width + 2 * padding - kernel) / stride + 1; }
    bool is_pointwise() const { return kernel == 1 && stride == 1 && padding == 0; }
    // Scratch floats conv2d_nhwc needs for one image (0 for a pointwise convolution).
    std::size_t columns_floats() const;
};

struct Conv2dArgs {
    Conv2dShape shape;
    int batch = 1;
    const float* input = nullptr;                  // [batch, height, width, in_channels]
    const float* weight = nullptr;                 // [out_channels, kernel, kernel, in_channels]
    const PackedWeights* packed_weight = nullptr;  // the same, packed (used instead of weight when set)
    const float* bias = nullptr;                   // [out_channels], or null
    bool relu = false;                             // max(0, .) after the bias
    float* output = nullptr;                       // [batch, out_height, out_width, out_channels]; must not alias input
    float* columns = nullptr;                      // shape.columns_floats() floats of scratch
};

void conv2d_nhwc(const Conv2dArgs& args);

// Direct loops with double accumulation: the oracle for conv2d_nhwc's tests.
void conv2d_nhwc_reference(const Conv2dArgs& args);

// Unrolls one image's receptive fields: columns[oy * out_width + ox, (ky * kernel + kx) * in + c], zero padded.
void im2col_nhwc(const float* image, const Conv2dShape& shape, float* columns);

}  // namespace hclip
