#include "kernels/panel_gemm.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/ops.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target)
#define HCLIP_PANEL_GEMM_X86 1
#include <immintrin.h>
#endif
#endif

namespace hclip {

#ifdef HCLIP_PANEL_GEMM_X86

namespace {

constexpr int kPanel = 64;  // columns per panel: four 16-float AVX-512 registers, eight 8-float AVX2 ones
// Rows per tile. AVX-512: 24 accumulators (6 rows x 64 columns) + 4 weight registers + 1 broadcast of 32
// registers. AVX2: 12 accumulators (6 rows x 16 columns) + 2 weight registers + 1 broadcast of 16.
constexpr int kMaxRows = 6;

// Prefetches of the next weight chunk a tile pass issues: `count` lines from `first`.
struct Prefetch {
    const char* first = nullptr;
    int count = 0;
};

// Issues the prefetches due at a step of a pass of `steps`: the running count `due` spreads pf.count of them as
// evenly over the pass as the steps allow. Each software prefetch holds one of the core's few line-fill buffers for
// a whole trip to memory, and the tile's own loads from L2 wait for the same buffers, so bursts starve the
// arithmetic: measured on a Xeon (Emerald Rapids), two threads, the batch-1 ViT-B/32 image tower took 8-14% less
// time than with the prefetches issued one a step from the start of the pass (docs/performance.md).
__attribute__((always_inline)) inline void prefetch_due(const Prefetch& pf, int steps, int& due, int& issued) {
    for (due += pf.count; due >= steps; due -= steps, ++issued)
        _mm_prefetch(pf.first + static_cast<std::ptrdiff_t>(issued) * 64, _MM_HINT_T1);
}

// Where a tile pass leaves its sums: in acc (more chunks to come, or GELU to apply), or, after the last chunk, in
// C's first `cols` columns with the bias, QuickGELU or ReLU, and, when accumulating, C's old values added (a
// residual add), straight from the registers.
struct TileOut {
    float* c = nullptr;  // null: acc
    std::ptrdiff_t ldc = 0;
    const float* bias = nullptr;
    EpilogueActivation activation = EpilogueActivation::kNone;
    bool accumulate = false;
    int cols = kPanel;  // of the tile's columns (64 or 16), those inside C
};

// Whether store_tile applies this activation itself (GELU's erf goes through the shared epilogue).
bool activation_in_registers(EpilogueActivation a) {
    return a == EpilogueActivation::kNone || a == EpilogueActivation::kQuickGelu || a == EpilogueActivation::kRelu;
}

// kernels/fast_exp.h's exp, the same steps on 16 lanes.
__attribute__((target("avx512f"), always_inline)) inline __m512 exp16(__m512 input) {
    // maskz forms throughout: GCC 12 warns that the plain intrinsics use an uninitialized value.
    const __m512 x =
        _mm512_maskz_min_ps(0xffff, _mm512_maskz_max_ps(0xffff, input, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 round = _mm512_set1_ps(12582912.0f);
    const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), round), round);
    const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440054690583e-4f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x));
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i biased = _mm512_add_epi32(_mm512_maskz_cvtps_epi32(0xffff, n), _mm512_set1_epi32(127));
    const __m512 value = _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, biased, 23)));
    const __mmask16 underflow = _mm512_cmp_ps_mask(input, _mm512_set1_ps(-87.0f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(underflow, value, _mm512_setzero_ps());
}

__attribute__((target("avx512f"), always_inline)) inline __m512 activate(__m512 v, EpilogueActivation a) {
    if (a == EpilogueActivation::kQuickGelu) {
        const __m512 e = exp16(_mm512_mul_ps(v, _mm512_set1_ps(-1.702f)));
        return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    if (a == EpilogueActivation::kRelu) return _mm512_maskz_max_ps(0xffff, v, _mm512_setzero_ps());
    return v;
}

// Leaves a tile pass's sums where `out` says: in acc, or in C with the bias and (accumulating) C's old values.
template <int MR>
__attribute__((target("avx512f"), always_inline)) inline void store_tile(__m512 (&c)[MR][4], float* acc,
                                                                         const TileOut& out) {
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
            __m512 v = activate(_mm512_add_ps(c[m][j], bias[j]), out.activation);
            if (out.accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask[j], row + 16 * j));
            _mm512_mask_storeu_ps(row + 16 * j, mask[j], v);
        }
    }
}

