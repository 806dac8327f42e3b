// The attention kernel (kernels/attention.h) against a double-precision oracle. Its exp (kernels/fast_exp.h) is
// checked against std::exp in kernels_test.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "support/random.h"

namespace hclip {
namespace {

using testing::random_vector;

// A head's operands inside a fused [rows, 3 * width] matrix, as the transformer stores them, and the output
// inside a wider matrix, so that every stride differs from the head dim.
struct Case {
    int n, hd;
    bool causal;
};

std::vector<double> reference_attention(const std::vector<float>& qkv, int ld, const Case& c, float scale) {
    std::vector<double> out(static_cast<std::size_t>(c.n * c.hd), 0.0);
    std::vector<double> w(static_cast<std::size_t>(c.n));
    auto at = [&](int row, int col) { return static_cast<double>(qkv[static_cast<std::size_t>(row * ld + col)]); };
    for (int i = 0; i < c.n; ++i) {
        const int visible = c.causal ? i + 1 : c.n;
        double mx = -std::numeric_limits<double>::infinity();
        for (int j = 0; j < visible; ++j) {
            double dot = 0.0;
            for (int d = 0; d < c.hd; ++d)
                dot += at(i, d) * at(j, c.hd + d);
            w[static_cast<std::size_t>(j)] = dot * static_cast<double>(scale);
            mx = std::max(mx, w[static_cast<std::size_t>(j)]);
        }
        double sum = 0.0;
        for (int j = 0; j < visible; ++j)
            sum += (w[static_cast<std::size_t>(j)] = std::exp(w[static_cast<std::size_t>(j)] - mx));
        for (int j = 0; j < visible; ++j)
            for (int d = 0; d < c.hd; ++d)
                out[static_cast<std::size_t>(i * c.hd + d)] +=
                    w[static_cast<std::size_t>(j)] / sum * at(j, 2 * c.hd + d);
    }
    return out;
}

class AttentionCases : public ::testing::TestWithParam<std::tuple<int, int, bool>> {};

TEST_P(AttentionCases, MatchesDoublePrecisionReference) {
    const Case c{std::get<0>(GetParam()), std::get<1>(GetParam()), std::get<2>(GetParam())};
    const int ld = 3 * c.hd + 5, ldo = c.hd + 3;  // strides that are neither the head dim nor multiples of 4
    // Scores of a few units (q, k ~ N(0, 1.5^2), scale 1/sqrt(hd)): peaked softmax rows, as in a trained model.
    auto qkv = random_vector(static_cast<std::size_t>(c.n * ld), 1000u + static_cast<unsigned>(c.n * 131 + c.hd));
    for (float& x : qkv)
        x *= 1.5f;
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.hd));
    const auto want = reference_attention(qkv, ld, c, scale);
    // attention_head is the tiled build on a CPU with AVX-512 and the library products elsewhere: check both.
    const std::pair<void (*)(const AttentionHeadArgs&), const char*> kernels[] = {
        {attention_head, "attention_head"}, {attention_head_products, "attention_head_products"}};
    for (const auto& [fn, name] : kernels) {
        const float sentinel = -7.0f;
        std::vector<float> out(static_cast<std::size_t>(c.n * ldo), sentinel);
        std::vector<float> scratch(attention_scratch_floats(c.n, c.n, c.hd));
        fn({.queries = c.n,
            .keys = c.n,
            .head_dim = c.hd,
            .q = qkv.data(),
            .ldq = ld,
            .k = qkv.data() + c.hd,
            .ldk = ld,
            .v = qkv.data() + 2 * c.hd,
            .ldv = ld,
            .out = out.data(),
            .ldo = ldo,
            .scale = scale,
            .causal = c.causal,
            .scratch = scratch.data()});
        // Each output is a convex combination of the values (|v| up to about 6 here). Its float32 error comes from the
        // scores (hd products summed in order, rounding errors of about 2^-24 x |score| that add up like a random
        // walk), which perturb the weights by that much relatively, from exp (about 1 ulp) and from the n-term weighted
        // sum: a few 1e-7 of the values' largest magnitude (measured: at most 4e-7). The bound, 2e-6 of that magnitude,
        // is 5x the largest error seen; a wrong mask, scale, stride or normalisation is off by 1e-2 or more.
        double value_scale = 0.0;
        for (int j = 0; j < c.n; ++j)
            for (int d = 0; d < c.hd; ++d)
                value_scale = std::max(
                    value_scale, std::abs(static_cast<double>(qkv[static_cast<std::size_t>(j * ld + 2 * c.hd + d)])));
        const double tolerance = 2e-6 * value_scale;
        double worst = 0.0;
        for (int i = 0; i < c.n; ++i) {
            for (int d = 0; d < ldo; ++d) {
                const float got = out[static_cast<std::size_t>(i * ldo + d)];
                if (d >= c.hd) {
                    EXPECT_EQ(got, sentinel) << "wrote past the head's columns at row " << i << " column " << d;
                    continue;
                }
                const double diff = std::abs(static_cast<double>(got) - want[static_cast<std::size_t>(i * c.hd + d)]);
                worst = std::max(worst, diff);
                EXPECT_LE(diff, tolerance) << "row " << i << " column " << d;
            }
        }
        std::cout << name << ", n " << c.n << " hd " << c.hd << (c.causal ? " causal" : "") << ": max |diff| " << worst
                  << " (tolerance " << tolerance << ")\n";
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionCases,
                         ::testing::Combine(::testing::Values(1, 2, 7, 50, 77), ::testing::Values(32, 64),
                                            ::testing::Bool()));

TEST(Attention, CausalFirstRowIsTheFirstValueAndOneKeyIsItsValue) {
    // Query 0 under the causal mask, and any query over a single key, sees one key: its output is that value row.
    const int n = 5, hd = 4, ld = 3 * hd;
    auto qkv = random_vector(static_cast<std::size_t>(n * ld), 7);
    std::vector<float> out(static_cast<std::size_t>(n * hd)), scratch(attention_scratch_floats(n, n, hd));
    attention_head({.queries = n,
                    .keys = n,
                    .head_dim = hd,
                    .q = qkv.data(),
                    .ldq = ld,
                    .k = qkv.data() + hd,
                    .ldk = ld,
                    .v = qkv.data() + 2 * hd,
                    .ldv = ld,
                    .out = out.data(),
                    .ldo = hd,
                    .scale = 0.5f,
                    .causal = true,
                    .scratch = scratch.data()});
    for (int d = 0; d < hd; ++d)
        EXPECT_EQ(out[static_cast<std::size_t>(d)], qkv[static_cast<std::size_t>(2 * hd + d)]);
}

TEST(Attention, HugeScoreGapsStayFinite) {
    // Scores of +-1e4: without the max subtraction e^score overflows; the losers' weights underflow to 0.
    const int n = 3, hd = 1, ld = 3;
    std::vector<float> qkv = {100.0f, 100.0f,  1.0f,  //
                              0.0f,   -100.0f, 2.0f,  //
                              0.0f,   0.0f,    3.0f};
    std::vector<float> out(static_cast<std::size_t>(n)), scratch(attention_scratch_floats(n, n, hd));
    attention_head({.queries = n,
                    .keys = n,
                    .head_dim = hd,
                    .q = qkv.data(),
                    .ldq = ld,
                    .k = qkv.data() + 1,
                    .ldk = ld,
                    .v = qkv.data() + 2,
                    .ldv = ld,
                    .out = out.data(),
                    .ldo = 1,
                    .scale = 1.0f,
                    .causal = false,
                    .scratch = scratch.data()});
    EXPECT_EQ(out[0], 1.0f);        // query 100: key 100 wins by 1e4 over key 0 and 2e4 over key -100
    EXPECT_FLOAT_EQ(out[1], 2.0f);  // query 0: equal scores, so the mean of the values 1, 2, 3
    EXPECT_FLOAT_EQ(out[2], 2.0f);
}

}  // namespace
}  // namespace hclip
