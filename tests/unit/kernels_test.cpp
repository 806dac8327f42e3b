// The fast kernels against obviously-correct references over awkward shapes (1, primes, tails).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/fast_exp.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "support/epilogue_reference.h"
#include "support/random.h"

namespace hclip {
namespace {

using testing::random_vector;

struct Shape {
    int m, n, k;
};

class GemmShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(GemmShapes, MatchesReferenceBothStorageOrdersWithStrides) {
    const auto [m, n, k] = GetParam();
    for (bool transposed : {false, true}) {
        const int lda = k + 3, ldb = (transposed ? k : n) + 5, ldc = n + 2;  // padded leading dimensions
        const auto a = random_vector(static_cast<std::size_t>(m) * lda, 1);
        const auto b = random_vector(static_cast<std::size_t>(transposed ? n : k) * ldb, 2);
        std::vector<float> fast(static_cast<std::size_t>(m) * ldc, 7.0f), ref = fast;
        GemmArgs args{.m = m,
                      .n = n,
                      .k = k,
                      .a = a.data(),
                      .lda = lda,
                      .b = b.data(),
                      .ldb = ldb,
                      .b_transposed = transposed,
                      .c = fast.data(),
                      .ldc = ldc,
                      .beta = 0.0f};
        gemm_f32(args);
        args.c = ref.data();
        gemm_f32_reference(args);
        double worst = 0.0;
        for (std::size_t i = 0; i < fast.size(); ++i) {
            worst = std::max(worst, std::fabs(static_cast<double>(fast[i]) - static_cast<double>(ref[i])));
        }
        // float32 accumulation over k terms of unit-variance products: error grows like sqrt(k) * eps.
        EXPECT_LE(worst, 1e-5 * std::sqrt(static_cast<double>(k)) * 4.0)
            << m << "x" << n << "x" << k << (transposed ? " B^T" : " B");
        // Padding columns beyond n must be untouched.
        if (ldc > n) {
            EXPECT_EQ(fast[static_cast<std::size_t>(n)], 7.0f);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(OddShapes, GemmShapes,
                         ::testing::Values(Shape{1, 1, 1}, Shape{1, 48, 192}, Shape{7, 13, 17}, Shape{50, 97, 64},
                                           Shape{77, 128, 512}, Shape{3, 1, 255}, Shape{64, 33, 1}));

TEST(Ops, LayerNormMatchesDefinition) {
    const int rows = 3, cols = 37;
    auto x = random_vector(rows * cols, 3);
    for (auto& v : x)
        v = v * 50.0f + 1000.0f;  // large offset: a one-pass variance would lose precision
    const auto g = random_vector(cols, 4), b = random_vector(cols, 5);
    std::vector<float> y(x.size());
    layer_norm_rows(x.data(), cols, y.data(), cols, rows, cols, g.data(), b.data(), 1e-5f);
    for (int r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (int c = 0; c < cols; ++c)
            mean += static_cast<double>(x[static_cast<std::size_t>(r * cols + c)]);
        mean /= cols;
        for (int c = 0; c < cols; ++c) {
            const double d = static_cast<double>(x[static_cast<std::size_t>(r * cols + c)]) - mean;
            var += d * d;
        }
        var /= cols;
        for (int c = 0; c < cols; ++c) {
            const auto i = static_cast<std::size_t>(r * cols + c);
            const double expected = (static_cast<double>(x[i]) - mean) / std::sqrt(var + 1e-5) *
                                        static_cast<double>(g[static_cast<std::size_t>(c)]) +
                                    static_cast<double>(b[static_cast<std::size_t>(c)]);
            EXPECT_NEAR(static_cast<double>(y[i]), expected, 1e-4);
        }
    }
}

TEST(Ops, CausalSoftmaxMasksTheFutureAndSumsToOne) {
    const int n = 5;
    auto x = random_vector(n * n, 6);
    softmax_rows(x.data(), n, n, n, /*causal=*/true);
    for (int r = 0; r < n; ++r) {
        double sum = 0;
        for (int c = 0; c < n; ++c) {
            const float v = x[static_cast<std::size_t>(r * n + c)];
            if (c > r) {
                EXPECT_EQ(v, 0.0f) << "row " << r << " sees the future column " << c;
            }
            sum += static_cast<double>(v);
        }
        EXPECT_NEAR(sum, 1.0, 1e-6);
    }
    std::vector<float> big = {1000.0f, 999.0f, -1000.0f};  // stability: no overflow to inf/nan
    softmax_rows(big.data(), 3, 1, 3, false);
    EXPECT_NEAR(big[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
    EXPECT_EQ(big[2], 0.0f);
}

TEST(Ops, FastExpIsWithinAnUlpAndAHalfOfExpAndUnderflowsToZero) {
    double worst = 0.0;
    for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
        const double want = std::exp(static_cast<double>(x));
        worst = std::max(worst, std::abs(static_cast<double>(fast_exp(x)) - want) / want);
    }
    // Measured: 1.0e-7 (about 1 ulp) on x86-64 without FMA, 0.75e-7 with it; the Taylor truncation is 5e-9, the
    // rest is rounding. The bound leaves half an ulp for other compilers and FMA choices.
    EXPECT_LT(worst, 1.5e-7);
    EXPECT_EQ(fast_exp(0.0f), 1.0f);
    EXPECT_EQ(fast_exp(-88.0f), 0.0f);
    EXPECT_EQ(fast_exp(-1e30f), 0.0f);
    EXPECT_TRUE(std::isfinite(fast_exp(1e30f)));
    EXPECT_EQ(fast_exp(-std::numeric_limits<float>::infinity()), 0.0f);
}

TEST(Ops, EpiloguesMatchTheirFormulas) {
    const int rows = 70, cols = 1000;  // 70000 values: split across the compute pool
    const auto product = random_vector(rows * cols, 11);
    const auto bias = random_vector(cols, 12);
    const auto residual = random_vector(rows * cols, 13);
    for (const EpilogueActivation act : {EpilogueActivation::kNone, EpilogueActivation::kQuickGelu,
                                         EpilogueActivation::kGelu, EpilogueActivation::kRelu}) {
        for (const bool with_bias : {false, true}) {
            for (const bool accumulate : {false, true}) {
                auto out = accumulate ? residual : std::vector<float>(product.size(), -7.0f);
                apply_epilogue({.bias = with_bias ? bias.data() : nullptr, .activation = act, .accumulate = accumulate},
                               product.data(), cols, out.data(), cols, rows, cols);
                double worst = 0.0;
                for (int r = 0; r < rows; ++r) {
                    for (int c = 0; c < cols; ++c) {
                        const std::size_t i = static_cast<std::size_t>(r * cols + c);
                        const double v = testing::epilogue_reference(
                            product[i],
                            {.bias = with_bias ? bias.data() : nullptr, .activation = act, .accumulate = accumulate}, c,
                            residual[i]);
                        worst = std::max(worst, std::abs(static_cast<double>(out[i]) - v));
                    }
                }
                EXPECT_LT(worst, 1e-6) << "activation " << static_cast<int>(act) << " bias " << with_bias
                                       << " accumulate " << accumulate;
            }
        }
    }
}

TEST(Ops, LayerNormMatchesADoubleReferenceOnOddWidths) {
    for (const int cols : {1, 7, 768, 1001}) {
        const int rows = 90;  // with 1001 columns: split across the compute pool
        auto x = random_vector(rows * cols, 21);
        for (float& v : x)
            v = v * 30.0f + 100.0f;  // a large mean: the centred variance must not cancel
        const auto gamma = random_vector(cols, 22), beta = random_vector(cols, 23);
        std::vector<float> y(x.size());
        layer_norm_rows(x.data(), cols, y.data(), cols, rows, cols, gamma.data(), beta.data(), 1e-5f);
        double worst = 0.0;
        for (int r = 0; r < rows; ++r) {
            const float* xr = x.data() + static_cast<std::ptrdiff_t>(r) * cols;
            double mean = 0.0, var = 0.0;
            for (int c = 0; c < cols; ++c)
                mean += static_cast<double>(xr[c]);
            mean /= cols;
            for (int c = 0; c < cols; ++c)
                var += (static_cast<double>(xr[c]) - mean) * (static_cast<double>(xr[c]) - mean);
            var /= cols;
            for (int c = 0; c < cols; ++c) {
                const auto uc = static_cast<std::size_t>(c);
                const double want =
                    (static_cast<double>(xr[c]) - mean) / std::sqrt(var + 1e-5) * static_cast<double>(gamma[uc]) +
                    static_cast<double>(beta[uc]);
                worst =
                    std::max(worst, std::abs(static_cast<double>(y[static_cast<std::size_t>(r * cols + c)]) - want));
            }
        }
        EXPECT_LT(worst, 2e-5) << cols << " columns";
    }
}

TEST(Ops, ActivationsMatchFormulas) {
    std::vector<float> x = {-3.0f, -0.5f, 0.0f, 0.7f, 4.0f};
    auto q = x, g = x;
    const int n = static_cast<int>(x.size());
    apply_epilogue({.activation = EpilogueActivation::kQuickGelu}, q.data(), n, q.data(), n, 1, n);
    gelu_inplace(g.data(), g.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double v = x[i];
        EXPECT_NEAR(q[i], v / (1.0 + std::exp(-1.702 * v)), 1e-6);
        EXPECT_NEAR(g[i], 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))), 1e-6);
    }
}

}  // namespace
}  // namespace hclip
