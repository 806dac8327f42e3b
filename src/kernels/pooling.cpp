#include "kernels/pooling.h"

#include <algorithm>

#include "kernels/compute_pool.h"

namespace hclip {

void avg_pool_nhwc(const float* in, int batch, int height, int width, int channels, int k, float* out) {
    const int oh = height / k, ow = width / k;
    const auto c = static_cast<std::size_t>(channels);
    const float inv = 1.0f / static_cast<float>(k * k);
    // Output rows of one image [y0, y1); each output value sums its window in the same order wherever it runs.
    const auto rows = [&](const float* img, float* dst_img, int y0, int y1) {
        for (int oy = y0; oy < y1; ++oy) {
            for (int ox = 0; ox < ow; ++ox) {
                float* dst = dst_img + static_cast<std::size_t>(oy * ow + ox) * c;
                std::fill_n(dst, c, 0.0f);
                for (int ky = 0; ky < k; ++ky) {
                    for (int kx = 0; kx < k; ++kx) {
                        const float* src = img + static_cast<std::size_t>((oy * k + ky) * width + ox * k + kx) * c;
                        for (std::size_t i = 0; i < c; ++i)
                            dst[i] += src[i];
                    }
                }
                for (std::size_t i = 0; i < c; ++i)
                    dst[i] *= inv;
            }
        }
    };
    // A ResNet's anti-aliasing pools read up to 6.6 MB (RN50x4's 72x72x320): split by output rows, as the
    // element passes of ops.cpp are, above the same size.
    const std::size_t values = static_cast<std::size_t>(height) * static_cast<std::size_t>(width) * c;
    const int parts = values < kMinSplitValues ? 1 : machine_cores();
    for (int b = 0; b < batch; ++b) {
        const float* img = in + static_cast<std::size_t>(b) * static_cast<std::size_t>(height * width) * c;
        float* dst_img = out + static_cast<std::size_t>(b) * static_cast<std::size_t>(oh * ow) * c;
        parallel_ranges(oh, parts, [&](int y0, int y1) { rows(img, dst_img, y0, y1); });
    }
}

void mean_pool_rows(const float* in, int batch, int pixels, int channels, float* out, int ldo) {
    const auto c = static_cast<std::size_t>(channels);
    for (int b = 0; b < batch; ++b) {
        const float* img = in + static_cast<std::size_t>(b) * static_cast<std::size_t>(pixels) * c;
        float* dst = out + static_cast<std::size_t>(b) * static_cast<std::size_t>(ldo);
        for (std::size_t i = 0; i < c; ++i) {
            double sum = 0.0;  // a column sum over up to 196 positions: double keeps it exact to float
            for (int p = 0; p < pixels; ++p)
                sum += static_cast<double>(img[static_cast<std::size_t>(p) * c + i]);
            dst[i] = static_cast<float>(sum / pixels);
        }
    }
}

void add_relu_inplace(float* x, const float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        x[i] = std::max(x[i] + y[i], 0.0f);
}

}  // namespace hclip
