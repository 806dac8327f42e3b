// The convolution kernels of the ResNet tower against direct loops, and BatchNorm folding against a convolution
// followed by the BatchNorm it replaces.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/compute_pool.h"
#include "kernels/conv2d.h"
#include "kernels/pooling.h"
#include "model/batch_norm_fold.h"
#include "support/golden.h"
#include "support/random.h"

namespace hclip {
namespace {

struct ConvCase {
    const char* name;
    int batch, height, width, in, out, kernel, stride, padding;
};

class Conv2d : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2d, Im2colGemmMatchesDirectLoops) {
    const ConvCase& p = GetParam();
    const Conv2dShape shape{p.height, p.width, p.in, p.out, p.kernel, p.stride, p.padding};
    const auto out_count = static_cast<std::size_t>(p.batch * shape.out_height() * shape.out_width() * p.out);
    const auto input = testing::random_vector(static_cast<std::size_t>(p.batch * p.height * p.width * p.in), 11);
    const auto weight = testing::random_vector(static_cast<std::size_t>(p.out * p.kernel * p.kernel * p.in), 12);
    const auto bias = testing::random_vector(static_cast<std::size_t>(p.out), 13);
    std::vector<float> columns(shape.columns_floats()), got(out_count), want(out_count);
    for (bool relu : {false, true}) {
        Conv2dArgs a{.shape = shape,
                     .batch = p.batch,
                     .input = input.data(),
                     .weight = weight.data(),
                     .bias = bias.data(),
                     .relu = relu,
                     .output = got.data(),
                     .columns = columns.data()};
        conv2d_nhwc(a);
        a.output = want.data();
        conv2d_nhwc_reference(a);
        // float32 sums of up to 432 products of N(0, 1) values (sums of magnitude ~20) against a double
        // reference: the worst-case rounding is about 432 * 2^-24 * 20 = 5e-4.
        testing::expect_close(std::string(p.name) + (relu ? " relu" : ""), got, want, static_cast<std::size_t>(p.out),
                              1e-3);
        if (relu) {
            for (float v : got)
                ASSERT_GE(v, 0.0f);
        }
    }
}

const ConvCase kCases[] = {
    {"pointwise_batch2", 2, 7, 5, 16, 24, 1, 1, 0},
    {"k3_same", 1, 9, 9, 8, 12, 3, 1, 1},
    {"k3_stride2_odd", 2, 11, 13, 3, 8, 3, 2, 1},
    {"k3_stride2_even", 1, 12, 12, 48, 16, 3, 2, 1},
};

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2d, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ConvCase>& param_info) {
                             return std::string(param_info.param.name);
                         });

TEST(Conv2dShape, OutputSizeAndScratch) {
    const Conv2dShape stem{224, 224, 3, 32, 3, 2, 1};
    EXPECT_EQ(stem.out_height(), 112);
    EXPECT_EQ(stem.columns_floats(), 112u * 112u * 27u);
    const Conv2dShape pointwise{56, 56, 64, 256, 1, 1, 0};
    EXPECT_TRUE(pointwise.is_pointwise());
    EXPECT_EQ(pointwise.columns_floats(), 0u);
}

TEST(AvgPool, MeansEachWindowPerChannel) {
    // 1 image, 4x4, 2 channels: channel 0 = y * 4 + x, channel 1 = -(that).
    std::vector<float> in(32);
    for (int i = 0; i < 16; ++i) {
        in[static_cast<std::size_t>(2 * i)] = static_cast<float>(i);
        in[static_cast<std::size_t>(2 * i + 1)] = -static_cast<float>(i);
    }
    std::vector<float> out(8);
    avg_pool_nhwc(in.data(), 1, 4, 4, 2, 2, out.data());
    const float want[4] = {2.5f, 4.5f, 10.5f, 12.5f};  // (0+1+4+5)/4, (2+3+6+7)/4, ...
    for (int i = 0; i < 4; ++i) {
        EXPECT_FLOAT_EQ(out[static_cast<std::size_t>(2 * i)], want[i]);
        EXPECT_FLOAT_EQ(out[static_cast<std::size_t>(2 * i + 1)], -want[i]);
    }
}

