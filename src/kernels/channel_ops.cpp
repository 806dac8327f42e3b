#include "kernels/channel_ops.h"

#include <algorithm>
#include <cmath>

#include "kernels/pooling.h"

namespace hclip {

void channel_affine_nhwc(const float* x, int pixels, int channels, const float* scale, const float* shift, float* y) {
    const auto c = static_cast<std::size_t>(channels);
    for (std::size_t p = 0; p < static_cast<std::size_t>(pixels); ++p)
        for (std::size_t i = 0; i < c; ++i)
            y[p * c + i] = x[p * c + i] * scale[i] + shift[i];
}

void squeeze_excite_nhwc(float* x, int pixels, const SqueezeExciteArgs& se, float* scratch) {
    const auto c = static_cast<std::size_t>(se.channels), r = static_cast<std::size_t>(se.reduced);
    float* mean = scratch;
    float* hidden = scratch + c;
    mean_pool_rows(x, 1, pixels, se.channels, mean, se.channels);
    // Two matrix-vector products of at most 1024 x 64: too small to be worth a GEMM call.
    for (std::size_t j = 0; j < r; ++j) {
        double acc = static_cast<double>(se.fc1_bias[j]);
        for (std::size_t i = 0; i < c; ++i)
            acc += static_cast<double>(se.fc1[j * c + i]) * static_cast<double>(mean[i]);
        hidden[j] = std::max(static_cast<float>(acc), 0.0f);
    }
    for (std::size_t i = 0; i < c; ++i) {
        double acc = static_cast<double>(se.fc2_bias[i]);
        for (std::size_t j = 0; j < r; ++j)
            acc += static_cast<double>(se.fc2[i * r + j]) * static_cast<double>(hidden[j]);
        mean[i] = static_cast<float>(1.0 / (1.0 + std::exp(-acc)));  // the gate, reusing the mean's storage
    }
    for (std::size_t p = 0; p < static_cast<std::size_t>(pixels); ++p)
        for (std::size_t i = 0; i < c; ++i)
            x[p * c + i] *= mean[i];
}

}  // namespace hclip
