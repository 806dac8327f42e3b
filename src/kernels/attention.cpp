#include "kernels/attention.h"

#include <algorithm>
#include <cstring>

#include "kernels/fast_exp.h"
#include "kernels/simd_clones.h"

// Queries are taken kRows at a time, and both products work on register tiles of kRows x kTile sums: every row
// of keys or values loaded serves kRows queries, and the sums never leave the registers. No sum is reassociated:
// each tile entry adds its terms in order; sums and maxima over a row use kTile independent partials, so those
// loops vectorize too. The helpers are forced inline so that each SIMD clone of attention_head gets them in its
// own instruction set.
#define HCLIP_INLINE [[gnu::always_inline]] inline

namespace hclip {

namespace {

constexpr int kRows = 4;   // queries per block
constexpr int kTile = 16;  // floats per tile row: one AVX-512, two AVX2, four SSE/NEON registers

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

int round_up_to_tile(int n) {
    return (n + kTile - 1) / kTile * kTile;
}

// kt[d, j] = k[j, d] for j < keys, 0 up to the padded width: a tile of keys is then one contiguous load per d.
HCLIP_INLINE void transpose_keys(const float* k, int ldk, int keys, int padded, int head_dim, float* kt) {
    for (int d = 0; d < head_dim; ++d) {
        float* row = kt + sz(d, padded);
        for (int j = 0; j < keys; ++j)
            row[j] = k[sz(j, ldk) + static_cast<std::size_t>(d)];
        std::fill(row + keys, row + padded, 0.0f);
    }
}

// A tile row: kTile floats as one value of GCC/Clang's generic vector type, which the compiler maps onto the
// target's registers (one AVX-512, two AVX2 or four SSE/NEON registers). The loop vectorizer alone does not find
// this blocking (it vectorizes across the head dim with strided loads instead).
typedef float TileRow __attribute__((vector_size(kTile * sizeof(float))));

// s[r, j] = sum_d qs[r, d] kt[d, j] for the kRows queries and the keys [0, key_end), key_end a tile multiple.
HCLIP_INLINE void score_block(const float* qs, const float* kt, int padded, int head_dim, int key_end, float* s) {
    for (int j0 = 0; j0 < key_end; j0 += kTile) {
        TileRow acc[kRows] = {};
        for (int d = 0; d < head_dim; ++d) {
            TileRow kd;  // memcpy: an unaligned load, and no vector-typed function arguments (an ABI question)
            std::memcpy(&kd, kt + sz(d, padded) + static_cast<std::size_t>(j0), sizeof kd);
            for (int r = 0; r < kRows; ++r)
                acc[r] += qs[sz(r, head_dim) + static_cast<std::size_t>(d)] * kd;
        }
        for (int r = 0; r < kRows; ++r)
            std::memcpy(s + sz(r, padded) + static_cast<std::size_t>(j0), &acc[r], sizeof acc[r]);
    }
}

HCLIP_INLINE float row_max(const float* row, int n) {
    float lanes[kTile];
    std::fill_n(lanes, kTile, row[0]);
    int j = 0;
    for (; j + kTile <= n; j += kTile)
        for (int l = 0; l < kTile; ++l)
            lanes[l] = lanes[l] < row[j + l] ? row[j + l] : lanes[l];  // a value select, which vectorizes
    for (; j < n; ++j)
        lanes[0] = lanes[0] < row[j] ? row[j] : lanes[0];
    float mx = lanes[0];
    for (float v : lanes)
        mx = mx < v ? v : mx;
    return mx;
}

// row[j] = e^(row[j] - max) for j < n (the max subtracted so that nothing overflows); returns their sum, >= 1.
HCLIP_INLINE float exp_shifted_row(float* row, int n) {
    const float mx = row_max(row, n);
    for (int j = 0; j < n; ++j)
        row[j] = fast_exp(row[j] - mx);
    float lanes[kTile] = {};
    int j = 0;
    for (; j + kTile <= n; j += kTile)
        for (int l = 0; l < kTile; ++l)
            lanes[l] += row[j + l];
    for (; j < n; ++j)
        lanes[0] += row[j];
    float sum = 0.0f;
    for (float v : lanes)
        sum += v;
    return sum;
}

// out[r, :] = inv[r] sum_{j < key_end} p[r, j] v[j, :] for r < rows.
HCLIP_INLINE void weighted_values(const float* p, int padded, const float* inv, int rows, int key_end, const float* v,
                                  int ldv, int head_dim, float* out, int ldo) {
    int d0 = 0;
    for (; d0 + kTile <= head_dim; d0 += kTile) {
        TileRow acc[kRows] = {};
        for (int j = 0; j < key_end; ++j) {
            TileRow vj;
            std::memcpy(&vj, v + sz(j, ldv) + static_cast<std::size_t>(d0), sizeof vj);
            for (int r = 0; r < kRows; ++r)
                acc[r] += p[sz(r, padded) + static_cast<std::size_t>(j)] * vj;
        }
        for (int r = 0; r < rows; ++r) {
            const TileRow scaled = acc[r] * inv[r];
            std::memcpy(out + sz(r, ldo) + static_cast<std::size_t>(d0), &scaled, sizeof scaled);
        }
    }
    for (int r = 0; r < rows; ++r) {  // a head dim that is not a tile multiple: the rest one column at a time
        for (int d = d0; d < head_dim; ++d) {
            float sum = 0.0f;
            for (int j = 0; j < key_end; ++j)
                sum += p[sz(r, padded) + static_cast<std::size_t>(j)] * v[sz(j, ldv) + static_cast<std::size_t>(d)];
            out[sz(r, ldo) + static_cast<std::size_t>(d)] = sum * inv[r];
        }
    }
}

}  // namespace

std::size_t attention_scratch_floats(int keys, int head_dim) {
    const int padded = round_up_to_tile(keys);
    return sz(head_dim, padded) + sz(kRows, head_dim) + sz(kRows, padded);
}

HCLIP_SIMD_CLONES
void attention_head(const AttentionHeadArgs& a) {
    if (a.queries <= 0 || a.keys <= 0 || a.head_dim <= 0) return;
    const int hd = a.head_dim, padded = round_up_to_tile(a.keys);
    float* kt = a.scratch;            // [hd, padded]
    float* qs = kt + sz(hd, padded);  // [kRows, hd]: the block's queries, scaled
    float* p = qs + sz(kRows, hd);    // [kRows, padded]: scores, then unnormalised probabilities
    transpose_keys(a.k, a.ldk, a.keys, padded, hd, kt);
    for (int i0 = 0; i0 < a.queries; i0 += kRows) {
        const int rows = std::min(kRows, a.queries - i0);
        for (int r = 0; r < kRows; ++r) {
            float* qr = qs + sz(r, hd);
            if (r < rows) {
                const float* src = a.q + sz(i0 + r, a.ldq);
                for (int d = 0; d < hd; ++d)
                    qr[d] = a.scale * src[d];
            } else {
                std::fill_n(qr, hd, 0.0f);
            }
        }
        // Under the causal mask the block's last query sees the most keys; the others' extra ones get weight 0.
        const int key_end = a.causal ? std::min(i0 + kRows, a.keys) : a.keys;
        score_block(qs, kt, padded, hd, round_up_to_tile(key_end), p);
        float inv[kRows] = {};
        for (int r = 0; r < rows; ++r) {
            float* pr = p + sz(r, padded);
            const int visible = a.causal ? std::min(i0 + r + 1, a.keys) : a.keys;
            inv[r] = 1.0f / exp_shifted_row(pr, visible);
            std::fill(pr + visible, pr + key_end, 0.0f);
        }
        for (int r = rows; r < kRows; ++r)
            std::fill_n(p + sz(r, padded), key_end, 0.0f);
        weighted_values(p, padded, inv, rows, key_end, a.v, a.ldv, hd, a.out + sz(i0, a.ldo), a.ldo);
    }
}

}  // namespace hclip
