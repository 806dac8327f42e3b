#include "kernels/half_gemm.h"

#include <algorithm>
#include <bit>
#include <vector>

#include "core/half.h"
#include "kernels/compute_pool.h"
#include "kernels/gemm.h"
#include "kernels/simd_clones.h"

namespace hclip {

namespace {

inline float widen_bf16(std::uint16_t h) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

// Branch-free binary16 -> float32 (the same values as f16_to_f32 in core/half.h, which the tests check for all
// 65536 inputs), so that the loop vectorizes: every case is computed and the right one selected.
inline float widen_f16(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t magnitude = h & 0x7fffu;
    const std::uint32_t normal = (magnitude << 13) + ((127u - 15u) << 23);
    const std::uint32_t inf_or_nan = (magnitude << 13) | 0x7f800000u;
    // Subnormals are an integer count of 2^-24 steps; converting the integer avoids float32 denormal arithmetic.
    const float subnormal = static_cast<float>(static_cast<std::int32_t>(magnitude)) * 0x1p-24f;
    // Selected with masks, not branches: GCC leaves a loop with conditionals scalar.
    const std::uint32_t special = 0u - static_cast<std::uint32_t>(magnitude >= 0x7c00u);
    const std::uint32_t tiny = 0u - static_cast<std::uint32_t>(magnitude < 0x400u);
    const std::uint32_t bits =
        (normal & ~special & ~tiny) | (inf_or_nan & special) | (std::bit_cast<std::uint32_t>(subnormal) & tiny);
    return std::bit_cast<float>(bits | sign);
}

HCLIP_SIMD_CLONES
void widen_bf16_loop(const std::uint16_t* src, std::size_t count, float* dst) {
    for (std::size_t i = 0; i < count; ++i)
        dst[i] = widen_bf16(src[i]);
}

HCLIP_SIMD_CLONES
void widen_f16_loop(const std::uint16_t* src, std::size_t count, float* dst) {
    for (std::size_t i = 0; i < count; ++i)
        dst[i] = widen_f16(src[i]);
}

// Independent partial sums per lane: a fixed-width inner loop GCC vectorizes without reassociating anything (it
// may not reorder a plain float sum), reduced in a fixed order at the end.
constexpr int kLanes = 16;
constexpr int kRowsAtOnce = 4;

// Sum of the kLanes partial sums, folded in halves (8 + 8, 4 + 4, ...): vector adds instead of 15 scalar ones.
inline float fold_lanes(float* acc) {
    for (int width = kLanes / 2; width >= 1; width /= 2) {
        for (int l = 0; l < width; ++l)
            acc[l] += acc[l + width];
    }
    return acc[0];
}

// out[r] = a . w[r] for the kRowsAtOnce float32 rows w (k floats each, consecutive).
HCLIP_SIMD_CLONES
void dot_four_rows(const float* a, const float* w, int k, float* out) {
    float acc[kRowsAtOnce][kLanes] = {};
    const float* w0 = w;
    const float* w1 = w + k;
    const float* w2 = w + 2 * static_cast<std::ptrdiff_t>(k);
    const float* w3 = w + 3 * static_cast<std::ptrdiff_t>(k);
    int p = 0;
    for (; p + kLanes <= k; p += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
            const float x = a[p + l];
            acc[0][l] += x * w0[p + l];
            acc[1][l] += x * w1[p + l];
            acc[2][l] += x * w2[p + l];
            acc[3][l] += x * w3[p + l];
        }
    }
    const float* rows[kRowsAtOnce] = {w0, w1, w2, w3};
    for (int r = 0; r < kRowsAtOnce; ++r) {
        float sum = fold_lanes(acc[r]);
        for (int q = p; q < k; ++q)
            sum += a[q] * rows[r][q];
        out[r] = sum;
    }
}

// The same for two rows of A at once (a0, a1 -> out0, out1): each weight value loaded is used twice, which is
// what bounds the kernel (loads, not multiply-adds).
HCLIP_SIMD_CLONES
void dot_four_rows_twice(const float* a0, const float* a1, const float* w, int k, float* out0, float* out1) {
    float acc0[kRowsAtOnce][kLanes] = {};
    float acc1[kRowsAtOnce][kLanes] = {};
    const float* w0 = w;
    const float* w1 = w + k;
    const float* w2 = w + 2 * static_cast<std::ptrdiff_t>(k);
    const float* w3 = w + 3 * static_cast<std::ptrdiff_t>(k);
    int p = 0;
    for (; p + kLanes <= k; p += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
            const float x0 = a0[p + l], x1 = a1[p + l];
            const float v0 = w0[p + l], v1 = w1[p + l], v2 = w2[p + l], v3 = w3[p + l];
            acc0[0][l] += x0 * v0;
            acc0[1][l] += x0 * v1;
            acc0[2][l] += x0 * v2;
            acc0[3][l] += x0 * v3;
            acc1[0][l] += x1 * v0;
            acc1[1][l] += x1 * v1;
            acc1[2][l] += x1 * v2;
            acc1[3][l] += x1 * v3;
        }
    }
    const float* rows[kRowsAtOnce] = {w0, w1, w2, w3};
    for (int r = 0; r < kRowsAtOnce; ++r) {
        float sum0 = fold_lanes(acc0[r]), sum1 = fold_lanes(acc1[r]);
        for (int q = p; q < k; ++q) {
            sum0 += a0[q] * rows[r][q];
            sum1 += a1[q] * rows[r][q];
        }
        out0[r] = sum0;
        out1[r] = sum1;
    }
}