template <int MR>
__attribute__((target("avx512f"), always_inline)) inline void load_tile(__m512 (&c)[MR][4], const float* acc,
                                                                        bool first) {
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j)
            c[m][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + m * kPanel + 16 * j);
    }
}

// How one kind of panel is multiplied: its element types, the k values one step of the tile consumes, the columns
// of the panel one tile covers (kTileCols) and the tile pass itself.
//
// acc[MR][kTileCols] (+)= A[MR rows, steps * kStep] * B[those rows][kTileCols]; acc's rows are kPanel apart, B's
// rows 256 bytes apart (one row of the panel). The accumulators stay in registers for the
// whole pass; `first` starts them at zero instead of reading acc.
struct F32Panels {
    using Element = float;
    static constexpr int kStep = 1;
    static constexpr int kTileCols = kPanel;  // a tile covers the whole panel
    // Weights per chunk, computed on while the next one is prefetched.
    static constexpr int kChunkBytes = 192 << 10;

    template <int MR>
    __attribute__((target("avx512f"))) static void tile(const float* a, std::ptrdiff_t lda, const float* b, int steps,
                                                        bool, float* acc, bool first, Prefetch pf, TileOut out) {
        __m512 c[MR][4];
        load_tile<MR>(c, acc, first);
        int due = 0, issued = 0;
        for (int k = 0; k < steps; ++k) {
            const float* bk = b + static_cast<std::ptrdiff_t>(k) * kPanel;
            const __m512 b0 = _mm512_load_ps(bk), b1 = _mm512_load_ps(bk + 16), b2 = _mm512_load_ps(bk + 32),
                         b3 = _mm512_load_ps(bk + 48);
            prefetch_due(pf, steps, due, issued);
#pragma GCC unroll 8
            for (int m = 0; m < MR; ++m) {
                const __m512 av = _mm512_set1_ps(a[m * lda + k]);
                c[m][0] = _mm512_fmadd_ps(av, b0, c[m][0]);
                c[m][1] = _mm512_fmadd_ps(av, b1, c[m][1]);
                c[m][2] = _mm512_fmadd_ps(av, b2, c[m][2]);
                c[m][3] = _mm512_fmadd_ps(av, b3, c[m][3]);
            }
        }
        store_tile<MR>(c, acc, out);
    }
};

// Rows in pairs: one step is a pair of A's values (one 32-bit broadcast) against a panel row of 64 columns x 2.
// `odd_end`: the last step's second row is past k; its weights (padding) are masked to zero.
struct Bf16Panels {
    using Element = std::uint16_t;
    static constexpr int kStep = 2;
    static constexpr int kTileCols = kPanel;
    static constexpr int kChunkBytes = 192 << 10;

    template <int MR>
    __attribute__((target("avx512f,avx512bf16"))) static void tile(const std::uint16_t* a, std::ptrdiff_t lda,
                                                                   const std::uint16_t* b, int steps, bool odd_end,
                                                                   float* acc, bool first, Prefetch pf, TileOut out) {
        __m512 c[MR][4];
        load_tile<MR>(c, acc, first);
        int due = 0, issued = 0;
        for (int s = 0; s < steps; ++s) {
            const std::uint16_t* bk = b + static_cast<std::ptrdiff_t>(s) * 2 * kPanel;
            // Even elements are the pair's first row: the mask keeps only those on an odd end.
            const __mmask32 keep = odd_end && s + 1 == steps ? 0x55555555u : 0xffffffffu;
            const __m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi16(keep, bk),
                           b1 = (__m512bh)_mm512_maskz_loadu_epi16(keep, bk + 32),
                           b2 = (__m512bh)_mm512_maskz_loadu_epi16(keep, bk + 64),
                           b3 = (__m512bh)_mm512_maskz_loadu_epi16(keep, bk + 96);
            prefetch_due(pf, steps, due, issued);
#pragma GCC unroll 8
            for (int m = 0; m < MR; ++m) {
                std::int32_t pair;
                std::memcpy(&pair, a + m * lda + 2 * s, sizeof pair);
                const __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
                c[m][0] = _mm512_dpbf16_ps(c[m][0], av, b0);
                c[m][1] = _mm512_dpbf16_ps(c[m][1], av, b1);
                c[m][2] = _mm512_dpbf16_ps(c[m][2], av, b2);
                c[m][3] = _mm512_dpbf16_ps(c[m][3], av, b3);
            }
        }
        store_tile<MR>(c, acc, out);
    }
};

