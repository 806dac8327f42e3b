// The attention pool with its key and value projections folded (model/attention_pool.h) against the book
// computation in double: every token's key and value projected, softmax, weighted sum. Shapes with one and several
// images, one and many heads; a query whose scores are far apart (a sharp softmax) and one with large biases,
// which the folding moves into a per-head constant (keys) and out of the token sum (values).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/attention_pool.h"
#include "support/golden.h"
#include "support/random.h"

namespace hclip {
namespace {

using testing::random_vector;

struct Case {
    const char* name;
    int batch, tokens, width, heads;
    float query_scale, bias_scale;
};

class PooledAttention : public ::testing::TestWithParam<Case> {};

TEST_P(PooledAttention, MatchesProjectingEveryToken) {
    const Case& c = GetParam();
    const auto n = [](int a, int b) { return static_cast<std::size_t>(a) * static_cast<std::size_t>(b); };
    const auto x = random_vector(n(c.batch * c.tokens, c.width), 1);
    auto q = random_vector(n(c.batch, c.width), 2);
    for (float& v : q)
        v *= c.query_scale;
    auto wk = random_vector(n(c.width, c.width), 3), wv = random_vector(n(c.width, c.width), 4);
    for (auto* w : {&wk, &wv}) {
        for (float& v : *w)
            v *= 0.05f;  // about unit-variance projections, as a trained layer's
    }
    auto bk = random_vector(static_cast<std::size_t>(c.width), 5),
         bv = random_vector(static_cast<std::size_t>(c.width), 6);
    for (auto* b : {&bk, &bv}) {
        for (float& v : *b)
            v *= c.bias_scale;
    }
    std::vector<float> got(n(c.batch, c.width), 7.0f), want(got.size());
    std::vector<float> folded(n(c.batch * c.heads, c.width)), scores(n(c.heads, c.tokens));
    PooledAttentionArgs args{.batch = c.batch,
                             .tokens = c.tokens,
                             .width = c.width,
                             .heads = c.heads,
                             .x = x.data(),
                             .q = q.data(),
                             .wk = wk.data(),
                             .bk = bk.data(),
                             .wv = wv.data(),
                             .bv = bv.data(),
                             .out = got.data(),
                             .folded = folded.data(),
                             .scores = scores.data()};
    pooled_attention(args);
    args.out = want.data();
    pooled_attention_reference(args);
    // Outputs are values of size ~1 (plus the value bias); float32 sums over the width and the tokens stay within
    // a few 1e-6 of the double computation. A wrong head, bias or scale is off by 1e-2 or more.
    testing::expect_close(c.name, got, want, static_cast<std::size_t>(c.width),
                          2e-5 * (1.0 + static_cast<double>(c.bias_scale)));
}

const Case kCases[] = {
    {"one_image_one_head", 1, 5, 64, 1, 1.0f, 0.1f},  {"rn50_like", 1, 50, 256, 4, 1.0f, 0.1f},
    {"batch3_many_heads", 3, 17, 320, 5, 1.0f, 0.1f}, {"sharp_softmax", 2, 10, 128, 2, 8.0f, 0.1f},
    {"large_biases", 2, 10, 128, 2, 1.0f, 5.0f},
};

INSTANTIATE_TEST_SUITE_P(Shapes, PooledAttention, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                             return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace hclip
