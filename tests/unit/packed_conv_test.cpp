// The direct convolution (kernels/packed_conv.h) against direct loops in double precision: strides, paddings and
// sizes whose row bands are uneven or a single row, with and without bias, ReLU and the residual add; the same
// result bit for bit on one thread, on the pool, and from several threads sharing one convolution; bf16 products
// against the loops on rounded inputs. Builds without the library must refuse to create one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "core/half.h"
#include "kernels/compute_pool.h"
#include "kernels/conv2d.h"
#include "kernels/packed_conv.h"
#include "support/golden.h"
#include "support/random.h"

namespace hclip {
namespace {

using testing::random_vector;

struct Case {
    const char* name;
    Conv2dShape shape;
};

const Case kCases[] = {
    {"stem_stride2_even", {12, 12, 3, 8, 3, 2, 1}},
    {"stride2_odd", {11, 13, 5, 7, 3, 2, 1}},
    {"k3_same", {9, 9, 16, 24, 3, 1, 1}},
    {"k3_one_row", {1, 6, 8, 8, 3, 1, 1}},
    {"k3_two_rows", {2, 3, 16, 16, 3, 1, 1}},
    {"pointwise", {7, 5, 32, 40, 1, 1, 0}},
    // Large enough to be split across the pool (more than 2^20 multiply-adds): by rows where the bands are large,
    // by output channels (uneven parts of 16-channel blocks) where they would be thin; odd sizes and strides too.
    {"k3_rows_split", {40, 40, 16, 16, 3, 1, 1}},
    {"k3_stride2_rows_split", {41, 39, 16, 24, 3, 2, 1}},
    {"k3_channels_split_9x9", {9, 9, 64, 80, 3, 1, 1}},
    {"k3_stride2_channels_split", {13, 11, 96, 48, 3, 2, 1}},
    {"pointwise_channels_split", {9, 9, 256, 112, 1, 1, 0}},
    {"pointwise_rows_split", {33, 31, 64, 64, 1, 1, 0}},
};

// How a case is split on a machine of `cores` cores (create's rule): by channels where a row band would have
// fewer than 64 pixels and every core gets at least one 16-channel block.
bool expect_channels(const Conv2dShape& s, int cores) {
    const int pixels_per_band = s.out_height() * s.out_width() / std::max(cores, 1);
    return cores > 1 && pixels_per_band < 64 && s.out_channels >= 16 * cores;
}

std::size_t out_size(const Conv2dShape& s) {
    return static_cast<std::size_t>(s.out_height()) * static_cast<std::size_t>(s.out_width()) *
           static_cast<std::size_t>(s.out_channels);
}

// relu?(conv(input) + bias + residual) with the double-precision loops.
std::vector<float> expected(const Conv2dShape& s, const std::vector<float>& input, const std::vector<float>& weight,
                            const float* bias, bool relu, const std::vector<float>* residual) {
    std::vector<float> out(out_size(s));
    conv2d_nhwc_reference(
        {.shape = s, .input = input.data(), .weight = weight.data(), .bias = bias, .output = out.data()});
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (residual != nullptr) out[i] += (*residual)[i];
        if (relu) out[i] = std::max(out[i], 0.0f);
    }
    return out;
}

class PackedConvShapes : public ::testing::TestWithParam<Case> {
  protected:
    void SetUp() override {
        if (!packed_conv_available()) GTEST_SKIP() << "this build has no direct convolution (see RefusedWithout...)";
    }
    void TearDown() override { set_compute_threads(0); }
};

TEST_P(PackedConvShapes, MatchesDirectLoopsWithEveryEpilogue) {
    const Conv2dShape& s = GetParam().shape;
    const auto input = random_vector(static_cast<std::size_t>(s.height * s.width * s.in_channels), 1);
    const auto weight =
        random_vector(static_cast<std::size_t>(s.out_channels * s.kernel * s.kernel * s.in_channels), 2);
    const auto bias = random_vector(static_cast<std::size_t>(s.out_channels), 3);
    const auto residual = random_vector(out_size(s), 4);
    for (const bool with_bias : {false, true}) {
        for (const bool relu : {false, true}) {
            for (const bool accumulate : {false, true}) {
                const std::string what = std::string(GetParam().name) + (with_bias ? " bias" : "") +
                                         (relu ? " relu" : "") + (accumulate ? " residual" : "");
                auto conv = PackedConv::create(weight.data(), with_bias ? bias.data() : nullptr,
                                               {.shape = s, .relu = relu, .accumulate = accumulate});
                ASSERT_TRUE(conv.ok()) << what << ": " << conv.status().to_string();
                EXPECT_FALSE((*conv)->implementation().empty());
                EXPECT_EQ((*conv)->split_by_channels(), expect_channels(s, machine_cores()));
                EXPECT_GE((*conv)->tasks(), 1);
                EXPECT_GE((*conv)->bytes(), weight.size() * sizeof(float));
                std::vector<float> got = accumulate ? residual : std::vector<float>(out_size(s), 7.0f);
                (*conv)->run(input.data(), got.data());
                // float32 sums of up to 576 products of N(0, 1) values against a double reference: as conv2d's
                // test, about k * 2^-24 * |sum| stays below 1e-3.
                testing::expect_close(what, got,
                                      expected(s, input, weight, with_bias ? bias.data() : nullptr, relu,
                                               accumulate ? &residual : nullptr),
                                      static_cast<std::size_t>(s.out_channels), 1e-3);
            }
        }
    }
}

TEST_P(PackedConvShapes, SameBitsOnOneThreadOnThePoolAndFromSeveralThreads) {
    const Conv2dShape& s = GetParam().shape;
    const auto weight =
        random_vector(static_cast<std::size_t>(s.out_channels * s.kernel * s.kernel * s.in_channels), 5);
    const auto bias = random_vector(static_cast<std::size_t>(s.out_channels), 6);
    auto conv = PackedConv::create(weight.data(), bias.data(), {.shape = s, .relu = true});
    ASSERT_TRUE(conv.ok()) << conv.status().to_string();
    std::vector<std::vector<float>> inputs, single;
    for (unsigned i = 0; i < 4; ++i) {
        inputs.push_back(random_vector(static_cast<std::size_t>(s.height * s.width * s.in_channels), 10 + i));
        single.emplace_back(out_size(s));
    }
    set_compute_threads(1);
    for (std::size_t i = 0; i < inputs.size(); ++i)
        (*conv)->run(inputs[i].data(), single[i].data());
    set_compute_threads(0);
    std::vector<float> pooled(out_size(s));
    (*conv)->run(inputs[0].data(), pooled.data());
    EXPECT_EQ(pooled, single[0]);
    // Four threads run the same convolution at once, each on its own picture, several times.
    std::vector<std::vector<float>> concurrent(inputs.size(), std::vector<float>(out_size(s)));
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        threads.emplace_back([&, i] {
            for (int repeat = 0; repeat < 5; ++repeat)
                (*conv)->run(inputs[i].data(), concurrent[i].data());
        });
    }
    for (std::thread& t : threads)
        t.join();
    for (std::size_t i = 0; i < inputs.size(); ++i)
        EXPECT_EQ(concurrent[i], single[i]) << "picture " << i;
}