// The float32 panels on CPUs with AVX2 and FMA but no AVX-512 (AMD Zen 1-3, Intel client cores): 16 of the
// 64 columns per tile, so a panel is computed as four column strips. A strip reads one 64-byte line of each
// 256-byte panel row; the chunk's prefetch into L2 brings the other three for the strips after it.

// kernels/fast_exp.h's exp, the same steps on 8 lanes.
__attribute__((target("avx2,fma"), always_inline)) inline __m256 exp8(__m256 input) {
    const __m256 x = _mm256_min_ps(_mm256_max_ps(input, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 round = _mm256_set1_ps(12582912.0f);
    const __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), round), round);
    const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440054690583e-4f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x));
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    const __m256 value = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
    const __m256 underflow = _mm256_cmp_ps(input, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
    return _mm256_blendv_ps(value, _mm256_setzero_ps(), underflow);
}

__attribute__((target("avx2,fma"), always_inline)) inline __m256 activate8(__m256 v, EpilogueActivation a) {
    if (a == EpilogueActivation::kQuickGelu) {
        const __m256 e = exp8(_mm256_mul_ps(v, _mm256_set1_ps(-1.702f)));
        return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
    if (a == EpilogueActivation::kRelu) return _mm256_max_ps(v, _mm256_setzero_ps());
    return v;
}

// Lanes [0, valid) of 8 set, as AVX2's masked loads and stores want them (the sign bit of each 32-bit lane).
__attribute__((target("avx2"), always_inline)) inline __m256i lane_mask8(int valid) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

struct F32PanelsAvx2 {
    using Element = float;
    static constexpr int kStep = 1;
    static constexpr int kTileCols = 16;
    // Half the AVX-512 kernel's: an L2 of 512 KB (Zen 2) then holds the chunk, the next one on its way and A's rows
    // for the chunk (50 x 384 floats, 75 KB). Measured on such a CPU, the batch-1 ViT-B/32 image tower took 0.96-0.97x
    // of its time with 192 KB chunks, the 7-token text 0.97x (15 rounds in turn in one process); 384 KB took 1.04x.
    static constexpr int kChunkBytes = 96 << 10;

    template <int MR>
    __attribute__((target("avx2,fma"))) static void tile(const float* a, std::ptrdiff_t lda, const float* b, int steps,
                                                         bool, float* acc, bool first, Prefetch pf, TileOut out) {
        __m256 c[MR][2];
#pragma GCC unroll 8
        for (int m = 0; m < MR; ++m) {
            c[m][0] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + m * kPanel);
            c[m][1] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + m * kPanel + 8);
        }
        int due = 0, issued = 0;
        for (int k = 0; k < steps; ++k) {
            const float* bk = b + static_cast<std::ptrdiff_t>(k) * kPanel;
            const __m256 b0 = _mm256_load_ps(bk), b1 = _mm256_load_ps(bk + 8);
            prefetch_due(pf, steps, due, issued);
#pragma GCC unroll 8
            for (int m = 0; m < MR; ++m) {
                const __m256 av = _mm256_broadcast_ss(a + m * lda + k);
                c[m][0] = _mm256_fmadd_ps(av, b0, c[m][0]);
                c[m][1] = _mm256_fmadd_ps(av, b1, c[m][1]);
            }
        }
        if (out.c == nullptr) {
#pragma GCC unroll 8
            for (int m = 0; m < MR; ++m) {
                _mm256_storeu_ps(acc + m * kPanel, c[m][0]);
                _mm256_storeu_ps(acc + m * kPanel + 8, c[m][1]);
            }
            return;
        }
        // After the last chunk: bias, QuickGELU or ReLU and (accumulating) C's old values, straight to C.
        __m256i mask[2];
        __m256 bias[2];
#pragma GCC unroll 2
        for (int j = 0; j < 2; ++j) {
            mask[j] = lane_mask8(std::clamp(out.cols - 8 * j, 0, 8));
            bias[j] = out.bias != nullptr ? _mm256_maskload_ps(out.bias + 8 * j, mask[j]) : _mm256_setzero_ps();
        }
#pragma GCC unroll 8
        for (int m = 0; m < MR; ++m) {
            float* row = out.c + m * out.ldc;
#pragma GCC unroll 2
            for (int j = 0; j < 2; ++j) {
                __m256 v = activate8(_mm256_add_ps(c[m][j], bias[j]), out.activation);
                if (out.accumulate) v = _mm256_add_ps(v, _mm256_maskload_ps(row + 8 * j, mask[j]));
                _mm256_maskstore_ps(row + 8 * j, mask[j], v);
            }
        }
    }
};

