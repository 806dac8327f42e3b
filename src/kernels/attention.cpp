#include "kernels/attention.h"

#include <algorithm>
#include <cstring>

#include "kernels/fast_exp.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"

// Queries are taken kRows at a time, and both products work on register tiles of kRows x Tile sums: every row
// of keys or values loaded serves kRows queries, and the sums never leave the registers. No sum is reassociated:
// each tile entry adds its terms in order; sums and maxima over a row use kLanes independent partials, so those
// loops vectorize too. The helpers are forced inline so that each SIMD clone of attention_head gets them in its
// own instruction set.
#define HCLIP_INLINE [[gnu::always_inline]] inline

namespace hclip {

namespace {

constexpr int kRows = 4;  // queries per block (the tile functions name their four accumulators)
// Keys are padded to a multiple of this, the tile row of the AVX-512 build.
constexpr int kKeyPad = 16;
constexpr int kLanes = 16;  // independent partials of a row's sum and maximum

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

int round_up_to_tile(int n) {
    return (n + kKeyPad - 1) / kKeyPad * kKeyPad;
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

// A tile row: Tile floats as one value of GCC/Clang's generic vector type, one register of the target. (The loop
// vectorizer alone does not find this blocking: it vectorizes across the head dim with strided loads. A vector
// wider than the target's registers is split by GCC 12 through memory: 4-8x slower.)
// (A member typedef: GCC drops the attribute from an alias template.)
template <int Tile>
struct TileRowOf {
    typedef float type __attribute__((vector_size(Tile * sizeof(float))));
};
template <int Tile>
using TileRow = typename TileRowOf<Tile>::type;
static_assert(sizeof(TileRow<16>) == 16 * sizeof(float), "a tile row is a vector, not one float");

// acc[r][t] = sum_{i < n} w_r[i] row_i[t * Tile, (t + 1) * Tile) for the kRows weight rows w_r, row_i at
// rows + i * stride: the products of both attention steps, Tiles (1 or 2) tiles side by side. Two tiles give
// eight independent sums, which keep both FMA units busy where the four of one tile wait on each other's latency.
// Each sum adds its terms in order.
template <int Tile, int Tiles>
HCLIP_INLINE void accumulate_tiles(const float* const (&w)[kRows], int n, const float* rows, std::size_t stride,
                                   TileRow<Tile> (&acc)[kRows][Tiles]) {
    for (auto& row_sums : acc)
        for (auto& sum : row_sums)
            sum = TileRow<Tile>{};
    for (int i = 0; i < n; ++i) {
        TileRow<Tile> tile[Tiles];  // memcpy: unaligned loads, and no vector-typed function arguments (an ABI question)
        for (int t = 0; t < Tiles; ++t)
            std::memcpy(&tile[t], rows + static_cast<std::size_t>(i) * stride + static_cast<std::size_t>(t * Tile),
                        sizeof tile[t]);
        for (int r = 0; r < kRows; ++r)
            for (int t = 0; t < Tiles; ++t)
                acc[r][t] += w[r][i] * tile[t];
    }
}

// s[r, j] = sum_d qs[r, d] kt[d, j] for the kRows queries and the keys [0, key_end), key_end a Tile multiple; two
// tiles of keys at a time where they fit.
template <int Tile>
HCLIP_INLINE void score_block(const float* qs, const float* kt, int padded, int head_dim, int key_end, float* s) {
    const float* const q[kRows] = {qs, qs + head_dim, qs + sz(2, head_dim), qs + sz(3, head_dim)};
    const auto block = [&]<int Tiles>(int j0) {
        TileRow<Tile> acc[kRows][Tiles];
        accumulate_tiles<Tile, Tiles>(q, head_dim, kt + static_cast<std::size_t>(j0), static_cast<std::size_t>(padded),
                                      acc);
        for (int r = 0; r < kRows; ++r)
            std::memcpy(s + sz(r, padded) + static_cast<std::size_t>(j0), acc[r], sizeof acc[r]);
    };
    int j0 = 0;
    for (; j0 + 2 * Tile <= key_end; j0 += 2 * Tile)
        block.template operator()<2>(j0);
    for (; j0 < key_end; j0 += Tile)
        block.template operator()<1>(j0);
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
    float lanes[kLanes] = {};
    int j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int l = 0; l < kLanes; ++l)
            lanes[l] += row[j + l];
    for (; j < n; ++j)
        lanes[0] += row[j];
    float sum = 0.0f;
    for (float v : lanes)
        sum += v;
    return sum;
}

// out[r, :] = inv[r] sum_{j < key_end} p[r, j] v[j, :] for r < rows; two tiles of columns at a time where they
// fit.
template <int Tile>
HCLIP_INLINE void weighted_values(const float* p, int padded, const float* inv, int rows, int key_end, const float* v,
                                  int ldv, int head_dim, float* out, int ldo) {
    const float* const weights[kRows] = {p, p + padded, p + sz(2, padded), p + sz(3, padded)};
    const auto block = [&]<int Tiles>(int d0) {
        TileRow<Tile> acc[kRows][Tiles];
        accumulate_tiles<Tile, Tiles>(weights, key_end, v + static_cast<std::size_t>(d0), static_cast<std::size_t>(ldv),
                                      acc);
        for (int r = 0; r < rows; ++r) {
            for (int t = 0; t < Tiles; ++t) {
                const TileRow<Tile> scaled = acc[r][t] * inv[r];
                std::memcpy(out + sz(r, ldo) + static_cast<std::size_t>(d0 + t * Tile), &scaled, sizeof scaled);
            }
        }
    };
    int d0 = 0;
    for (; d0 + 2 * Tile <= head_dim; d0 += 2 * Tile)
        block.template operator()<2>(d0);
    for (; d0 + Tile <= head_dim; d0 += Tile)
        block.template operator()<1>(d0);
    for (int r = 0; r < rows; ++r) {  // a head dim that is not a tile multiple: the rest one column at a time
        for (int d = d0; d < head_dim; ++d) {
            float sum = 0.0f;
            for (int j = 0; j < key_end; ++j)
                sum += p[sz(r, padded) + static_cast<std::size_t>(j)] * v[sz(j, ldv) + static_cast<std::size_t>(d)];
            out[sz(r, ldo) + static_cast<std::size_t>(d)] = sum * inv[r];
        }
    }
}

template <int Tile>
HCLIP_INLINE void attention_tiled(const AttentionHeadArgs& a) {
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
        score_block<Tile>(qs, kt, padded, hd, (key_end + Tile - 1) / Tile * Tile, p);  // whole tiles, zeros past keys
        float inv[kRows] = {};
        for (int r = 0; r < rows; ++r) {
            float* pr = p + sz(r, padded);
            const int visible = a.causal ? std::min(i0 + r + 1, a.keys) : a.keys;
            inv[r] = 1.0f / exp_shifted_row(pr, visible);
            std::fill(pr + visible, pr + key_end, 0.0f);
        }
        for (int r = rows; r < kRows; ++r)
            std::fill_n(p + sz(r, padded), key_end, 0.0f);
        weighted_values<Tile>(p, padded, inv, rows, key_end, a.v, a.ldv, hd, a.out + sz(i0, a.ldo), a.ldo);
    }
}

// The tiles are built for AVX-512 only and picked by the CPU at first use (not under ThreadSanitizer, whose
// runtime is not up when target-specific code is resolved). Elsewhere the two library products run: measured on
// this project's x86-64 machine, the same tiles built for AVX2 (8 floats) were 0.75-0.8x of them for 50 tokens,
// a row-at-a-time build for SSE2 0.5x; aarch64 was not measured.
#if defined(__x86_64__) && defined(__has_attribute) && !defined(__SANITIZE_THREAD__)
#if __has_attribute(target)
#define HCLIP_ATTENTION_AVX512 1
#endif
#endif

#ifdef HCLIP_ATTENTION_AVX512
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))) void attention_avx512(
    const AttentionHeadArgs& a) {
    attention_tiled<16>(a);
}
#endif