INSTANTIATE_TEST_SUITE_P(Shapes, PackedConvShapes, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                             return std::string(param_info.param.name);
                         });

std::vector<float> rounded_to_bf16(std::vector<float> v) {
    for (float& x : v)
        x = bf16_to_f32(f32_to_bf16(x));
    return v;
}

TEST(PackedConvBf16, ExactProductsOfRoundedInputsWithFloat32Accumulation) {
    if (!packed_conv_available()) GTEST_SKIP() << "this build has no direct convolution";
    if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
    const Conv2dShape s{18, 18, 64, 64, 3, 1, 1};
    const auto input = random_vector(static_cast<std::size_t>(s.height * s.width * s.in_channels), 21);
    const auto weight =
        random_vector(static_cast<std::size_t>(s.out_channels * s.kernel * s.kernel * s.in_channels), 22);
    const auto bias = random_vector(static_cast<std::size_t>(s.out_channels), 23);
    const auto residual = random_vector(out_size(s), 24);
    auto conv = PackedConv::create(weight.data(), bias.data(),
                                   {.shape = s, .relu = true, .accumulate = true, .type = PackedType::kBf16});
    ASSERT_TRUE(conv.ok()) << conv.status().to_string();
    EXPECT_EQ((*conv)->spec().type, PackedType::kBf16);
    EXPECT_LT((*conv)->bytes(), weight.size() * sizeof(float)) << "bf16 weights take 2 bytes each";
    std::vector<float> got = residual;
    (*conv)->run(input.data(), got.data());
    const auto input_bf16 = rounded_to_bf16(input), weight_bf16 = rounded_to_bf16(weight);
    // The products of two bf16 numbers are exact in float32: only float32 accumulation error remains.
    testing::expect_close("bf16 against rounded inputs", got,
                          expected(s, input_bf16, weight_bf16, bias.data(), true, &residual),
                          static_cast<std::size_t>(s.out_channels), 1e-3);
    // And both operands really are rounded: against float32 inputs the result is much further off.
    const auto exact = expected(s, input, weight, bias.data(), true, &residual);
    EXPECT_GT(testing::max_abs_difference(got, exact).max_abs, 0.05);
}

