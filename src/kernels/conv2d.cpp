#include "kernels/conv2d.h"

#include <algorithm>
#include <cstring>

#include "kernels/gemm.h"
#include "kernels/ops.h"

namespace hclip {

namespace {

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

// out[m, n] = relu?(in[m, k] * W^T + bias), through the packed copy of W (bias and ReLU in its kernel) when
// there is one.
void gemm_rows(const Conv2dArgs& a, int m, int n, int k, const float* in, float* out) {
    const Epilogue epilogue{.bias = a.bias,
                            .activation = a.relu ? EpilogueActivation::kRelu : EpilogueActivation::kNone};
    if (a.packed_weight != nullptr) {
        gemm_f32_packed({.m = m, .a = in, .lda = k, .b = a.packed_weight, .c = out, .ldc = n, .epilogue = epilogue});
        return;
    }
    gemm_f32(
        {.m = m, .n = n, .k = k, .a = in, .lda = k, .b = a.weight, .ldb = k, .b_transposed = true, .c = out, .ldc = n});
    apply_epilogue(epilogue, out, n, out, n, m, n);
}

}  // namespace

std::size_t Conv2dShape::columns_floats() const {
    if (is_pointwise()) return 0;
    return sz(out_height() * out_width(), kernel * kernel * in_channels);
}

void im2col_nhwc(const float* image, const Conv2dShape& s, float* columns) {
    const int oh = s.out_height(), ow = s.out_width(), c = s.in_channels, k = s.kernel;
    const std::size_t row_len = sz(k * k, c);
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            float* dst = columns + sz(oy * ow + ox, 1) * row_len;
            for (int ky = 0; ky < k; ++ky) {
                const int iy = oy * s.stride - s.padding + ky;
                for (int kx = 0; kx < k; ++kx) {
                    const int ix = ox * s.stride - s.padding + kx;
                    float* d = dst + sz(ky * k + kx, c);
                    if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) {
                        std::fill_n(d, c, 0.0f);
                    } else {
                        std::memcpy(d, image + sz(iy * s.width + ix, c), sizeof(float) * static_cast<std::size_t>(c));
                    }
                }
            }
        }
    }
}

void conv2d_nhwc(const Conv2dArgs& a) {
    const Conv2dShape& s = a.shape;
    const int out_pixels = s.out_height() * s.out_width();
    const int k = s.kernel * s.kernel * s.in_channels;
    if (s.is_pointwise()) {
        // The activations are already the GEMM's left operand: every image of the batch in one product.
        gemm_rows(a, a.batch * out_pixels, s.out_channels, k, a.input, a.output);
        return;
    }
    for (int b = 0; b < a.batch; ++b) {
        im2col_nhwc(a.input + sz(b, s.height * s.width) * static_cast<std::size_t>(s.in_channels), s, a.columns);
        float* out = a.output + sz(b, out_pixels) * static_cast<std::size_t>(s.out_channels);
        gemm_rows(a, out_pixels, s.out_channels, k, a.columns, out);
    }
}

void conv2d_nhwc_reference(const Conv2dArgs& a) {
    const Conv2dShape& s = a.shape;
    const int oh = s.out_height(), ow = s.out_width(), ci = s.in_channels, k = s.kernel;
    for (int b = 0; b < a.batch; ++b) {
        const float* in = a.input + sz(b, s.height * s.width) * static_cast<std::size_t>(ci);
        float* out = a.output + sz(b, oh * ow) * static_cast<std::size_t>(s.out_channels);
        for (int oy = 0; oy < oh; ++oy) {
            for (int ox = 0; ox < ow; ++ox) {
                for (int o = 0; o < s.out_channels; ++o) {
                    double acc = a.bias != nullptr ? static_cast<double>(a.bias[o]) : 0.0;
                    for (int ky = 0; ky < k; ++ky) {
                        const int iy = oy * s.stride - s.padding + ky;
                        if (iy < 0 || iy >= s.height) continue;
                        for (int kx = 0; kx < k; ++kx) {
                            const int ix = ox * s.stride - s.padding + kx;
                            if (ix < 0 || ix >= s.width) continue;
                            const float* x = in + sz(iy * s.width + ix, ci);
                            const float* w =
                                a.weight + (sz(o, k * k) + sz(ky * k + kx, 1)) * static_cast<std::size_t>(ci);
                            for (int c = 0; c < ci; ++c)
                                acc += static_cast<double>(x[c]) * static_cast<double>(w[c]);
                        }
                    }
                    if (a.relu && acc < 0.0) acc = 0.0;
                    out[sz(oy * ow + ox, s.out_channels) + static_cast<std::size_t>(o)] = static_cast<float>(acc);
                }
            }
        }
    }
}

}  // namespace hclip
