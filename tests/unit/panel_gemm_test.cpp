// The panel kernel against the scalar reference, on weights laid out as panels here (independently of the
// packing library): row counts around its 6-row tiles, widths around its 64-column panels (and the AVX2 tiles'
// 16-column strips; those tiles are also forced on AVX-512 CPUs), depths around its
// 192 KB chunks (768 float32 rows, 1536 bf16 rows; the AVX2 tiles: 96 KB, 384 rows), strided A and C, every epilogue;
// float32 panels and bf16 paired panels alike, the latter by AVX512-BF16 dot products and by AMX tiles (16-row blocks).
// The panels' padding (columns past n, rows past k) holds NaN, so a kernel that reads or writes past the logical matrix
// shows. bf16 products are checked against the float32 reference on the inputs rounded to bf16: products of two bf16
// numbers are exact in float32, so the same accumulation bound holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/half.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/panel_gemm.h"
#include "support/epilogue_reference.h"
#include "support/random.h"

namespace hclip {
namespace {

using testing::epilogue_reference;
using testing::random_vector;

double tolerance(int k) {
    return 1e-5 * std::sqrt(static_cast<double>(k)) * 4.0;
}

// B [n, k] (a Linear weight, row n = output n) as 64-column panels of k_padded rows, in a 64-byte aligned buffer.
// bf16: rows in pairs, [n / 64][k_padded / 2][64][2], with k_padded a multiple of 32 as the library pads it.
template <class T>
struct Panels {
    std::vector<T> storage;
    T* data = nullptr;
    int k_padded = 0;
};

template <class T>
Panels<T> make_panels(const std::vector<float>& b, int n, int k) {
    constexpr bool bf16 = std::is_same_v<T, std::uint16_t>;
    Panels<T> p;
    const int panels = (n + 63) / 64, block = bf16 ? 32 : 16;
    p.k_padded = (k + block - 1) / block * block;
    T nan;
    if constexpr (bf16) {
        nan = 0x7fc0;
    } else {
        nan = std::numeric_limits<float>::quiet_NaN();
    }
    p.storage.assign(static_cast<std::size_t>(panels) * p.k_padded * 64 + 64, nan);
    auto address = reinterpret_cast<std::uintptr_t>(p.storage.data());
    p.data = p.storage.data() + (64 - address % 64) % 64 / sizeof(T);
    for (int j = 0; j < n; ++j) {
        for (int r = 0; r < k; ++r) {
            const float w = b[static_cast<std::size_t>(j) * k + r];
            const std::size_t panel = static_cast<std::size_t>(j / 64) * p.k_padded * 64;
            if constexpr (bf16) {
                p.data[panel + static_cast<std::size_t>(r / 2) * 128 + (j % 64) * 2 + r % 2] = f32_to_bf16(w);
            } else {
                p.data[panel + static_cast<std::size_t>(r) * 64 + j % 64] = w;
            }
        }
    }
    return p;
}

// kF32 takes the widest instructions the CPU has, kF32Avx2 forces the AVX2 tiles (also on AVX-512 CPUs). kBf16
// lets the kernel choose how (AMX tiles where it can); the other two force dot products or tiles.
enum class Products { kF32, kF32Avx2, kBf16, kBf16DotProducts, kBf16Tiles };

bool cpu_has_avx2() {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

// The float32 kernels this CPU runs: the best, and the AVX2 one where the best is another (AVX-512).
std::vector<Products> f32_kernels() {
    std::vector<Products> kernels;
    if (!panel_gemm_supported()) return kernels;
    kernels.push_back(Products::kF32);
    if (cpu_has_avx2() && panel_gemm_method() != "AVX2 + FMA") kernels.push_back(Products::kF32Avx2);
    return kernels;
}

Bf16Multiply multiply_for(Products products) {
    if (products == Products::kBf16DotProducts) return Bf16Multiply::kDotProducts;
    if (products == Products::kBf16Tiles) return Bf16Multiply::kTiles;
    return Bf16Multiply::kAuto;
}

std::vector<float> rounded_to_bf16(std::vector<float> v) {
    for (float& x : v)
        x = bf16_to_f32(f32_to_bf16(x));
    return v;
}

// A[m, k] (rows lda apart) * B^T, B [n, k], by the scalar reference, in rows ldc apart.
std::vector<float> reference_product(int m, int n, int k, const std::vector<float>& a, int lda,
                                     const std::vector<float>& b, int ldc) {
    std::vector<float> c(static_cast<std::size_t>(m) * ldc, 0.0f);
    gemm_f32_reference({.m = m,
                        .n = n,
                        .k = k,
                        .a = a.data(),
                        .lda = lda,
                        .b = b.data(),
                        .ldb = k,
                        .b_transposed = true,
                        .c = c.data(),
                        .ldc = ldc});
    return c;
}

// Worst |difference| from the reference for one product; padding columns of C must keep their value.
double worst_difference(int m, int n, int k, const Epilogue& e, unsigned seed, Products products = Products::kF32) {
    const int lda = k + 3, ldc = n + 5;
    const bool bf16 = products != Products::kF32 && products != Products::kF32Avx2;
    auto b = random_vector(static_cast<std::size_t>(n) * k, seed);
    auto a = random_vector(static_cast<std::size_t>(m) * lda, seed + 1);
    const auto old = random_vector(static_cast<std::size_t>(m) * ldc, seed + 2);
    std::vector<float> c = old;
    if (bf16) {
        // A as the packed GEMM stages it: rounded, rows of even length with a zero after an odd k; the rest of
        // the row (never to be read) NaN.
        const int lda16 = (k + 1) / 2 * 2 + 2;
        std::vector<std::uint16_t> a16(static_cast<std::size_t>(m) * lda16, 0x7fc0);
        for (int i = 0; i < m; ++i) {
            for (int r = 0; r < k; ++r)
                a16[static_cast<std::size_t>(i) * lda16 + r] = f32_to_bf16(a[static_cast<std::size_t>(i) * lda + r]);
            if (k % 2 != 0) a16[static_cast<std::size_t>(i) * lda16 + k] = 0;
        }
        const Panels<std::uint16_t> panels = make_panels<std::uint16_t>(b, n, k);
        panel_gemm_bf16(m, a16.data(), lda16, {.data = panels.data, .n = n, .k = k, .k_padded = panels.k_padded},
                        c.data(), ldc, e, multiply_for(products));
        a = rounded_to_bf16(std::move(a));
        b = rounded_to_bf16(std::move(b));
    } else {
        const Panels<float> panels = make_panels<float>(b, n, k);
        panel_gemm(m, a.data(), lda, {.data = panels.data, .n = n, .k = k, .k_padded = panels.k_padded}, c.data(), ldc,
                   e, products == Products::kF32Avx2 ? PanelInstructions::kAvx2 : PanelInstructions::kBest);
    }
    const std::vector<float> product = reference_product(m, n, k, a, lda, b, ldc);
    double worst = 0.0;
    for (int i = 0; i < m; ++i) {
        for (int j = 0; j < ldc; ++j) {
            const std::size_t at = static_cast<std::size_t>(i) * ldc + j;
            if (j >= n) {
                EXPECT_EQ(c[at], old[at]) << "padding column " << j << " of row " << i << " was written";
                continue;
            }
            const double want = epilogue_reference(product[at], e, j, old[at]);
            const double diff = std::fabs(static_cast<double>(c[at]) - want);
            if (!(diff <= worst)) worst = std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff;
        }
    }
    return worst;
}

class PanelGemmShapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {
  protected:
    void SetUp() override {
        if (!panel_gemm_supported()) GTEST_SKIP() << "no panel kernel on this CPU (it needs AVX-512F or AVX2)";
    }
};

const char* kernel_name(Products products) {
    return products == Products::kF32Avx2 ? " (AVX2 tiles)" : "";
}

TEST_P(PanelGemmShapes, MatchesTheReferenceProduct) {
    const auto [m, n, k] = GetParam();
    for (Products kernel : f32_kernels()) {
        EXPECT_LE(worst_difference(m, n, k, {}, 1, kernel), tolerance(k))
            << m << "x" << n << "x" << k << kernel_name(kernel);
    }
}

// M: 1, the tile sizes and their neighbours, a prompt, an image's tokens, a full text context. N: within one
// panel (in the AVX2 tiles' first and second 16-column strip), a strip and a half, exactly one panel, one more,
// several with a remainder. K: 1, not a multiple of 16, 256 and 257, a ViT's 768 (one chunk; two of 384 for the
// AVX2 tiles) and 1153, the first depth cut into two chunks (of 576 and 577 rows; three for the AVX2 tiles, the
// last of 385); DeepProductsInManyChunks has four (eight).
INSTANTIATE_TEST_SUITE_P(Shapes, PanelGemmShapes,
                         ::testing::Combine(::testing::Values(1, 5, 6, 7, 12, 13, 50, 77),
                                            ::testing::Values(1, 17, 40, 63, 64, 65, 200),
                                            ::testing::Values(1, 17, 256, 257, 768, 1153)));

TEST(PanelGemm, DeepProductsInManyChunks) {
    if (!panel_gemm_supported()) GTEST_SKIP() << "no panel kernel on this CPU (it needs AVX-512F or AVX2)";
    for (Products kernel : f32_kernels()) {
        EXPECT_LE(worst_difference(50, 128, 3072, {}, 7, kernel), tolerance(3072)) << kernel_name(kernel);
        EXPECT_LE(worst_difference(7, 64, 3000, {}, 8, kernel), tolerance(3000)) << kernel_name(kernel);
    }
}

// The panel kernel runs wherever the CPU has AVX2 and FMA (every x86-64 CPU of the last decade but the smallest):
// if the detection broke, the choice would silently lose its fastest candidate.
TEST(PanelGemm, RunsOnEveryCpuWithAvx2) {
    if (!cpu_has_avx2()) GTEST_SKIP() << "this CPU has no AVX2";
    EXPECT_TRUE(panel_gemm_supported());
    EXPECT_FALSE(panel_gemm_method().empty());
}

// Every activation, with and without bias and residual add, on a 7-row and a 50-row product of depth k.
void expect_every_epilogue(int k, Products products) {
    for (const auto& [m, n] : {std::pair{7, 48}, std::pair{50, 200}}) {
        const auto bias = random_vector(static_cast<std::size_t>(n), 21);
        for (const EpilogueActivation act : {EpilogueActivation::kNone, EpilogueActivation::kQuickGelu,
                                             EpilogueActivation::kGelu, EpilogueActivation::kRelu}) {
            for (const bool accumulate : {false, true}) {
                for (const bool with_bias : {false, true}) {
                    const Epilogue e{
                        .bias = with_bias ? bias.data() : nullptr, .activation = act, .accumulate = accumulate};
                    EXPECT_LE(worst_difference(m, n, k, e, 30, products), tolerance(k))
                        << m << "x" << n << " activation " << static_cast<int>(act) << " accumulate " << accumulate
                        << " bias " << with_bias;
                }
            }
        }
    }
}

TEST(PanelGemm, EveryEpilogue) {
    if (!panel_gemm_supported()) GTEST_SKIP() << "no panel kernel on this CPU (it needs AVX-512F or AVX2)";
    for (Products kernel : f32_kernels())
        expect_every_epilogue(70, kernel);
}

// bf16 products: the same shapes, K also around the bf16 chunks (1536 rows): 3001 is cut into two chunks, the
// second ending on an odd row, and 6001 into four.
class PanelGemmBf16Shapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {
  protected:
    void SetUp() override {
        if (!panel_gemm_bf16_supported()) GTEST_SKIP() << "no bf16 panel kernel on this CPU (it needs AVX512-BF16)";
    }
};

TEST_P(PanelGemmBf16Shapes, MatchesTheReferenceOnRoundedInputs) {
    const auto [m, n, k] = GetParam();
    EXPECT_LE(worst_difference(m, n, k, {}, 1, Products::kBf16DotProducts), tolerance(k)) << m << "x" << n << "x" << k;
    // Where AMX tiles run, the automatic choice takes them for these depths: the same bound.
    if (k % 32 == 0) {
        EXPECT_LE(worst_difference(m, n, k, {}, 1, Products::kBf16), tolerance(k));
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PanelGemmBf16Shapes,
                         ::testing::Combine(::testing::Values(1, 5, 6, 7, 13, 50, 77),
                                            ::testing::Values(1, 64, 65, 200),
                                            ::testing::Values(1, 2, 17, 768, 1153, 3001)));

TEST(PanelGemmBf16, DeepProductsInManyChunks) {
    if (!panel_gemm_bf16_supported()) GTEST_SKIP() << "no bf16 panel kernel on this CPU (it needs AVX512-BF16)";
    EXPECT_LE(worst_difference(50, 128, 6001, {}, 7, Products::kBf16), tolerance(6001));
    EXPECT_LE(worst_difference(7, 64, 3072, {}, 8, Products::kBf16), tolerance(3072));
}

TEST(PanelGemmBf16, EveryEpilogue) {
    if (!panel_gemm_bf16_supported()) GTEST_SKIP() << "no bf16 panel kernel on this CPU (it needs AVX512-BF16)";
    expect_every_epilogue(71, Products::kBf16);  // odd: the last row pair ends past k
}

// AMX tiles: 16-row blocks, so M around 16 and 32 (a last block of 1, 15 and 16 rows), an image's 50 tokens, a
// text's 77; N around the 64-column panels; K a multiple of the 32-value tile step: one step, two, a ViT's 768
// and its MLP's 3072 (the next panel prefetched over many steps).
class PanelGemmBf16TileShapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {
  protected:
    void SetUp() override {
        if (!panel_gemm_bf16_tiles_supported()) GTEST_SKIP() << "no AMX tiles on this CPU (they need AMX-BF16)";
    }
};

TEST_P(PanelGemmBf16TileShapes, MatchesTheReferenceOnRoundedInputs) {
    const auto [m, n, k] = GetParam();
    EXPECT_LE(worst_difference(m, n, k, {}, 1, Products::kBf16Tiles), tolerance(k)) << m << "x" << n << "x" << k;
}

INSTANTIATE_TEST_SUITE_P(Shapes, PanelGemmBf16TileShapes,
                         ::testing::Combine(::testing::Values(1, 7, 15, 16, 17, 32, 33, 50, 77),
                                            ::testing::Values(1, 64, 65, 200), ::testing::Values(32, 64, 768, 3072)));

TEST(PanelGemmBf16Tiles, EveryEpilogue) {
    if (!panel_gemm_bf16_tiles_supported()) GTEST_SKIP() << "no AMX tiles on this CPU (they need AMX-BF16)";
    expect_every_epilogue(96, Products::kBf16Tiles);
}

// The start-up log and `hailo-clip bench` say which way the bf16 panels multiply on this CPU.
TEST(PanelGemmBf16, MethodNamesTheInstructionsThatRun) {
    const std::string_view how = panel_gemm_bf16_method();
    EXPECT_EQ(how.empty(), !panel_gemm_bf16_supported()) << how;
    EXPECT_EQ(how.find("AMX") != std::string_view::npos, panel_gemm_bf16_tiles_supported()) << how;
}

// The tiles and the dot products sum in different orders: not bit-equal, but each within the bound above, and
// both far from the unrounded product (RoundingShowsAgainstUnroundedInputs below runs the automatic choice).
TEST(PanelGemmBf16Tiles, AgreeWithTheDotProducts) {
    if (!panel_gemm_bf16_tiles_supported()) GTEST_SKIP() << "no AMX tiles on this CPU (they need AMX-BF16)";
    const int m = 50, n = 130, k = 768;
    const auto b = random_vector(static_cast<std::size_t>(n) * k, 5);
    const auto a = random_vector(static_cast<std::size_t>(m) * k, 6);
    std::vector<std::uint16_t> a16(a.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        a16[i] = f32_to_bf16(a[i]);
    const Panels<std::uint16_t> panels = make_panels<std::uint16_t>(b, n, k);
    const PanelWeightsBf16 w{.data = panels.data, .n = n, .k = k, .k_padded = panels.k_padded};
    std::vector<float> tiles(static_cast<std::size_t>(m) * n), dots(tiles.size());
    panel_gemm_bf16(m, a16.data(), k, w, tiles.data(), n, {}, Bf16Multiply::kTiles);
    panel_gemm_bf16(m, a16.data(), k, w, dots.data(), n, {}, Bf16Multiply::kDotProducts);
    double worst = 0.0;
    for (std::size_t i = 0; i < tiles.size(); ++i)
        worst = std::max(worst, std::fabs(static_cast<double>(tiles[i]) - static_cast<double>(dots[i])));
    EXPECT_LE(worst, 2 * tolerance(k));
    EXPECT_GT(worst, 0.0) << "bit-equal: did both calls run the same path?";
}

// Rounding shows: against the unrounded inputs the bf16 kernel is far outside the float32 bound (so the test above
// really compares bf16 arithmetic, and a kernel that ignored the rounding would fail it).
TEST(PanelGemmBf16, RoundingShowsAgainstUnroundedInputs) {
    if (!panel_gemm_bf16_supported()) GTEST_SKIP() << "no bf16 panel kernel on this CPU (it needs AVX512-BF16)";
    const int m = 7, n = 64, k = 256, lda = k + 3;
    const auto b = random_vector(static_cast<std::size_t>(n) * k, 3);
    const auto a = random_vector(static_cast<std::size_t>(m) * lda, 4);
    std::vector<std::uint16_t> a16(static_cast<std::size_t>(m) * k);
    for (int i = 0; i < m; ++i) {
        for (int r = 0; r < k; ++r)
            a16[static_cast<std::size_t>(i) * k + r] = f32_to_bf16(a[static_cast<std::size_t>(i) * lda + r]);
    }
    const Panels<std::uint16_t> panels = make_panels<std::uint16_t>(b, n, k);
    std::vector<float> got(static_cast<std::size_t>(m) * n);
    panel_gemm_bf16(m, a16.data(), k, {.data = panels.data, .n = n, .k = k, .k_padded = panels.k_padded}, got.data(), n,
                    {});
    const std::vector<float> want = reference_product(m, n, k, a, lda, b, n);
    double worst = 0.0;
    for (std::size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i])));
    EXPECT_GT(worst, 10 * tolerance(k));
}

}  // namespace
}  // namespace hclip