// A bf16 output (for a next convolution with bf16 products) is the float32 output rounded to nearest even, bit for
// bit, on row bands and on channel parts; and that next convolution reading it gives the same bits as reading the
// float32 output and rounding it itself.
TEST(PackedConvBf16, Bf16OutputIsTheFloat32OutputRoundedAndChainsToTheSameBits) {
    if (!packed_conv_available()) GTEST_SKIP() << "this build has no direct convolution";
    if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
    // 18x18: row bands; 9x9 with 64 outputs: channel parts wherever there is more than one core.
    for (const Conv2dShape s : {Conv2dShape{18, 18, 64, 64, 3, 1, 1}, Conv2dShape{9, 9, 64, 64, 3, 1, 1},
                                Conv2dShape{9, 9, 96, 64, 1, 1, 0}}) {
        SCOPED_TRACE(std::to_string(s.height) + "x" + std::to_string(s.width) + " " + std::to_string(s.kernel) + "x" +
                     std::to_string(s.kernel));
        const auto input = random_vector(static_cast<std::size_t>(s.height * s.width * s.in_channels), 31);
        const auto weight =
            random_vector(static_cast<std::size_t>(s.out_channels * s.kernel * s.kernel * s.in_channels), 32);
        const auto bias = random_vector(static_cast<std::size_t>(s.out_channels), 33);
        const PackedConvSpec f32_out{.shape = s, .relu = true, .type = PackedType::kBf16};
        PackedConvSpec bf16_out = f32_out;
        bf16_out.bf16_output = true;
        auto wide = PackedConv::create(weight.data(), bias.data(), f32_out);
        auto narrow = PackedConv::create(weight.data(), bias.data(), bf16_out);
        ASSERT_TRUE(wide.ok()) << wide.status().to_string();
        ASSERT_TRUE(narrow.ok()) << narrow.status().to_string();
        if (s.height == 9 && machine_cores() > 1) {
            EXPECT_TRUE((*narrow)->split_by_channels()) << "the staged channel parts go untested";
        }
        std::vector<float> f32(out_size(s));
        std::vector<std::uint16_t> bf16(out_size(s), 0xffff);
        (*wide)->run(input.data(), f32.data());
        (*narrow)->run(input.data(), bf16.data());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < f32.size(); ++i)
            differ += bf16[i] != f32_to_bf16(f32[i]);
        EXPECT_EQ(differ, 0u) << "of " << f32.size();

        // The next convolution (same channels in, 3x3) from either.
        const Conv2dShape next{s.out_height(), s.out_width(), s.out_channels, 32, 3, 1, 1};
        const auto next_weight = random_vector(static_cast<std::size_t>(32 * 9 * s.out_channels), 34);
        auto reader = PackedConv::create(next_weight.data(), nullptr, {.shape = next, .type = PackedType::kBf16});
        ASSERT_TRUE(reader.ok()) << reader.status().to_string();
        std::vector<float> from_f32(out_size(next)), from_bf16(out_size(next));
        (*reader)->run(f32.data(), from_f32.data());
        (*reader)->run(bf16.data(), from_bf16.data(), ConvInput::kBf16);
        EXPECT_EQ(from_f32, from_bf16);
    }
}

TEST(PackedConvBf16, Bf16OutputNeedsBf16ProductsAndNoResidualSum) {
    if (!packed_conv_available()) GTEST_SKIP() << "this build has no direct convolution";
    const std::vector<float> weight(8 * 9 * 4, 1.0f);
    const Conv2dShape s{6, 6, 4, 8, 3, 1, 1};
    EXPECT_EQ(PackedConv::create(weight.data(), nullptr, {.shape = s, .bf16_output = true}).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(PackedConv::create(weight.data(), nullptr,
                                 {.shape = s, .accumulate = true, .type = PackedType::kBf16, .bf16_output = true})
                  .status()
                  .code(),
              StatusCode::kInvalidArgument);
}

TEST(PackedConv, RefusedWithoutTheLibraryAndForBadShapes) {
    const std::vector<float> weight(8 * 9 * 4, 1.0f);
    const Conv2dShape good{6, 6, 4, 8, 3, 1, 1};
    auto conv = PackedConv::create(weight.data(), nullptr, {.shape = good});
    if (packed_conv_available()) {
        EXPECT_TRUE(conv.ok()) << conv.status().to_string();
    } else {
        EXPECT_EQ(conv.status().code(), StatusCode::kUnsupported);
    }
    const Conv2dShape empty{0, 6, 4, 8, 3, 1, 1};
    if (packed_conv_available()) {
        EXPECT_EQ(PackedConv::create(weight.data(), nullptr, {.shape = empty}).status().code(),
                  StatusCode::kInvalidArgument);
        EXPECT_EQ(PackedConv::create(nullptr, nullptr, {.shape = good}).status().code(), StatusCode::kInvalidArgument);
    }
}

}  // namespace
}  // namespace hclip
