#include "kernels/ops.h"

#include <algorithm>
#include <cmath>

namespace hclip {

void layer_norm_rows(const float* x, int ldx, float* y, int ldy, int rows, int cols, const float* gamma,
                     const float* beta, float eps) {
    for (int r = 0; r < rows; ++r) {
        const float* xr = x + static_cast<std::ptrdiff_t>(r) * ldx;
        float* yr = y + static_cast<std::ptrdiff_t>(r) * ldy;
        // Two passes (mean, then centred variance) in double: robust where activations grow large.
        double sum = 0.0;
        for (int c = 0; c < cols; ++c)
            sum += static_cast<double>(xr[c]);
        const double mean = sum / cols;
        double sq = 0.0;
        for (int c = 0; c < cols; ++c) {
            const double d = static_cast<double>(xr[c]) - mean;
            sq += d * d;
        }
        const float inv_std = static_cast<float>(1.0 / std::sqrt(sq / cols + static_cast<double>(eps)));
        const float m = static_cast<float>(mean);
        for (int c = 0; c < cols; ++c)
            yr[c] = (xr[c] - m) * inv_std * gamma[c] + beta[c];
    }
}

void add_bias_rows(float* x, int ldx, int rows, int cols, const float* bias) {
    for (int r = 0; r < rows; ++r) {
        float* xr = x + static_cast<std::ptrdiff_t>(r) * ldx;
        for (int c = 0; c < cols; ++c)
            xr[c] += bias[c];
    }
}

void add_inplace(float* x, const float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        x[i] += y[i];
}

void quick_gelu_inplace(float* x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        x[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
}

void gelu_inplace(float* x, std::size_t n) {
    constexpr float kInvSqrt2 = 0.70710678118654752f;
    for (std::size_t i = 0; i < n; ++i)
        x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
}

void softmax_rows(float* x, int ldx, int rows, int cols, bool causal) {
    for (int r = 0; r < rows; ++r) {
        float* xr = x + static_cast<std::ptrdiff_t>(r) * ldx;
        const int visible = causal ? std::min(r + 1, cols) : cols;
        float mx = xr[0];
        for (int c = 1; c < visible; ++c)
            mx = std::max(mx, xr[c]);
        float sum = 0.0f;
        for (int c = 0; c < visible; ++c) {
            xr[c] = std::exp(xr[c] - mx);
            sum += xr[c];
        }
        const float inv = 1.0f / sum;
        for (int c = 0; c < visible; ++c)
            xr[c] *= inv;
        for (int c = visible; c < cols; ++c)
            xr[c] = 0.0f;
    }
}

}  // namespace hclip
