// The panel kernel against the scalar reference, on weights laid out as panels here (independently of the
// packing library): row counts around its 6-row tiles, widths around its 64-column panels, depths around its
// 768-row chunks, strided A and C, every epilogue. The panels' padding (columns past n, rows past k) holds NaN,
// so a kernel that reads or writes past the logical matrix shows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

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
struct Panels {
    std::vector<float> storage;
    float* data = nullptr;
    PanelWeights weights;
};

Panels make_panels(const std::vector<float>& b, int n, int k) {
    Panels p;
    const int panels = (n + 63) / 64, k_padded = (k + 15) / 16 * 16;
    p.storage.assign(static_cast<std::size_t>(panels) * k_padded * 64 + 16, std::numeric_limits<float>::quiet_NaN());
    auto address = reinterpret_cast<std::uintptr_t>(p.storage.data());
    p.data = p.storage.data() + (64 - address % 64) % 64 / sizeof(float);
    for (int j = 0; j < n; ++j) {
        for (int r = 0; r < k; ++r) {
            p.data[static_cast<std::size_t>(j / 64) * k_padded * 64 + static_cast<std::size_t>(r) * 64 + j % 64] =
                b[static_cast<std::size_t>(j) * k + r];
        }
    }
    p.weights = {.data = p.data, .n = n, .k = k, .k_padded = k_padded};
    return p;
}

// Worst |difference| from the reference for one product; padding columns of C must keep their value.
double worst_difference(int m, int n, int k, const Epilogue& e, unsigned seed) {
    const int lda = k + 3, ldc = n + 5;
    const auto b = random_vector(static_cast<std::size_t>(n) * k, seed);
    const Panels panels = make_panels(b, n, k);
    const auto a = random_vector(static_cast<std::size_t>(m) * lda, seed + 1);
    const auto old = random_vector(static_cast<std::size_t>(m) * ldc, seed + 2);
    std::vector<float> product(static_cast<std::size_t>(m) * ldc, 0.0f);
    gemm_f32_reference({.m = m,
                        .n = n,
                        .k = k,
                        .a = a.data(),
                        .lda = lda,
                        .b = b.data(),
                        .ldb = k,
                        .b_transposed = true,
                        .c = product.data(),
                        .ldc = ldc});
    std::vector<float> c = old;
    panel_gemm(m, a.data(), lda, panels.weights, c.data(), ldc, e);
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
        if (!panel_gemm_supported()) GTEST_SKIP() << "no panel kernel on this CPU (it needs AVX-512F)";
    }
};

TEST_P(PanelGemmShapes, MatchesTheReferenceProduct) {
    const auto [m, n, k] = GetParam();
    EXPECT_LE(worst_difference(m, n, k, {}, 1), tolerance(k)) << m << "x" << n << "x" << k;
}

// M: 1, the tile sizes and their neighbours, a prompt, an image's tokens, a full text context. N: within one
// panel, exactly one, one more, several with a remainder. K: 1, not a multiple of 16, 256 and 257, a ViT's 768
// (one chunk) and 1153, the first depth cut into two chunks (of 576 and 577 rows); DeepProductsInManyChunks
// has four.
INSTANTIATE_TEST_SUITE_P(Shapes, PanelGemmShapes,
                         ::testing::Combine(::testing::Values(1, 5, 6, 7, 12, 13, 50, 77),
                                            ::testing::Values(1, 63, 64, 65, 200),
                                            ::testing::Values(1, 17, 256, 257, 768, 1153)));

TEST(PanelGemm, DeepProductsInManyChunks) {
    if (!panel_gemm_supported()) GTEST_SKIP() << "no panel kernel on this CPU (it needs AVX-512F)";
    EXPECT_LE(worst_difference(50, 128, 3072, {}, 7), tolerance(3072));
    EXPECT_LE(worst_difference(7, 64, 3000, {}, 8), tolerance(3000));
}

TEST(PanelGemm, EveryEpilogue) {
    if (!panel_gemm_supported()) GTEST_SKIP() << "no panel kernel on this CPU (it needs AVX-512F)";
    for (const auto& [m, n] : {std::pair{7, 48}, std::pair{50, 200}}) {
        const auto bias = random_vector(static_cast<std::size_t>(n), 21);
        for (const EpilogueActivation act : {EpilogueActivation::kNone, EpilogueActivation::kQuickGelu,
                                             EpilogueActivation::kGelu, EpilogueActivation::kRelu}) {
            for (const bool accumulate : {false, true}) {
                for (const bool with_bias : {false, true}) {
                    const Epilogue e{
                        .bias = with_bias ? bias.data() : nullptr, .activation = act, .accumulate = accumulate};
                    EXPECT_LE(worst_difference(m, n, 70, e, 30), tolerance(70))
                        << m << "x" << n << " activation " << static_cast<int>(act) << " accumulate " << accumulate
                        << " bias " << with_bias;
                }
            }
        }
    }
}

}  // namespace
}  // namespace hclip