// One panel's results for all m rows while they are summed, before the epilogue writes them out: a buffer per
// thread, shared by both ways of multiplying.
float* panel_sums(int m) {
    thread_local std::vector<float> sums;
    if (sums.size() < static_cast<std::size_t>(m) * kPanel) sums.resize(static_cast<std::size_t>(m) * kPanel);
    return sums.data();
}

// The first k value of chunk i of `chunks`, a whole number of steps.
template <class Panels>
int chunk_begin(int k, int chunks, int i) {
    const long steps = (k + Panels::kStep - 1) / Panels::kStep;
    return static_cast<int>(steps * i / chunks) * Panels::kStep;
}

// Every panel of B, chunk by chunk, each chunk by all row tiles (module comment in panel_gemm.h).
template <class Panels>
void multiply_panels(int m, const typename Panels::Element* a, int lda, const typename Panels::Element* data, int n,
                     int k, int k_padded, float* c, int ldc, const Epilogue& epilogue) {
    using Element = typename Panels::Element;
    using TileFn = void (*)(const Element*, std::ptrdiff_t, const Element*, int, bool, float*, bool, Prefetch, TileOut);
    static constexpr TileFn kTiles[kMaxRows + 1] = {nullptr,
                                                    Panels::template tile<1>,
                                                    Panels::template tile<2>,
                                                    Panels::template tile<3>,
                                                    Panels::template tile<4>,
                                                    Panels::template tile<5>,
                                                    Panels::template tile<6>};
    if (m <= 0 || n <= 0) return;
    float* const sums = panel_sums(m);

    // A row of k of a panel is 64 elements in either layout, so k value r starts at element r * 64.
    constexpr int kRowBytes = kPanel * static_cast<int>(sizeof(Element));
    constexpr int kChunkRows = Panels::kChunkBytes / kRowBytes;
    const int panels = (n + kPanel - 1) / kPanel;
    const int groups = (m + kMaxRows - 1) / kMaxRows;  // row tiles, as even as possible
    const int chunks = std::max(1, (k + kChunkRows / 2) / kChunkRows);
    const auto begin = [&](int i) { return std::min(k, chunk_begin<Panels>(k, chunks, i)); };
    const std::ptrdiff_t panel_stride = static_cast<std::ptrdiff_t>(k_padded) * kPanel;
    for (int p = 0; p < panels; ++p) {
        const Element* panel = data + p * panel_stride;
        const int col0 = p * kPanel, cols = std::min(kPanel, n - col0);
        for (int ci = 0; ci < chunks; ++ci) {
            const int k0 = begin(ci), k1 = begin(ci + 1);
            const int steps = (k1 - k0 + Panels::kStep - 1) / Panels::kStep;
            const bool odd_end = (k1 - k0) % Panels::kStep != 0;
            // The next chunk in memory order (this panel's next, or the next panel's first), fetched into L2
            // while this one is computed on: an equal share of its lines in each row tile's pass.
            const Element* next = nullptr;
            int next_rows = 0;
            if (ci + 1 < chunks) {
                next = panel + static_cast<std::ptrdiff_t>(k1) * kPanel;
                next_rows = begin(ci + 2) - k1;
            } else if (p + 1 < panels) {
                next = panel + panel_stride;
                next_rows = begin(1);
            }
            const int next_lines = next_rows * kRowBytes / 64;
            // The panel's strips of kTileCols columns that hold some of C's (all but the last panel's: all).
            const int strips = (cols + Panels::kTileCols - 1) / Panels::kTileCols;
            const int passes = strips * groups;
            const int lines_per_pass = (next_lines + passes - 1) / passes;
            const bool direct = ci + 1 == chunks && activation_in_registers(epilogue.activation);
            for (int pass = 0; pass < passes; ++pass) {
                // Strip by strip, each by every row tile: a strip's weights serve all rows while in cache (the
                // AVX2 tiles' strip of a 96 KB chunk, 24 KB, in L1).
                const int strip = pass / groups, g = pass % groups;
                const int r0 = m * g / groups, r1 = m * (g + 1) / groups;
                const int strip_col = strip * Panels::kTileCols;
                TileOut out;
                if (direct) {
                    out = {.c = c + static_cast<std::ptrdiff_t>(r0) * ldc + col0 + strip_col,
                           .ldc = ldc,
                           .bias = epilogue.bias != nullptr ? epilogue.bias + col0 + strip_col : nullptr,
                           .activation = epilogue.activation,
                           .accumulate = epilogue.accumulate,
                           .cols = cols - strip_col};
                }
                const int first_line = std::min(next_lines, pass * lines_per_pass);
                const Prefetch pf{next == nullptr ? nullptr : reinterpret_cast<const char*>(next) + first_line * 64,
                                  std::min(next_lines, (pass + 1) * lines_per_pass) - first_line};
                kTiles[r1 - r0](a + static_cast<std::ptrdiff_t>(r0) * lda + k0, lda,
                                panel + static_cast<std::ptrdiff_t>(k0) * kPanel + strip_col * Panels::kStep, steps,
                                odd_end, sums + r0 * kPanel + strip_col, ci == 0, pf, out);
            }
        }
        if (activation_in_registers(epilogue.activation)) continue;  // written by the last tile passes
        Epilogue e = epilogue;
        if (e.bias != nullptr) e.bias += col0;
        apply_epilogue(e, sums, kPanel, c + col0, ldc, m, cols);
    }
}