// Pictures large enough to be split across the compute pool (a ResNet's anti-aliasing pools): every window's
// mean as the loops below compute it, the same bits on one thread and on the pool, the second image too.
TEST(AvgPool, LargePicturesSplitAcrossThePoolGiveTheSameMeans) {
    const int batch = 2, h = 18, w = 18, c = 320, k = 2;
    const auto in = testing::random_vector(static_cast<std::size_t>(batch * h * w * c), 31);
    const auto out_count = static_cast<std::size_t>(batch * (h / k) * (w / k) * c);
    std::vector<float> pooled(out_count), single(out_count), want(out_count);
    for (int b = 0; b < batch; ++b) {
        for (int y = 0; y < h / k; ++y) {
            for (int x = 0; x < w / k; ++x) {
                for (int ch = 0; ch < c; ++ch) {
                    double sum = 0.0;
                    for (int dy = 0; dy < k; ++dy) {
                        for (int dx = 0; dx < k; ++dx)
                            sum += static_cast<double>(
                                in[static_cast<std::size_t>(((b * h + y * k + dy) * w + x * k + dx) * c + ch)]);
                    }
                    want[static_cast<std::size_t>(((b * (h / k) + y) * (w / k) + x) * c + ch)] =
                        static_cast<float>(sum / (k * k));
                }
            }
        }
    }
    avg_pool_nhwc(in.data(), batch, h, w, c, k, pooled.data());
    set_compute_threads(1);
    avg_pool_nhwc(in.data(), batch, h, w, c, k, single.data());
    set_compute_threads(0);
    EXPECT_EQ(pooled, single);
    // Four float32 additions and a multiplication by 1/4: within a few ulps of the double mean.
    testing::expect_close("avg pool 2x2", pooled, want, static_cast<std::size_t>(c), 1e-6);
}

TEST(MeanPool, MeanOfAllPositions) {
    const std::vector<float> in = {1, 10, 2, 20, 3, 30, 6, 60};  // 4 positions, 2 channels
    std::vector<float> out(3, -1.0f);
    mean_pool_rows(in.data(), 1, 4, 2, out.data(), 3);
    EXPECT_FLOAT_EQ(out[0], 3.0f);
    EXPECT_FLOAT_EQ(out[1], 30.0f);
    EXPECT_FLOAT_EQ(out[2], -1.0f);  // beyond the row: untouched
}

// fold(conv, BN)(x) == BN(conv(x)) with BN(y) = (y - mean) / sqrt(var + eps) * gamma + beta, in double.
TEST(BatchNormFold, EqualsConvolutionThenBatchNorm) {
    const int in = 5, out = 4, k = 3, h = 6;
    const auto w = testing::random_vector(static_cast<std::size_t>(out * in * k * k), 21);  // [out, in, k, k]
    const std::vector<float> gamma = {1.5f, -0.5f, 0.25f, 2.0f}, beta = {0.1f, -0.2f, 0.3f, 0.0f},
                             mean = {0.3f, -0.1f, 0.0f, 1.0f}, var = {0.5f, 2.0f, 1e-6f, 0.0f};  // tiny: eps matters
    FoldedConv folded;
    folded.in = in;
    folded.out = out;
    folded.kernel = k;
    fold_batch_norm(w, {gamma, beta, mean, var}, kBatchNormEps, folded);
    const auto x = testing::random_vector(static_cast<std::size_t>(h * h * in), 22);  // NHWC
    std::vector<float> got(static_cast<std::size_t>(h * h * out));
    conv2d_nhwc_reference({.shape = folded.shape(h, h),
                           .input = x.data(),
                           .weight = folded.weight.data(),
                           .bias = folded.bias.data(),
                           .output = got.data()});
    for (int y = 0; y < h; ++y) {
        for (int xx = 0; xx < h; ++xx) {
            for (int o = 0; o < out; ++o) {
                double conv = 0.0;
                for (int c = 0; c < in; ++c) {
                    for (int ky = 0; ky < k; ++ky) {
                        for (int kx = 0; kx < k; ++kx) {
                            const int iy = y + ky - 1, ix = xx + kx - 1;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= h) continue;
                            conv += static_cast<double>(w[static_cast<std::size_t>(((o * in + c) * k + ky) * k + kx)]) *
                                    static_cast<double>(x[static_cast<std::size_t>((iy * h + ix) * in + c)]);
                        }
                    }
                }
                const auto oi = static_cast<std::size_t>(o);
                const double want = (conv - static_cast<double>(mean[oi])) /
                                        std::sqrt(static_cast<double>(var[oi]) + kBatchNormEps) *
                                        static_cast<double>(gamma[oi]) +
                                    static_cast<double>(beta[oi]);
                const float g = got[static_cast<std::size_t>((y * h + xx) * out + o)];
                EXPECT_NEAR(g, want, 1e-4 * std::max(1.0, std::fabs(want))) << "at " << y << "," << xx << "," << o;
            }
        }
    }
}

}  // namespace
}  // namespace hclip
