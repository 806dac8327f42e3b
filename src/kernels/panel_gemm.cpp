#include "kernels/panel_gemm.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kernels/ops.h"

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target)
#define HCLIP_PANEL_GEMM_AVX512 1
#include <immintrin.h>
#endif
#endif

namespace hclip {

#ifdef HCLIP_PANEL_GEMM_AVX512

namespace {

constexpr int kPanel = 64;    // columns per panel: four 16-float registers
constexpr int kMaxRows = 6;   // rows per tile: 24 accumulators + 4 weight registers + 1 broadcast of 32 registers
constexpr int kChunkK = 768;  // rows of weights per chunk: 192 KB, computed on while the next one is prefetched

// Prefetches of the next weight chunk a tile pass issues: `count` lines from `first`, `per_k` per step of k.
struct Prefetch {
    const char* first = nullptr;
    int count = 0, per_k = 0;
};

// Where a tile pass leaves its sums: in acc (more chunks to come, or an activation to apply), or, after the last
// chunk of a product without activation, in C's first `cols` columns, plus the bias and, when accumulating, C's
// old values (a residual add), straight from the registers.
struct TileOut {
    float* c = nullptr;  // null: acc
    std::ptrdiff_t ldc = 0;
    const float* bias = nullptr;
    bool accumulate = false;
    int cols = kPanel;
};

// acc[MR][64] (+)= A[MR rows, kc] * B[kc][64]; B's rows are 64 floats apart, acc's too. The accumulators stay in
// registers for the whole pass; `first` starts them at zero instead of reading acc.
template <int MR>
__attribute__((target("avx512f"))) void tile(const float* a, std::ptrdiff_t lda, const float* b, int kc, float* acc,
                                             bool first, Prefetch pf, TileOut out) {
    __m512 c[MR][4];
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j)
            c[m][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + m * kPanel + 16 * j);
    }
    int line = 0;
    for (int k = 0; k < kc; ++k) {
        const float* bk = b + static_cast<std::ptrdiff_t>(k) * kPanel;
        const __m512 b0 = _mm512_load_ps(bk), b1 = _mm512_load_ps(bk + 16), b2 = _mm512_load_ps(bk + 32),
                     b3 = _mm512_load_ps(bk + 48);
        for (int p = 0; p < pf.per_k && line < pf.count; ++p, ++line)
            _mm_prefetch(pf.first + static_cast<std::ptrdiff_t>(line) * 64, _MM_HINT_T1);
#pragma GCC unroll 8
        for (int m = 0; m < MR; ++m) {
            const __m512 av = _mm512_set1_ps(a[m * lda + k]);
            c[m][0] = _mm512_fmadd_ps(av, b0, c[m][0]);
            c[m][1] = _mm512_fmadd_ps(av, b1, c[m][1]);
            c[m][2] = _mm512_fmadd_ps(av, b2, c[m][2]);
            c[m][3] = _mm512_fmadd_ps(av, b3, c[m][3]);
        }
    }
    if (out.c == nullptr) {
#pragma GCC unroll 8
        for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
            for (int j = 0; j < 4; ++j)
                _mm512_storeu_ps(acc + m * kPanel + 16 * j, c[m][j]);
        }
        return;
    }
    __mmask16 mask[4];
    __m512 bias[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
        const int valid = std::clamp(out.cols - 16 * j, 0, 16);
        mask[j] = static_cast<__mmask16>((1u << valid) - 1u);
        bias[j] = out.bias != nullptr ? _mm512_maskz_loadu_ps(mask[j], out.bias + 16 * j) : _mm512_setzero_ps();
    }
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) {
        float* row = out.c + m * out.ldc;
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
            __m512 v = _mm512_add_ps(c[m][j], bias[j]);
            if (out.accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask[j], row + 16 * j));
            _mm512_mask_storeu_ps(row + 16 * j, mask[j], v);
        }
    }
}

using TileFn = void (*)(const float*, std::ptrdiff_t, const float*, int, float*, bool, Prefetch, TileOut);
constexpr TileFn kTiles[kMaxRows + 1] = {nullptr, tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};

// The k range of chunk i of `chunks`.
int chunk_begin(int k, int chunks, int i) {
    return static_cast<int>(static_cast<long>(k) * i / chunks);
}

}  // namespace