// AMX tiles (Intel Sapphire Rapids and later): one TDPBF16PS multiplies a 16-row x 32-value block of A into 16
// rows x 16 columns of sums, 256 times the multiply-adds of one vdpbf16ps. The same paired panels are exactly the B
// tiles it wants: 16 row pairs x 16 columns, 64 bytes a row, rows 256 bytes apart within a 64-column panel. Measured on
// such a CPU, the dot-product kernel above ran at about half the library's AMX kernel for 32 rows and more, which
// itself stalls on the weight stream at a batch of one; this one prefetches the next panel while it computes.

constexpr int kTileRows = 16;   // rows of A (and C) per tile
constexpr int kTileDepth = 32;  // bf16 values of k per tile step: 16 row pairs

// The tile register configuration (palette 1): C in tmm0-3 (rows x 16 floats), A in tmm4 (rows x 32 bf16), B in
// tmm5-7 (16 row pairs x 16 columns x 2; a step's fourth B tile reuses tmm5).
struct alignas(64) TileConfig {
    std::uint8_t palette = 1;
    std::uint8_t start_row = 0;
    std::uint8_t reserved[14] = {};
    std::uint16_t colsb[16] = {};
    std::uint8_t rows[16] = {};
};

TileConfig tile_config(int rows) {
    TileConfig t;
    for (int i = 0; i < 8; ++i) {
        t.colsb[i] = 64;
        t.rows[i] = static_cast<std::uint8_t>(i <= 4 ? rows : kTileRows);
    }
    return t;
}

