#include "kernels/ops.h"

#include <algorithm>
#include <cmath>

#include "kernels/compute_pool.h"
#include "kernels/fast_exp.h"
#include "kernels/simd_clones.h"

namespace hclip {

namespace {

// Up to one part per core for passes over at least kMinSplitValues values; every row is computed the same way in
// any part.
void for_row_parts(int rows, int cols, FunctionRef<void(int, int)> part) {
    const std::size_t values = static_cast<std::size_t>(rows) * static_cast<std::size_t>(std::max(cols, 0));
    parallel_ranges(rows, values < kMinSplitValues ? 1 : machine_cores(), part);
}

// A flat range cut into rows of this many values, so that flat passes split like row passes.
constexpr int kFlatRow = 4096;

template <class Part>
void for_flat_parts(std::size_t n, const Part& part) {
    const auto rows = static_cast<int>((n + kFlatRow - 1) / kFlatRow);
    for_row_parts(rows, kFlatRow, [&](int r0, int r1) {
        const std::size_t begin = static_cast<std::size_t>(r0) * kFlatRow;
        part(begin, std::min(n, static_cast<std::size_t>(r1) * kFlatRow));
    });
}

inline float quick_gelu(float x) {
    return x / (1.0f + fast_exp(-1.702f * x));
}

inline float gelu(float x) {
    constexpr float kInvSqrt2 = 0.70710678118654752f;
    return 0.5f * x * (1.0f + std::erf(x * kInvSqrt2));
}

// Mean and variance in double from eight running sums each (independent sums vectorize without reassociating
// the arithmetic; double keeps them robust where activations grow large).
HCLIP_SIMD_CLONES
void layer_norm_row_range(const float* x, int ldx, float* y, int ldy, int r0, int r1, int cols, const float* gamma,
                          const float* beta, float eps) {
    constexpr int kLanes = 8;
    const int body = cols - cols % kLanes;
    for (int r = r0; r < r1; ++r) {
        const float* xr = x + static_cast<std::ptrdiff_t>(r) * ldx;
        float* yr = y + static_cast<std::ptrdiff_t>(r) * ldy;
        double sums[kLanes] = {};
        for (int c = 0; c < body; c += kLanes)
            for (int j = 0; j < kLanes; ++j)
                sums[j] += static_cast<double>(xr[c + j]);
        double sum = 0.0;
        for (int c = body; c < cols; ++c)
            sum += static_cast<double>(xr[c]);
        for (double s : sums)
            sum += s;
        const double mean = sum / cols;
        double squares[kLanes] = {};
        for (int c = 0; c < body; c += kLanes) {
            for (int j = 0; j < kLanes; ++j) {
                const double d = static_cast<double>(xr[c + j]) - mean;
                squares[j] += d * d;
            }
        }
        double sq = 0.0;
        for (int c = body; c < cols; ++c) {
            const double d = static_cast<double>(xr[c]) - mean;
            sq += d * d;
        }
        for (double s : squares)
            sq += s;
        const float inv_std = static_cast<float>(1.0 / std::sqrt(sq / cols + static_cast<double>(eps)));
        const float m = static_cast<float>(mean);
        for (int c = 0; c < cols; ++c)
            yr[c] = (xr[c] - m) * inv_std * gamma[c] + beta[c];
    }
}

HCLIP_SIMD_CLONES
void add_range(float* x, const float* y, std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
        x[i] += y[i];
}

HCLIP_SIMD_CLONES
void softmax_row_range(float* x, int ldx, int r0, int r1, int cols, bool causal) {
    for (int r = r0; r < r1; ++r) {
        float* xr = x + static_cast<std::ptrdiff_t>(r) * ldx;
        const int visible = causal ? std::min(r + 1, cols) : cols;
        float mx = xr[0];
        for (int c = 1; c < visible; ++c)
            mx = std::max(mx, xr[c]);
        for (int c = 0; c < visible; ++c)
            xr[c] = fast_exp(xr[c] - mx);
        float sum = 0.0f;
        for (int c = 0; c < visible; ++c)
            sum += xr[c];
        const float inv = 1.0f / sum;
        for (int c = 0; c < visible; ++c)
            xr[c] *= inv;
        for (int c = visible; c < cols; ++c)
            xr[c] = 0.0f;
    }
}

// One loop per epilogue, so every loop is straight-line and vectorizes (GELU's std::erf stays scalar). The
// templates are inlined into one multi-versioned function per activation (Clang cannot multi-version a template).
template <bool kBias, EpilogueActivation kActivation, bool kAccumulate>
inline __attribute__((always_inline)) void epilogue_row_range(const float* src, int ld_src, float* dst, int ld_dst,
                                                              int r0, int r1, int cols, const float* bias) {
    for (int r = r0; r < r1; ++r) {
        const float* s = src + static_cast<std::ptrdiff_t>(r) * ld_src;
        float* d = dst + static_cast<std::ptrdiff_t>(r) * ld_dst;
        for (int c = 0; c < cols; ++c) {
            float v = s[c];
            if constexpr (kBias) v += bias[c];
            if constexpr (kActivation == EpilogueActivation::kQuickGelu) v = quick_gelu(v);
            if constexpr (kActivation == EpilogueActivation::kGelu) v = gelu(v);
            if constexpr (kActivation == EpilogueActivation::kRelu) v = std::max(v, 0.0f);
            if constexpr (kAccumulate)
                d[c] += v;
            else
                d[c] = v;
        }
    }
}

template <EpilogueActivation kActivation>
inline __attribute__((always_inline)) void epilogue_rows_with(const float* src, int ld_src, float* dst, int ld_dst,
                                                              int r0, int r1, int cols, const float* bias,
                                                              bool accumulate) {
    if (bias != nullptr && accumulate)
        epilogue_row_range<true, kActivation, true>(src, ld_src, dst, ld_dst, r0, r1, cols, bias);
    else if (bias != nullptr)
        epilogue_row_range<true, kActivation, false>(src, ld_src, dst, ld_dst, r0, r1, cols, bias);
    else if (accumulate)
        epilogue_row_range<false, kActivation, true>(src, ld_src, dst, ld_dst, r0, r1, cols, bias);
    else
        epilogue_row_range<false, kActivation, false>(src, ld_src, dst, ld_dst, r0, r1, cols, bias);
}

HCLIP_SIMD_CLONES
void epilogue_rows_plain(const float* src, int ld_src, float* dst, int ld_dst, int r0, int r1, int cols,
                         const float* bias, bool accumulate) {
    epilogue_rows_with<EpilogueActivation::kNone>(src, ld_src, dst, ld_dst, r0, r1, cols, bias, accumulate);
}

HCLIP_SIMD_CLONES
void epilogue_rows_quick_gelu(const float* src, int ld_src, float* dst, int ld_dst, int r0, int r1, int cols,
                              const float* bias, bool accumulate) {
    epilogue_rows_with<EpilogueActivation::kQuickGelu>(src, ld_src, dst, ld_dst, r0, r1, cols, bias, accumulate);
}

HCLIP_SIMD_CLONES
void epilogue_rows_gelu(const float* src, int ld_src, float* dst, int ld_dst, int r0, int r1, int cols,
                        const float* bias, bool accumulate) {
    epilogue_rows_with<EpilogueActivation::kGelu>(src, ld_src, dst, ld_dst, r0, r1, cols, bias, accumulate);
}

HCLIP_SIMD_CLONES
void epilogue_rows_relu(const float* src, int ld_src, float* dst, int ld_dst, int r0, int r1, int cols,
                        const float* bias, bool accumulate) {
    epilogue_rows_with<EpilogueActivation::kRelu>(src, ld_src, dst, ld_dst, r0, r1, cols, bias, accumulate);
}

using EpilogueRows = void (*)(const float*, int, float*, int, int, int, int, const float*, bool);

EpilogueRows epilogue_for(EpilogueActivation activation) {
    switch (activation) {
        case EpilogueActivation::kQuickGelu:
            return &epilogue_rows_quick_gelu;
        case EpilogueActivation::kGelu:
            return &epilogue_rows_gelu;
        case EpilogueActivation::kRelu:
            return &epilogue_rows_relu;
        case EpilogueActivation::kNone:
            break;
    }
    return &epilogue_rows_plain;
}

}  // namespace

void layer_norm_rows(const float* x, int ldx, float* y, int ldy, int rows, int cols, const float* gamma,
                     const float* beta, float eps) {
    for_row_parts(rows, cols,
                  [&](int r0, int r1) { layer_norm_row_range(x, ldx, y, ldy, r0, r1, cols, gamma, beta, eps); });
}

void add_bias_rows(float* x, int ldx, int rows, int cols, const float* bias) {
    apply_epilogue({.bias = bias}, x, ldx, x, ldx, rows, cols);
}

void add_inplace(float* x, const float* y, std::size_t n) {
    for_flat_parts(n, [&](std::size_t begin, std::size_t end) { add_range(x, y, begin, end); });
}

void gelu_inplace(float* x, std::size_t n) {
    for_flat_parts(n, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i)
            x[i] = gelu(x[i]);
    });
}

void softmax_rows(float* x, int ldx, int rows, int cols, bool causal) {
    for_row_parts(rows, cols, [&](int r0, int r1) { softmax_row_range(x, ldx, r0, r1, cols, causal); });
}

void apply_epilogue(const Epilogue& e, const float* src, int ld_src, float* dst, int ld_dst, int rows, int cols) {
    if (e.bias == nullptr && e.activation == EpilogueActivation::kNone && !e.accumulate && src == dst) return;
    const EpilogueRows run = epilogue_for(e.activation);
    for_row_parts(rows, cols,
                  [&](int r0, int r1) { run(src, ld_src, dst, ld_dst, r0, r1, cols, e.bias, e.accumulate); });
}

}  // namespace hclip
