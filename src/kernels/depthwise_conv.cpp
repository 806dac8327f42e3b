#include "kernels/depthwise_conv.h"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "kernels/compute_pool.h"

namespace hclip {

namespace {

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

// acc[c] += x[c] * w[c] over `n` channels; restrict lets the compiler vectorise without alias checks.
void multiply_add(float* __restrict acc, const float* __restrict x, const float* __restrict w, int n) {
    for (int c = 0; c < n; ++c)
        acc[c] += x[c] * w[c];
}

// The same with `mult` outputs per input channel: acc[c * mult + m] += x[c] * w[c * mult + m].
void multiply_add_grouped(float* __restrict acc, const float* __restrict x, const float* __restrict w, int in,
                          int mult) {
    for (int c = 0; c < in; ++c)
        for (int m = 0; m < mult; ++m)
            acc[c * mult + m] += x[c] * w[c * mult + m];
}

// One output row.
void output_row(const DepthwiseConvArgs& a, int oy) {
    const int ow = a.out_width(), pad = a.kernel / 2, ci = a.in_channels, co = a.out_channels, mult = co / ci;
    for (int ox = 0; ox < ow; ++ox) {
        float* acc = a.output + sz(oy * ow + ox, co);
        if (a.bias != nullptr)
            std::copy_n(a.bias, co, acc);
        else
            std::fill_n(acc, co, 0.0f);
        for (int ky = 0; ky < a.kernel; ++ky) {
            const int iy = oy * a.stride - pad + ky;
            if (iy < 0 || iy >= a.height) continue;
            for (int kx = 0; kx < a.kernel; ++kx) {
                const int ix = ox * a.stride - pad + kx;
                if (ix < 0 || ix >= a.width) continue;
                const float* x = a.input + sz(iy * a.width + ix, ci);
                const float* w = a.weight + sz(ky * a.kernel + kx, co);
                if (mult == 1)
                    multiply_add(acc, x, w, co);
                else
                    multiply_add_grouped(acc, x, w, ci, mult);
            }
        }
    }
}

}  // namespace

void depthwise_conv_nhwc(const DepthwiseConvArgs& a) {
    const int oh = a.out_height();
    const double work = static_cast<double>(oh) * a.out_width() * a.out_channels * a.kernel * a.kernel;
    if (work < kMinSplitMultiplyAdds) {
        for (int oy = 0; oy < oh; ++oy)
            output_row(a, oy);
        return;
    }
    // Rows are independent and each is computed the same way whoever computes it: the same bits on any threads.
    parallel_for(oh, [&a](int oy) { output_row(a, oy); });
}

void depthwise_conv_nhwc_reference(const DepthwiseConvArgs& a) {
    const int oh = a.out_height(), ow = a.out_width(), pad = a.kernel / 2, co = a.out_channels;
    const int mult = co / a.in_channels;
    for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
            for (int o = 0; o < co; ++o) {
                double acc = a.bias != nullptr ? static_cast<double>(a.bias[o]) : 0.0;
                for (int ky = 0; ky < a.kernel; ++ky) {
                    for (int kx = 0; kx < a.kernel; ++kx) {
                        const int iy = oy * a.stride - pad + ky, ix = ox * a.stride - pad + kx;
                        if (iy < 0 || iy >= a.height || ix < 0 || ix >= a.width) continue;
                        acc += static_cast<double>(
                                   a.input[sz(iy * a.width + ix, a.in_channels) + static_cast<std::size_t>(o / mult)]) *
                               static_cast<double>(a.weight[sz(ky * a.kernel + kx, co) + static_cast<std::size_t>(o)]);
                    }
                }
                a.output[sz(oy * ow + ox, co) + static_cast<std::size_t>(o)] = static_cast<float>(acc);
            }
        }
    }
}

}  // namespace hclip