// Linux hands out the tile registers' state only on request (once per process; the library asks too).
bool request_tile_state() {
#if defined(__linux__)
    constexpr long kArchRequestXcompPerm = 0x1023, kXfeatureTileData = 18;
    return syscall(SYS_arch_prctl, kArchRequestXcompPerm, kXfeatureTileData) == 0;
#else
    return false;
#endif
}

bool cpu_has_amx_bf16() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
    const bool amx_bf16 = (edx >> 22) & 1u, amx_tile = (edx >> 24) & 1u;
    return amx_bf16 && amx_tile;
}

// Every panel, each row block of 16 (fewer in the last) over the whole depth at once: the sums stay in the four C
// tiles, and are stored to `sums` once per panel for the epilogue. While a panel is computed on, an equal share of
// the next panel's lines is prefetched into L2 at each step of each row block.
__attribute__((target("avx512f,amx-tile,amx-bf16"))) void multiply_panels_tiles(int m, const std::uint16_t* a, int lda,
                                                                                const std::uint16_t* data, int n, int k,
                                                                                int k_padded, float* c, int ldc,
                                                                                const Epilogue& epilogue) {
    if (m <= 0 || n <= 0) return;
    float* const sums = panel_sums(m);
    const TileConfig full = tile_config(kTileRows), last = tile_config(m % kTileRows);
    const int panels = (n + kPanel - 1) / kPanel, blocks = (m + kTileRows - 1) / kTileRows;
    const int steps = k / kTileDepth;
    const std::ptrdiff_t panel_stride = static_cast<std::ptrdiff_t>(k_padded) * kPanel;
    const std::ptrdiff_t a_stride = static_cast<std::ptrdiff_t>(lda) * 2;
    constexpr std::ptrdiff_t kPanelRowBytes = kPanel * 2 * 2;  // a row pair of 64 columns
    const int panel_lines = static_cast<int>(static_cast<std::ptrdiff_t>(k) * kPanel * 2 / 64);
    const int per_step = (panel_lines + blocks * steps - 1) / (blocks * steps);
    const TileConfig* loaded = nullptr;
    for (int p = 0; p < panels; ++p) {
        const std::uint16_t* panel = data + p * panel_stride;
        const char* next = p + 1 < panels ? reinterpret_cast<const char*>(panel + panel_stride) : nullptr;
        int line = 0;
        for (int blk = 0; blk < blocks; ++blk) {
            const int r0 = blk * kTileRows;
            const TileConfig* config = m - r0 >= kTileRows ? &full : &last;
            if (config != loaded) {
                _tile_loadconfig(config);
                loaded = config;
            }
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            const std::uint16_t* rows = a + static_cast<std::ptrdiff_t>(r0) * lda;
            for (int s = 0; s < steps; ++s) {
                const std::uint16_t* b = panel + static_cast<std::ptrdiff_t>(s) * kTileDepth * kPanel;
                _tile_loadd(4, rows + s * kTileDepth, a_stride);
                _tile_loadd(5, b, kPanelRowBytes);
                _tile_dpbf16ps(0, 4, 5);
                _tile_loadd(6, b + 32, kPanelRowBytes);
                _tile_dpbf16ps(1, 4, 6);
                _tile_loadd(7, b + 64, kPanelRowBytes);
                _tile_dpbf16ps(2, 4, 7);
                _tile_loadd(5, b + 96, kPanelRowBytes);
                _tile_dpbf16ps(3, 4, 5);
                if (next == nullptr) continue;
                for (int i = 0; i < per_step && line < panel_lines; ++i, ++line)
                    _mm_prefetch(next + static_cast<std::ptrdiff_t>(line) * 64, _MM_HINT_T1);
            }
            float* out = sums + static_cast<std::ptrdiff_t>(r0) * kPanel;
            constexpr std::ptrdiff_t kSumsStride = kPanel * sizeof(float);
            _tile_stored(0, out, kSumsStride);
            _tile_stored(1, out + 16, kSumsStride);
            _tile_stored(2, out + 32, kSumsStride);
            _tile_stored(3, out + 48, kSumsStride);
        }
        const int col0 = p * kPanel;
        Epilogue e = epilogue;
        if (e.bias != nullptr) e.bias += col0;
        apply_epilogue(e, sums, kPanel, c + col0, ldc, m, std::min(kPanel, n - col0));
    }
    _tile_release();  // the registers' 8 KB need not be saved on every context switch from now on
}

