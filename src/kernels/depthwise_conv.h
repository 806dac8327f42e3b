// Grouped 2-D convolution with one input channel per group (depthwise, or "depthwise with a channel multiplier":
// output channel o reads input channel o / multiplier) on NHWC float32 images, padding kernel / 2. Written as direct
// loops over taps with the channels innermost, which compilers vectorise; im2col + GEMM would multiply by zeros.
#pragma once

namespace hclip {

struct DepthwiseConvArgs {
    int height = 0, width = 0;              // input
    int in_channels = 0, out_channels = 0;  // out_channels a multiple of in_channels
    int kernel = 3, stride = 1;
    const float* input = nullptr;   // [height, width, in_channels]
    const float* weight = nullptr;  // [kernel, kernel, out_channels]
    const float* bias = nullptr;    // [out_channels], or null
    float* output = nullptr;        // [out_height, out_width, out_channels]; must not alias input

    int out_height() const { return (height + 2 * (kernel / 2) - kernel) / stride + 1; }
    int out_width() const { return (width + 2 * (kernel / 2) - kernel) / stride + 1; }
};

void depthwise_conv_nhwc(const DepthwiseConvArgs& args);

// Direct loops with double accumulation: the oracle for depthwise_conv_nhwc's tests.
void depthwise_conv_nhwc_reference(const DepthwiseConvArgs& args);

}  // namespace hclip