HCLIP_SIMD_CLONES
float dot_one_row(const float* a, const float* w, int k) {
    float acc[kLanes] = {};
    int p = 0;
    for (; p + kLanes <= k; p += kLanes) {
        for (int l = 0; l < kLanes; ++l)
            acc[l] += a[p + l] * w[p + l];
    }
    float sum = fold_lanes(acc);
    for (int q = p; q < k; ++q)
        sum += a[q] * w[q];
    return sum;
}

const std::uint16_t* weight_row(const HalfGemmArgs& g, int j) {
    return g.w + static_cast<std::ptrdiff_t>(j) * g.k;
}

// Per-thread float32 copy of a few weight rows (direct kernel) or of a panel (panel kernel). Grows to the largest
// size a thread has needed, then stays: later calls do not allocate.
std::vector<float>& widened_scratch(std::size_t floats) {
    thread_local std::vector<float> scratch;
    if (scratch.size() < floats) scratch.resize(floats);
    return scratch;
}

// Few rows of A: each group of weight rows is widened once into L1 and dotted with every row of A, so the
// 16-bit weights are streamed from memory exactly once.
void direct_columns(const HalfGemmArgs& g, int n0, int n1) {
    float* wide = widened_scratch(static_cast<std::size_t>(kRowsAtOnce) * static_cast<std::size_t>(g.k)).data();
    for (int j = n0; j < n1; j += kRowsAtOnce) {
        const int rows = std::min(kRowsAtOnce, n1 - j);
        widen_half(g.type, weight_row(g, j), static_cast<std::size_t>(rows) * static_cast<std::size_t>(g.k), wide);
        int i = 0;
        if (rows == kRowsAtOnce) {
            for (; i + 2 <= g.m; i += 2) {
                const float* a = g.a + static_cast<std::ptrdiff_t>(i) * g.lda;
                float* c = g.c + static_cast<std::ptrdiff_t>(i) * g.ldc + j;
                dot_four_rows_twice(a, a + g.lda, wide, g.k, c, c + g.ldc);
            }
        }
        for (; i < g.m; ++i) {
            const float* a = g.a + static_cast<std::ptrdiff_t>(i) * g.lda;
            float* c = g.c + static_cast<std::ptrdiff_t>(i) * g.ldc + j;
            if (rows == kRowsAtOnce) {
                dot_four_rows(a, wide, g.k, c);
            } else {
                for (int r = 0; r < rows; ++r)
                    c[r] = dot_one_row(a, wide + static_cast<std::ptrdiff_t>(r) * g.k, g.k);
            }
        }
    }
}

