#include "kernels/attention.h"

#include <algorithm>

#include "kernels/fast_exp.h"
#include "kernels/simd_clones.h"

// Every inner loop runs over contiguous floats with no reduction carried across iterations (sums and maxima are
// kept in kLanes independent partials), so it vectorizes without reassociating float arithmetic. The helpers are
// forced inline so that each SIMD clone of attention_head gets them in its own instruction set.
#define HCLIP_INLINE [[gnu::always_inline]] inline

namespace hclip {

namespace {

constexpr int kLanes = 8;

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

// kt[d, j] = k[j, d]: the keys of this head as [head_dim, keys], so that a query's scores are a sum of rows.
HCLIP_INLINE void transpose_keys(const float* k, int ldk, int keys, int head_dim, float* kt) {
    for (int j = 0; j < keys; ++j) {
        const float* kj = k + sz(j, ldk);
        for (int d = 0; d < head_dim; ++d)
            kt[sz(d, keys) + static_cast<std::size_t>(j)] = kj[d];
    }
}

// row[j] = sum_d (scale * q[d]) kt[d, j] for j < visible; four rows of kt per pass over row[].
HCLIP_INLINE void score_row(const float* q, const float* kt, int keys, int head_dim, int visible, float scale,
                            float* __restrict row) {
    std::fill_n(row, visible, 0.0f);
    int d = 0;
    for (; d + 4 <= head_dim; d += 4) {
        const float q0 = scale * q[d], q1 = scale * q[d + 1], q2 = scale * q[d + 2], q3 = scale * q[d + 3];
        const float* __restrict k0 = kt + sz(d, keys);
        const float* __restrict k1 = k0 + keys;
        const float* __restrict k2 = k1 + keys;
        const float* __restrict k3 = k2 + keys;
        for (int j = 0; j < visible; ++j)
            row[j] += (q0 * k0[j] + q1 * k1[j]) + (q2 * k2[j] + q3 * k3[j]);
    }
    for (; d < head_dim; ++d) {
        const float qd = scale * q[d];
        const float* __restrict kd = kt + sz(d, keys);
        for (int j = 0; j < visible; ++j)
            row[j] += qd * kd[j];
    }
}

HCLIP_INLINE float row_max(const float* row, int n) {
    float lanes[kLanes];
    std::fill_n(lanes, kLanes, row[0]);
    int j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int l = 0; l < kLanes; ++l)
            lanes[l] = lanes[l] < row[j + l] ? row[j + l] : lanes[l];  // a value select, which vectorizes
    for (; j < n; ++j)
        lanes[0] = lanes[0] < row[j] ? row[j] : lanes[0];
    return *std::max_element(lanes, lanes + kLanes);
}

// row[j] = e^(row[j] - max) (the max subtracted so that nothing overflows); returns their sum, >= 1.
HCLIP_INLINE float exp_shifted_row(float* row, int n) {
    const float mx = row_max(row, n);
    for (int j = 0; j < n; ++j)
        row[j] = exp_branch_free(row[j] - mx);
    float lanes[kLanes] = {};
    int j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int l = 0; l < kLanes; ++l)
            lanes[l] += row[j + l];
    for (; j < n; ++j)
        lanes[0] += row[j];
    float sum = 0.0f;
    for (float s : lanes)
        sum += s;
    return sum;
}

// acc[:] = sum_j w[j] v[j, :] over j < n; four rows of v per pass over acc[].
HCLIP_INLINE void weighted_rows(const float* w, int n, const float* v, int ldv, int head_dim, float* __restrict acc) {
    std::fill_n(acc, head_dim, 0.0f);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float w0 = w[j], w1 = w[j + 1], w2 = w[j + 2], w3 = w[j + 3];
        const float* __restrict v0 = v + sz(j, ldv);
        const float* __restrict v1 = v0 + ldv;
        const float* __restrict v2 = v1 + ldv;
        const float* __restrict v3 = v2 + ldv;
        for (int d = 0; d < head_dim; ++d)
            acc[d] += (w0 * v0[d] + w1 * v1[d]) + (w2 * v2[d] + w3 * v3[d]);
    }
    for (; j < n; ++j) {
        const float wj = w[j];
        const float* __restrict vj = v + sz(j, ldv);
        for (int d = 0; d < head_dim; ++d)
            acc[d] += wj * vj[d];
    }
}

}  // namespace

std::size_t attention_scratch_floats(int keys, int head_dim) {
    return sz(head_dim, keys) + static_cast<std::size_t>(keys) + static_cast<std::size_t>(head_dim);
}

HCLIP_SIMD_CLONES
void attention_head(const AttentionHeadArgs& a) {
    if (a.queries <= 0 || a.keys <= 0 || a.head_dim <= 0) return;
    float* kt = a.scratch;
    float* row = kt + sz(a.head_dim, a.keys);
    float* acc = row + a.keys;
    transpose_keys(a.k, a.ldk, a.keys, a.head_dim, kt);
    for (int i = 0; i < a.queries; ++i) {
        const int visible = a.causal ? std::min(i + 1, a.keys) : a.keys;
        score_row(a.q + sz(i, a.ldq), kt, a.keys, a.head_dim, visible, a.scale, row);
        const float inv_sum = 1.0f / exp_shifted_row(row, visible);
        weighted_rows(row, visible, a.v, a.ldv, a.head_dim, acc);
        float* o = a.out + sz(i, a.ldo);
        for (int d = 0; d < a.head_dim; ++d)
            o[d] = acc[d] * inv_sum;
    }
}

}  // namespace hclip