using AttentionFunction = void (*)(const AttentionHeadArgs&);

AttentionFunction pick_attention() {
#ifdef HCLIP_ATTENTION_AVX512
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq"))
        return attention_avx512;
#endif
    return attention_head_products;
}

}  // namespace

std::size_t attention_scratch_floats(int queries, int keys, int head_dim) {
    const int padded = round_up_to_tile(keys);
    return std::max(sz(head_dim, padded) + sz(kRows, head_dim) + sz(kRows, padded), sz(queries, keys));
}

void attention_head_products(const AttentionHeadArgs& a) {
    if (a.queries <= 0 || a.keys <= 0 || a.head_dim <= 0) return;
    float* scores = a.scratch;  // [queries, keys]
    gemm_f32({.m = a.queries,
              .n = a.keys,
              .k = a.head_dim,
              .a = a.q,
              .lda = a.ldq,
              .b = a.k,
              .ldb = a.ldk,
              .b_transposed = true,
              .c = scores,
              .ldc = a.keys});
    for (std::size_t i = 0; i < sz(a.queries, a.keys); ++i)
        scores[i] *= a.scale;
    softmax_rows(scores, a.keys, a.queries, a.keys, a.causal);
    gemm_f32({.m = a.queries,
              .n = a.head_dim,
              .k = a.keys,
              .a = scores,
              .lda = a.keys,
              .b = a.v,
              .ldb = a.ldv,
              .c = a.out,
              .ldc = a.ldo});
}

void attention_head(const AttentionHeadArgs& a) {
    static const AttentionFunction chosen = pick_attention();
    chosen(a);
}

}  // namespace hclip