// Many rows of A: the product is compute-bound, so widen a panel of weight rows and let the float32 GEMM do the
// arithmetic at its full speed. A panel of 256 rows keeps the GEMM's per-call repacking of A small next to it.
constexpr int kPanelRows = 256;

void panel_columns(const HalfGemmArgs& g, int n0, int n1) {
    const int panel_rows = std::min(kPanelRows, n1 - n0);
    float* panel = widened_scratch(static_cast<std::size_t>(panel_rows) * static_cast<std::size_t>(g.k)).data();
    for (int j = n0; j < n1; j += kPanelRows) {
        const int rows = std::min(kPanelRows, n1 - j);
        widen_half(g.type, weight_row(g, j), static_cast<std::size_t>(rows) * static_cast<std::size_t>(g.k), panel);
        gemm_f32({.m = g.m,
                  .n = rows,
                  .k = g.k,
                  .a = g.a,
                  .lda = g.lda,
                  .b = panel,
                  .ldb = g.k,
                  .b_transposed = true,
                  .c = g.c + j,
                  .ldc = g.ldc});
    }
}

void columns(const HalfGemmArgs& g, int n0, int n1) {
    if (g.m <= kHalfGemmDirectMaxRows)
        direct_columns(g, n0, n1);
    else
        panel_columns(g, n0, n1);
}

// As gemm_f32: one part per core in whole 64-column blocks, by shape and machine only.
int column_parts(const HalfGemmArgs& g) {
    const double work = static_cast<double>(g.m) * g.n * g.k;
    if (work < kMinSplitMultiplyAdds) return 1;
    return std::clamp(g.n / 64, 1, std::min(machine_cores(), 8));
}

}  // namespace

std::string_view half_type_name(HalfType type) {
    return type == HalfType::kBf16 ? "bf16" : "fp16";
}

void widen_half(HalfType type, const std::uint16_t* src, std::size_t count, float* dst) {
    if (type == HalfType::kBf16)
        widen_bf16_loop(src, count, dst);
    else
        widen_f16_loop(src, count, dst);
}

void gemm_f32_half_weights(const HalfGemmArgs& g) {
    if (g.m == 0 || g.n == 0) return;
    const int parts = column_parts(g);
    if (parts == 1) {
        columns(g, 0, g.n);
        return;
    }
    const int blocks = (g.n + 63) / 64;
    parallel_for(parts, [&](int p) {
        const int n0 = std::min(g.n, blocks * p / parts * 64);
        const int n1 = std::min(g.n, blocks * (p + 1) / parts * 64);
        if (n1 > n0) columns(g, n0, n1);
    });
}

void gemm_f32_half_weights_reference(const HalfGemmArgs& g) {
    // Widened by the scalar conversions of core/half.h, not by this file's vectorized ones.
    std::vector<double> row(static_cast<std::size_t>(g.k));
    for (int j = 0; j < g.n; ++j) {
        const std::uint16_t* w = weight_row(g, j);
        for (std::size_t p = 0; p < row.size(); ++p)
            row[p] = static_cast<double>(g.type == HalfType::kBf16 ? bf16_to_f32(w[p]) : f16_to_f32(w[p]));
        for (int i = 0; i < g.m; ++i) {
            double acc = 0.0;
            for (int p = 0; p < g.k; ++p)
                acc += static_cast<double>(g.a[static_cast<std::ptrdiff_t>(i) * g.lda + p]) *
                       row[static_cast<std::size_t>(p)];
            g.c[static_cast<std::ptrdiff_t>(i) * g.ldc + j] = static_cast<float>(acc);
        }
    }
}

}  // namespace hclip
