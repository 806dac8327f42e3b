// The 16-bit weight conversions (core/half.h) and the GEMM with 16-bit weights (kernels/half_gemm.h).
#include "kernels/half_gemm.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <iostream>
#include <tuple>
#include <vector>

#include "core/half.h"
#include "kernels/compute_pool.h"
#include "support/random.h"

namespace hclip {
namespace {

float widen(HalfType type, std::uint16_t h) {
    return type == HalfType::kBf16 ? bf16_to_f32(h) : f16_to_f32(h);
}

std::uint16_t narrow(HalfType type, float f) {
    return type == HalfType::kBf16 ? f32_to_bf16(f) : f32_to_f16(f);
}

class HalfTypes : public ::testing::TestWithParam<HalfType> {};

TEST_P(HalfTypes, VectorizedWideningEqualsScalarForEveryValue) {
    std::vector<std::uint16_t> all(65536);
    for (std::size_t i = 0; i < all.size(); ++i)
        all[i] = static_cast<std::uint16_t>(i);
    std::vector<float> wide(all.size());
    widen_half(GetParam(), all.data(), all.size(), wide.data());
    for (std::size_t i = 0; i < all.size(); ++i) {
        ASSERT_EQ(std::bit_cast<std::uint32_t>(wide[i]), std::bit_cast<std::uint32_t>(widen(GetParam(), all[i])))
            << "input 0x" << std::hex << i;
    }
}

TEST_P(HalfTypes, NarrowingRoundsToNearestEven) {
    const HalfType t = GetParam();
    const std::uint16_t last_finite = t == HalfType::kBf16 ? 0x7f7f : 0x7bff;
    for (std::uint32_t h = 0; h <= last_finite; ++h) {
        for (std::uint32_t sign : {0u, 0x8000u}) {
            const auto value = static_cast<std::uint16_t>(h | sign);
            ASSERT_EQ(narrow(t, widen(t, value)), value) << "round trip of 0x" << std::hex << value;
        }
        if (h == last_finite) break;
        // The midpoint between two neighbours is exact in float32 (one more mantissa bit); it goes to the even one,
        // and one float32 step either side of it goes to the nearer one.
        const float lo = widen(t, static_cast<std::uint16_t>(h)), hi = widen(t, static_cast<std::uint16_t>(h + 1));
        const float mid = static_cast<float>((static_cast<double>(lo) + static_cast<double>(hi)) / 2.0);
        const auto even = static_cast<std::uint16_t>((h % 2 == 0) ? h : h + 1);
        ASSERT_EQ(narrow(t, mid), even) << "midpoint after 0x" << std::hex << h;
        ASSERT_EQ(narrow(t, std::nextafter(mid, 0.0f)), h) << "just below the midpoint after 0x" << std::hex << h;
        ASSERT_EQ(narrow(t, std::nextafter(mid, INFINITY)), h + 1)
            << "just above the midpoint after 0x" << std::hex << h;
        ASSERT_EQ(narrow(t, -mid), even | 0x8000u);
    }
    EXPECT_TRUE(std::isinf(widen(t, narrow(t, INFINITY))));
    EXPECT_TRUE(std::isnan(widen(t, narrow(t, NAN))));
}

INSTANTIATE_TEST_SUITE_P(Both, HalfTypes, ::testing::Values(HalfType::kBf16, HalfType::kF16),
                         [](const auto& param_info) { return std::string(half_type_name(param_info.param)); });

TEST(HalfNarrowing, Float16OverflowAndSmallestSubnormal) {
    EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
    EXPECT_EQ(f32_to_f16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
    EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // the tie rounds to even: infinity
    EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);
    EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);  // tie between 0 and the smallest subnormal: even is 0
    EXPECT_EQ(f32_to_f16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
}

// A * round16(W)^T against the double-precision reference, for shapes on both sides of the direct kernel's row
// limit, with tails in every dimension, on one part and split across the pool.
class HalfGemmShapes : public ::testing::TestWithParam<std::tuple<HalfType, int, int, int>> {};

TEST_P(HalfGemmShapes, MatchesDoubleReferenceOfRoundedWeights) {
    const auto [type, m, n, k] = GetParam();
    const int lda = k + 3, ldc = n + 5;  // strided A and C: the kernel must honour the leading dimensions
    const auto a = testing::random_vector(static_cast<std::size_t>(m) * lda, 1);
    const auto w32 = testing::random_vector(static_cast<std::size_t>(n) * k, 2);
    std::vector<std::uint16_t> w(w32.size());
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = narrow(type, w32[i]);
    std::vector<float> c(static_cast<std::size_t>(m) * ldc, 7.0f), ref = c;
    const HalfGemmArgs args{
        .m = m, .n = n, .k = k, .a = a.data(), .lda = lda, .w = w.data(), .type = type, .c = c.data(), .ldc = ldc};
    gemm_f32_half_weights(args);
    HalfGemmArgs ref_args = args;
    ref_args.c = ref.data();
    gemm_f32_half_weights_reference(ref_args);

    double worst = 0.0;
    double unrounded_deviation = 0.0;
    for (int i = 0; i < m; ++i) {
        for (int j = 0; j < n; ++j) {
            // Float32 accumulation error scales with sum |a w| (random signs cancel in the sum itself).
            double magnitude = 0.0, unrounded = 0.0;
            for (int p = 0; p < k; ++p) {
                const double x = a[static_cast<std::size_t>(i) * lda + p];
                magnitude += std::fabs(x * static_cast<double>(widen(type, w[static_cast<std::size_t>(j) * k + p])));
                unrounded += x * static_cast<double>(w32[static_cast<std::size_t>(j) * k + p]);
            }
            const std::size_t at = static_cast<std::size_t>(i) * ldc + j;
            const double error = std::fabs(static_cast<double>(c[at]) - static_cast<double>(ref[at])) / magnitude;
            worst = std::max(worst, error);
            // Would a kernel reading float32 weights be caught? The rounding of W moves results far more than
            // the tolerance.
            unrounded_deviation =
                std::max(unrounded_deviation, std::fabs(unrounded - static_cast<double>(ref[at])) / magnitude);
        }
        for (int j = n; j < ldc; ++j)
            ASSERT_EQ(c[static_cast<std::size_t>(i) * ldc + j], 7.0f) << "wrote past column n";
    }
    constexpr double kTolerance = 1e-6;  // relative to sum |a w|: float32 accumulation over k <= 768
    EXPECT_LE(worst, kTolerance) << "relative to sum |a w|";
    std::cout << "  worst " << worst << ", rounding of W moves results by up to " << unrounded_deviation << "\n";
    if (k >= 16) {
        EXPECT_GT(unrounded_deviation, 5 * kTolerance) << "the test cannot tell rounded from float32 weights";
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, HalfGemmShapes,
                         ::testing::Combine(::testing::Values(HalfType::kBf16, HalfType::kF16),
                                            ::testing::Values(1, 3, 7, kHalfGemmDirectMaxRows,
                                                              kHalfGemmDirectMaxRows + 1, 50),
                                            ::testing::Values(5, 130, 700), ::testing::Values(1, 37, 768)),
                         [](const auto& param_info) {
                             const auto& p = param_info.param;
                             return std::string(half_type_name(std::get<0>(p))) + "_m" +
                                    std::to_string(std::get<1>(p)) + "_n" + std::to_string(std::get<2>(p)) + "_k" +
                                    std::to_string(std::get<3>(p));
                         });

TEST(HalfGemm, SameBitsOnOneThreadAndOnThePool) {
    const int m = 7, n = 1024, k = 512;
    const auto a = testing::random_vector(static_cast<std::size_t>(m) * k, 3);
    const auto w32 = testing::random_vector(static_cast<std::size_t>(n) * k, 4);
    std::vector<std::uint16_t> w(w32.size());
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = f32_to_bf16(w32[i]);
    std::vector<float> pooled(static_cast<std::size_t>(m) * n), single = pooled;
    const HalfGemmArgs args{
        .m = m, .n = n, .k = k, .a = a.data(), .lda = k, .w = w.data(), .c = pooled.data(), .ldc = n};
    gemm_f32_half_weights(args);
    const int before = compute_threads();
    set_compute_threads(1);
    HalfGemmArgs one = args;
    one.c = single.data();
    gemm_f32_half_weights(one);
    set_compute_threads(before);
    EXPECT_EQ(pooled, single);
}

}  // namespace
}  // namespace hclip
