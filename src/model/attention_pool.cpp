#include "model/attention_pool.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "kernels/compute_pool.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"

namespace hclip {

namespace {

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

}  // namespace

void pooled_attention(const PooledAttentionArgs& a) {
    const int hd = a.width / a.heads, w = a.width, h_w = a.heads * a.width;
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    // Keys folded into the queries: folded[b, h, :] = W_k[h]^T q[b, h] (rows h * hd .. of W_k, weighted).
    parallel_for(a.heads, [&](int h) {
        gemm_f32({.m = a.batch,
                  .n = w,
                  .k = hd,
                  .a = a.q + sz(h, hd),
                  .lda = w,
                  .b = a.wk + sz(h * hd, w),
                  .ldb = w,
                  .c = a.folded + sz(h, w),
                  .ldc = h_w});
    });
    for (int b = 0; b < a.batch; ++b) {
        const float* x = a.x + sz(b * a.tokens, w);
        float* folded = a.folded + sz(b, h_w);
        // scores[h, t] = (folded[h] . x_t + q_h . b_k[h]) / sqrt(hd)
        gemm_f32({.m = a.heads,
                  .n = a.tokens,
                  .k = w,
                  .a = folded,
                  .lda = w,
                  .b = x,
                  .ldb = w,
                  .b_transposed = true,
                  .c = a.scores,
                  .ldc = a.tokens});
        for (int h = 0; h < a.heads; ++h) {
            const float* q = a.q + sz(b, w) + sz(h, hd);
            float key_bias = 0.0f;
            for (int i = 0; i < hd; ++i)
                key_bias += q[i] * a.bk[h * hd + i];
            float* row = a.scores + sz(h, a.tokens);
            for (int t = 0; t < a.tokens; ++t)
                row[t] = (row[t] + key_bias) * scale;
        }
        softmax_rows(a.scores, a.tokens, a.heads, a.tokens, false);
        // The tokens mixed by each head's weights, over the folded keys (no longer needed): folded[h] = sum_t p x_t.
        gemm_f32({.m = a.heads,
                  .n = w,
                  .k = a.tokens,
                  .a = a.scores,
                  .lda = a.tokens,
                  .b = x,
                  .ldb = w,
                  .c = folded,
                  .ldc = w});
    }
    // out[b, h * hd + i] = W_v[h * hd + i] . folded[b, h] + b_v[h * hd + i]
    parallel_for(a.heads, [&](int h) {
        gemm_f32({.m = a.batch,
                  .n = hd,
                  .k = w,
                  .a = a.folded + sz(h, w),
                  .lda = h_w,
                  .b = a.wv + sz(h * hd, w),
                  .ldb = w,
                  .b_transposed = true,
                  .c = a.out + sz(h, hd),
                  .ldc = w});
    });
    add_bias_rows(a.out, w, a.batch, w, a.bv);
}

void pooled_attention_reference(const PooledAttentionArgs& a) {
    const int hd = a.width / a.heads, w = a.width;
    std::vector<double> scores(static_cast<std::size_t>(a.tokens));
    for (int b = 0; b < a.batch; ++b) {
        for (int h = 0; h < a.heads; ++h) {
            const float* q = a.q + sz(b, w) + sz(h, hd);
            const auto project = [&](const float* weights, const float* bias, const float* x, int i) {
                double sum = static_cast<double>(bias[h * hd + i]);
                for (int j = 0; j < w; ++j)
                    sum += static_cast<double>(weights[sz(h * hd + i, w) + static_cast<std::size_t>(j)]) *
                           static_cast<double>(x[j]);
                return sum;
            };
            double largest = -std::numeric_limits<double>::infinity();
            for (int t = 0; t < a.tokens; ++t) {
                const float* x = a.x + sz(b * a.tokens + t, w);
                double dot = 0.0;
                for (int i = 0; i < hd; ++i)
                    dot += static_cast<double>(q[i]) * project(a.wk, a.bk, x, i);
                scores[static_cast<std::size_t>(t)] = dot / std::sqrt(static_cast<double>(hd));
                largest = std::max(largest, scores[static_cast<std::size_t>(t)]);
            }
            double total = 0.0;
            for (double& s : scores) {
                s = std::exp(s - largest);
                total += s;
            }
            for (int i = 0; i < hd; ++i) {
                double sum = 0.0;
                for (int t = 0; t < a.tokens; ++t)
                    sum += scores[static_cast<std::size_t>(t)] / total *
                           project(a.wv, a.bv, a.x + sz(b * a.tokens + t, w), i);
                a.out[sz(b, w) + sz(h, hd) + static_cast<std::size_t>(i)] = static_cast<float>(sum);
            }
        }
    }
}

}  // namespace hclip