bool panel_gemm_supported() {
    static const bool supported = __builtin_cpu_supports("avx512f");
    return supported;
}

void panel_gemm(int m, const float* a, int lda, const PanelWeights& b, float* c, int ldc, const Epilogue& epilogue) {
    if (m <= 0 || b.n <= 0) return;
    // One panel's results for all rows, while its chunks are summed; the epilogue writes them out.
    thread_local std::vector<float> panel_rows;
    if (panel_rows.size() < static_cast<std::size_t>(m) * kPanel)
        panel_rows.resize(static_cast<std::size_t>(m) * kPanel);
    float* const sums = panel_rows.data();

    const int panels = (b.n + kPanel - 1) / kPanel;
    const int groups = (m + kMaxRows - 1) / kMaxRows;  // row tiles, as even as possible
    const int chunks = std::max(1, (b.k + kChunkK / 2) / kChunkK);
    const std::ptrdiff_t panel_stride = static_cast<std::ptrdiff_t>(b.k_padded) * kPanel;
    for (int p = 0; p < panels; ++p) {
        const float* panel = b.data + p * panel_stride;
        const int col0 = p * kPanel, cols = std::min(kPanel, b.n - col0);
        for (int ci = 0; ci < chunks; ++ci) {
            const int k0 = chunk_begin(b.k, chunks, ci), kc = chunk_begin(b.k, chunks, ci + 1) - k0;
            // The next chunk in memory order (this panel's next, or the next panel's first), fetched into L2
            // while this one is computed on: an equal share of its lines in each row tile's pass.
            const float* next = nullptr;
            int next_rows = 0;
            if (ci + 1 < chunks) {
                next = panel + static_cast<std::ptrdiff_t>(chunk_begin(b.k, chunks, ci + 1)) * kPanel;
                next_rows = chunk_begin(b.k, chunks, ci + 2) - chunk_begin(b.k, chunks, ci + 1);
            } else if (p + 1 < panels) {
                next = panel + panel_stride;
                next_rows = chunk_begin(b.k, chunks, 1);
            }
            const int next_lines = next_rows * kPanel * static_cast<int>(sizeof(float)) / 64;
            const int lines_per_pass = (next_lines + groups - 1) / groups;
            const int per_k = (lines_per_pass + kc - 1) / kc;
            const bool direct = ci + 1 == chunks && epilogue.activation == EpilogueActivation::kNone;
            for (int g = 0; g < groups; ++g) {
                const int r0 = m * g / groups, r1 = m * (g + 1) / groups;
                TileOut out;
                if (direct) {
                    out = {.c = c + static_cast<std::ptrdiff_t>(r0) * ldc + col0,
                           .ldc = ldc,
                           .bias = epilogue.bias != nullptr ? epilogue.bias + col0 : nullptr,
                           .accumulate = epilogue.accumulate,
                           .cols = cols};
                }
                const int first_line = std::min(next_lines, g * lines_per_pass);
                const Prefetch pf{next == nullptr ? nullptr : reinterpret_cast<const char*>(next) + first_line * 64,
                                  std::min(next_lines, (g + 1) * lines_per_pass) - first_line, per_k};
                kTiles[r1 - r0](a + static_cast<std::ptrdiff_t>(r0) * lda + k0, lda,
                                panel + static_cast<std::ptrdiff_t>(k0) * kPanel, kc, sums + r0 * kPanel, ci == 0, pf,
                                out);
            }
        }
        if (epilogue.activation == EpilogueActivation::kNone) continue;  // written by the last tile passes
        Epilogue e = epilogue;
        if (e.bias != nullptr) e.bias += col0;
        apply_epilogue(e, sums, kPanel, c + col0, ldc, m, cols);
    }
}

#else  // no AVX-512 path in this build

bool panel_gemm_supported() {
    return false;
}

void panel_gemm(int, const float*, int, const PanelWeights&, float*, int, const Epilogue&) {
    // Unreachable: callers check panel_gemm_supported() first.
    std::fputs("hailo-clip: panel_gemm called in a build without it\n", stderr);
    std::abort();
}

#endif

}  // namespace hclip
