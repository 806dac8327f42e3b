// Structural reparameterization: a multi-branch block computed branch by branch (each convolution, then its
// BatchNorm, then the sum, in double, as timm's training-form forward does) against the one folded convolution the
// loader makes of it, on random inputs. And the grouped convolution kernel against its reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/conv2d.h"
#include "kernels/depthwise_conv.h"
#include "model/mobileone_fold.h"
#include "support/golden.h"

namespace hclip {
namespace {

// Folded and unfolded differ only by float rounding of the folded kernel and the float accumulation.
constexpr double kFoldTolerance = 1e-5;

std::vector<float> random_vector(std::mt19937& rng, std::size_t n, float low, float high) {
    std::uniform_real_distribution<float> d(low, high);
    std::vector<float> v(n);
    for (float& x : v)
        x = d(rng);
    return v;
}

struct Bn {
    std::vector<float> gamma, beta, mean, var;
    BatchNormStats stats() const { return {gamma, beta, mean, var}; }
    double apply(int c, double x) const {
        const auto i = static_cast<std::size_t>(c);
        return (x - static_cast<double>(mean[i])) / std::sqrt(static_cast<double>(var[i]) + kBatchNormEps) *
                   static_cast<double>(gamma[i]) +
               static_cast<double>(beta[i]);
    }
};

Bn random_bn(std::mt19937& rng, int channels) {
    const auto n = static_cast<std::size_t>(channels);
    return {random_vector(rng, n, 0.5f, 1.5f), random_vector(rng, n, -0.5f, 0.5f), random_vector(rng, n, -0.5f, 0.5f),
            random_vector(rng, n, 0.2f, 2.0f)};
}

// A grouped convolution the way PyTorch defines it, on an NHWC image, in double: weight [out, in/groups, k, k],
// padding k / 2.
struct Image {
    int size = 0, channels = 0;
    std::vector<float> data;  // NHWC
    double at(int y, int x, int c) const {
        return static_cast<double>(data[(static_cast<std::size_t>(y * size + x)) * static_cast<std::size_t>(channels) +
                                        static_cast<std::size_t>(c)]);
    }
};

std::vector<double> torch_conv(const Image& in, std::span<const float> w, int out, int groups, int k, int stride,
                               int out_size) {
    const int ipg = in.channels / groups, opg = out / groups, pad = k / 2;
    std::vector<double> y(static_cast<std::size_t>(out_size * out_size * out), 0.0);
    for (int oy = 0; oy < out_size; ++oy)
        for (int ox = 0; ox < out_size; ++ox)
            for (int o = 0; o < out; ++o) {
                double acc = 0.0;
                const int g = o / opg;
                for (int c = 0; c < ipg; ++c)
                    for (int ky = 0; ky < k; ++ky)
                        for (int kx = 0; kx < k; ++kx) {
                            const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                            if (iy < 0 || iy >= in.size || ix < 0 || ix >= in.size) continue;
                            acc += in.at(iy, ix, g * ipg + c) *
                                   static_cast<double>(w[((static_cast<std::size_t>(o) * static_cast<std::size_t>(ipg) +
                                                           static_cast<std::size_t>(c)) *
                                                              static_cast<std::size_t>(k) +
                                                          static_cast<std::size_t>(ky)) *
                                                             static_cast<std::size_t>(k) +
                                                         static_cast<std::size_t>(kx)]);
                        }
                y[(static_cast<std::size_t>(oy * out_size + ox)) * static_cast<std::size_t>(out) +
                  static_cast<std::size_t>(o)] = acc;
            }
    return y;
}

// sum over branches of BN_b(conv_b(x)), plus BN_id(x) when `identity` is given.
struct Branch {
    std::vector<float> weight;
    int kernel = 3;
    Bn bn;
};

std::vector<float> unfolded(const Image& in, const std::vector<Branch>& branches, const Bn* identity, int out,
                            int groups, int stride, int out_size) {
    std::vector<double> sum(static_cast<std::size_t>(out_size * out_size * out), 0.0);
    for (const Branch& b : branches) {
        const auto y = torch_conv(in, b.weight, out, groups, b.kernel, stride, out_size);
        for (std::size_t i = 0; i < y.size(); ++i)
            sum[i] += b.bn.apply(static_cast<int>(i % static_cast<std::size_t>(out)), y[i]);
    }
    if (identity != nullptr) {
        for (std::size_t i = 0; i < sum.size(); ++i) {
            const int c = static_cast<int>(i % static_cast<std::size_t>(out));
            sum[i] += identity->apply(c, static_cast<double>(in.data[i]));
        }
    }
    return {sum.begin(), sum.end()};
}

Branch random_branch(std::mt19937& rng, int out, int ipg, int k) {
    return {random_vector(rng, static_cast<std::size_t>(out * ipg * k * k), -0.5f, 0.5f), k, random_bn(rng, out)};
}

TEST(MobileOneFold, DepthwiseBlockWithEveryBranchFoldsExactly) {
    std::mt19937 rng(7);
    const int c = 12, size = 9;
    const Image in{size, c, random_vector(rng, static_cast<std::size_t>(size * size * c), -1.0f, 1.0f)};
    const std::vector<Branch> branches = {random_branch(rng, c, 1, 3), random_branch(rng, c, 1, 3),
                                          random_branch(rng, c, 1, 1)};
    const Bn identity = random_bn(rng, c);
    const auto want = unfolded(in, branches, &identity, c, c, 1, size);

    RepKernel k = RepKernel::zeros(c, 1, 3);
    for (const Branch& b : branches)
        add_conv_bn(k, b.weight, b.kernel, b.bn.stats(), kBatchNormEps);
    add_identity_bn(k, identity.stats(), kBatchNormEps);
    const DepthwiseConv d = to_depthwise_conv(k, c, 1);
    std::vector<float> got(want.size());
    depthwise_conv_nhwc({.height = size,
                         .width = size,
                         .in_channels = c,
                         .out_channels = c,
                         .kernel = 3,
                         .stride = 1,
                         .input = in.data.data(),
                         .weight = d.weight.data(),
                         .bias = d.bias.data(),
                         .output = got.data()});
    testing::expect_close("folded depthwise MobileOne block", got, want, static_cast<std::size_t>(c), kFoldTolerance);
}

TEST(MobileOneFold, DenseStridedBlockFoldsExactly) {
    std::mt19937 rng(8);
    const int in_c = 5, out_c = 7, size = 10, out_size = 5;
    const Image in{size, in_c, random_vector(rng, static_cast<std::size_t>(size * size * in_c), -1.0f, 1.0f)};
    const std::vector<Branch> branches = {random_branch(rng, out_c, in_c, 3), random_branch(rng, out_c, in_c, 1)};
    const auto want = unfolded(in, branches, nullptr, out_c, 1, 2, out_size);

    RepKernel k = RepKernel::zeros(out_c, in_c, 3);
    for (const Branch& b : branches)
        add_conv_bn(k, b.weight, b.kernel, b.bn.stats(), kBatchNormEps);
    const FoldedConv f = to_dense_conv(k, 2);
    const Conv2dShape shape = f.shape(size, size);
    ASSERT_EQ(shape.out_height(), out_size);
    std::vector<float> got(want.size()), columns(shape.columns_floats());
    conv2d_nhwc({.shape = shape,
                 .input = in.data.data(),
                 .weight = f.weight.data(),
                 .bias = f.bias.data(),
                 .output = got.data(),
                 .columns = columns.data()});
    testing::expect_close("folded dense MobileOne block", got, want, static_cast<std::size_t>(out_c), kFoldTolerance);
}

// ReparamLargeKernelConv: 7x7 and 3x3 branches, stride 2, two outputs per input channel.
TEST(MobileOneFold, LargeAndSmallKernelsWithAChannelMultiplierFoldExactly) {
    std::mt19937 rng(9);
    const int in_c = 4, out_c = 8, size = 11, out_size = 6;
    const Image in{size, in_c, random_vector(rng, static_cast<std::size_t>(size * size * in_c), -1.0f, 1.0f)};
    const std::vector<Branch> branches = {random_branch(rng, out_c, 1, 7), random_branch(rng, out_c, 1, 3)};
    const auto want = unfolded(in, branches, nullptr, out_c, in_c, 2, out_size);

    RepKernel k = RepKernel::zeros(out_c, 1, 7);
    for (const Branch& b : branches)
        add_conv_bn(k, b.weight, b.kernel, b.bn.stats(), kBatchNormEps);
    const DepthwiseConv d = to_depthwise_conv(k, in_c, 2);
    ASSERT_EQ(d.out_size(size), out_size);
    std::vector<float> got(want.size());
    depthwise_conv_nhwc({.height = size,
                         .width = size,
                         .in_channels = in_c,
                         .out_channels = out_c,
                         .kernel = 7,
                         .stride = 2,
                         .input = in.data.data(),
                         .weight = d.weight.data(),
                         .bias = d.bias.data(),
                         .output = got.data()});
    testing::expect_close("folded large-kernel conv", got, want, static_cast<std::size_t>(out_c), kFoldTolerance);
}

// RepMixer: x + gamma * (mixer(x) - norm(x)), mixer = 3x3 + 1x1 + identity BN, norm = identity BN.
TEST(MobileOneFold, RepMixerWithLayerScaleFoldsExactly) {
    std::mt19937 rng(10);
    const int c = 6, size = 8;
    const Image in{size, c, random_vector(rng, static_cast<std::size_t>(size * size * c), -1.0f, 1.0f)};
    const std::vector<Branch> mixer = {random_branch(rng, c, 1, 3), random_branch(rng, c, 1, 1)};
    const Bn mixer_id = random_bn(rng, c), norm_id = random_bn(rng, c);
    const auto gamma = random_vector(rng, static_cast<std::size_t>(c), -1.0f, 1.0f);
    const auto m = unfolded(in, mixer, &mixer_id, c, c, 1, size);
    const auto n = unfolded(in, {}, &norm_id, c, c, 1, size);
    std::vector<float> want(m.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto ch = i % static_cast<std::size_t>(c);
        want[i] = static_cast<float>(static_cast<double>(in.data[i]) +
                                     static_cast<double>(gamma[ch]) *
                                         (static_cast<double>(m[i]) - static_cast<double>(n[i])));
    }

    RepKernel km = RepKernel::zeros(c, 1, 3), kn = RepKernel::zeros(c, 1, 3), id = RepKernel::zeros(c, 1, 3);
    for (const Branch& b : mixer)
        add_conv_bn(km, b.weight, b.kernel, b.bn.stats(), kBatchNormEps);
    add_identity_bn(km, mixer_id.stats(), kBatchNormEps);
    add_identity_bn(kn, norm_id.stats(), kBatchNormEps);
    add_identity(id, 1.0);
    const DepthwiseConv d = to_depthwise_conv(combine_scaled_difference(id, km, kn, gamma), c, 1);
    std::vector<float> got(want.size());
    depthwise_conv_nhwc({.height = size,
                         .width = size,
                         .in_channels = c,
                         .out_channels = c,
                         .kernel = 3,
                         .stride = 1,
                         .input = in.data.data(),
                         .weight = d.weight.data(),
                         .bias = d.bias.data(),
                         .output = got.data()});
    testing::expect_close("folded RepMixer", got, want, static_cast<std::size_t>(c), kFoldTolerance);
}

TEST(DepthwiseConv, MatchesReferenceForEveryShapeTheTowerUses) {
    std::mt19937 rng(11);
    struct Case {
        int in, out, kernel, stride, size;
    };
    // Sizes big enough that the largest case is split across the compute pool.
    for (const Case& c : {Case{16, 16, 3, 1, 13}, Case{16, 16, 3, 2, 13}, Case{8, 16, 7, 2, 14}, Case{32, 32, 7, 1, 12},
                          Case{24, 48, 3, 1, 9}, Case{64, 64, 7, 1, 64}}) {
        DepthwiseConvArgs a{.height = c.size,
                            .width = c.size,
                            .in_channels = c.in,
                            .out_channels = c.out,
                            .kernel = c.kernel,
                            .stride = c.stride};
        const auto x = random_vector(rng, static_cast<std::size_t>(c.size * c.size * c.in), -1.0f, 1.0f);
        const auto w = random_vector(rng, static_cast<std::size_t>(c.kernel * c.kernel * c.out), -1.0f, 1.0f);
        const auto b = random_vector(rng, static_cast<std::size_t>(c.out), -1.0f, 1.0f);
        const std::size_t n = static_cast<std::size_t>(a.out_height() * a.out_width() * c.out);
        std::vector<float> got(n), want(n);
        a.input = x.data();
        a.weight = w.data();
        a.bias = b.data();
        a.output = got.data();
        depthwise_conv_nhwc(a);
        a.output = want.data();
        depthwise_conv_nhwc_reference(a);
        testing::expect_close("depthwise " + std::to_string(c.in) + "->" + std::to_string(c.out) + " k" +
                                  std::to_string(c.kernel) + " s" + std::to_string(c.stride),
                              got, want, static_cast<std::size_t>(c.out), 1e-5);
    }
}

}  // namespace
}  // namespace hclip