bool panel_gemm_avx512() {
    static const bool avx512 = __builtin_cpu_supports("avx512f");
    return avx512;
}

bool panel_gemm_avx2() {
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return avx2;
}

}  // namespace

bool panel_gemm_supported() {
    return panel_gemm_avx512() || panel_gemm_avx2();
}

std::string_view panel_gemm_method() {
    if (panel_gemm_avx512()) return "AVX-512";
    return panel_gemm_avx2() ? "AVX2 + FMA" : "";
}

bool panel_gemm_bf16_supported() {
    static const bool supported = panel_gemm_avx512() && __builtin_cpu_supports("avx512bf16");
    return supported;
}

void panel_gemm(int m, const float* a, int lda, const PanelWeights& b, float* c, int ldc, const Epilogue& epilogue,
                PanelInstructions instructions) {
    if (instructions == PanelInstructions::kBest && panel_gemm_avx512()) {
        multiply_panels<F32Panels>(m, a, lda, b.data, b.n, b.k, b.k_padded, c, ldc, epilogue);
        return;
    }
    if (!panel_gemm_avx2()) {
        std::fputs("hailo-clip: panel_gemm asked for AVX2 on a CPU without it\n", stderr);
        std::abort();
    }
    multiply_panels<F32PanelsAvx2>(m, a, lda, b.data, b.n, b.k, b.k_padded, c, ldc, epilogue);
}

bool panel_gemm_bf16_tiles_supported() {
    static const bool supported = panel_gemm_bf16_supported() && cpu_has_amx_bf16() && request_tile_state();
    return supported;
}

std::string_view panel_gemm_bf16_method() {
    if (!panel_gemm_bf16_supported()) return "";
    return panel_gemm_bf16_tiles_supported() ? "AMX tiles (AVX512-BF16 dot products where k is not a multiple of 32)"
                                             : "AVX512-BF16 dot products";
}

void panel_gemm_bf16(int m, const std::uint16_t* a, int lda, const PanelWeightsBf16& b, float* c, int ldc,
                     const Epilogue& epilogue, Bf16Multiply how) {
    const bool tiles_fit = b.k > 0 && b.k % kTileDepth == 0;
    if (how == Bf16Multiply::kTiles && !(tiles_fit && panel_gemm_bf16_tiles_supported())) {
        std::fputs("hailo-clip: panel_gemm_bf16 asked for tiles where they cannot run\n", stderr);
        std::abort();
    }
    if (how != Bf16Multiply::kDotProducts && tiles_fit && panel_gemm_bf16_tiles_supported()) {
        multiply_panels_tiles(m, a, lda, b.data, b.n, b.k, b.k_padded, c, ldc, epilogue);
        return;
    }
    multiply_panels<Bf16Panels>(m, a, lda, b.data, b.n, b.k, b.k_padded, c, ldc, epilogue);
}

#else  // no AVX-512 path in this build

bool panel_gemm_supported() {
    return false;
}

bool panel_gemm_bf16_supported() {
    return false;
}

bool panel_gemm_bf16_tiles_supported() {
    return false;
}

std::string_view panel_gemm_bf16_method() {
    return "";
}

std::string_view panel_gemm_method() {
    return "";
}

// Unreachable: callers check panel_gemm_supported() or panel_gemm_bf16_supported() first.
[[noreturn]] static void missing_panel_kernel() {
    std::fputs("hailo-clip: panel_gemm called in a build without it\n", stderr);
    std::abort();
}

void panel_gemm(int, const float*, int, const PanelWeights&, float*, int, const Epilogue&, PanelInstructions) {
    missing_panel_kernel();
}

void panel_gemm_bf16(int, const std::uint16_t*, int, const PanelWeightsBf16&, float*, int, const Epilogue&,
                     Bf16Multiply) {
    missing_panel_kernel();
}

#endif

}  // namespace hclip
