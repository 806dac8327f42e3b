// The packed-weight GEMM against the scalar reference over awkward shapes (one row, primes, widths that are no
// multiple of any vector length), both storage orders of B, strided operands, and several threads sharing one
// packed matrix; each with the library's kernel and, where the packed copy has panels, the panel kernel.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"
#include "kernels/panel_gemm.h"
#include "support/epilogue_reference.h"
#include "support/random.h"

namespace hclip {
namespace {

using testing::random_vector;

// The same bound as the plain GEMM's test: float32 accumulation error grows like sqrt(k) * eps.
double tolerance(int k) {
    return 1e-5 * std::sqrt(static_cast<double>(k)) * 4.0;
}

struct Case {
    int m, n, k;
    bool b_transposed;
    bool strided;         // padded lda / ldc (the staging path)
    bool panels = false;  // the panel kernel instead of the library's
};

// Runs one product through the packed path and the reference; returns the worst |difference| and checks that
// the padding columns of C are untouched.
double worst_difference(const Case& t, const PackedWeights& packed, const std::vector<float>& b, int ldb,
                        unsigned seed) {
    const int lda = t.strided ? t.k + 3 : t.k, ldc = t.strided ? t.n + 2 : t.n;
    const auto a = random_vector(static_cast<std::size_t>(t.m) * static_cast<std::size_t>(lda), seed);
    std::vector<float> fast(static_cast<std::size_t>(t.m) * static_cast<std::size_t>(ldc), 7.0f), ref = fast;
    gemm_f32_packed(
        {.m = t.m, .a = a.data(), .lda = lda, .b = &packed, .c = fast.data(), .ldc = ldc, .panels = t.panels});
    gemm_f32_reference({.m = t.m,
                        .n = t.n,
                        .k = t.k,
                        .a = a.data(),
                        .lda = lda,
                        .b = b.data(),
                        .ldb = ldb,
                        .b_transposed = t.b_transposed,
                        .c = ref.data(),
                        .ldc = ldc});
    double worst = 0.0;
    for (int i = 0; i < t.m; ++i) {
        for (int j = 0; j < ldc; ++j) {
            const std::size_t at =
                static_cast<std::size_t>(i) * static_cast<std::size_t>(ldc) + static_cast<std::size_t>(j);
            if (j >= t.n) {
                EXPECT_EQ(fast[at], 7.0f) << "padding column " << j << " of row " << i << " was written";
                continue;
            }
            worst = std::max(worst, std::fabs(static_cast<double>(fast[at]) - static_cast<double>(ref[at])));
        }
    }
    return worst;
}

class PackedGemmShapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {
  protected:
    void SetUp() override {
        if (!packed_gemm_available()) GTEST_SKIP() << "this build has no packed gemm";
    }
};

TEST_P(PackedGemmShapes, MatchesReferenceBothStorageOrdersDenseAndStrided) {
    const auto [m, n, k] = GetParam();
    for (bool transposed : {true, false}) {
        // B with a padded leading dimension: packing must read only the logical matrix.
        const int ldb = (transposed ? k : n) + 5;
        const auto b = random_vector(static_cast<std::size_t>(transposed ? n : k) * static_cast<std::size_t>(ldb), 2);
        for (PackedLayout layout : {PackedLayout::kLibrary, PackedLayout::kPanels}) {
            if (layout == PackedLayout::kPanels && !panel_kernel_available(PackedType::kF32)) continue;
            auto packed = PackedWeights::pack(b.data(), n, k, ldb, transposed, PackedType::kF32, layout);
            ASSERT_TRUE(packed.ok()) << packed.status().to_string();
            EXPECT_EQ((*packed)->n(), n);
            EXPECT_EQ((*packed)->k(), k);
            EXPECT_GE((*packed)->bytes(), sizeof(float) * static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
            const char* name = layout == PackedLayout::kPanels ? " packed as panels" : "";
            for (bool strided : {false, true}) {
                for (bool panels : {false, true}) {
                    if (panels && !(*packed)->has_panels()) continue;
                    const Case c{m, n, k, transposed, strided, panels};
                    EXPECT_LE(worst_difference(c, **packed, b, ldb, 1), tolerance(k))
                        << m << "x" << n << "x" << k << (transposed ? " B^T" : " B") << (strided ? " strided" : "")
                        << (panels ? " panels" : "") << name;
                }
            }
        }
    }
}

// M: one row, a short prompt, one image's tokens, a full text context, eight images. N and K: primes, 1, and
// sizes that are no multiple of 4, 8, 16 or 64.
INSTANTIATE_TEST_SUITE_P(OddShapes, PackedGemmShapes,
                         ::testing::Combine(::testing::Values(1, 7, 50, 77, 400), ::testing::Values(1, 13, 97, 131),
                                            ::testing::Values(1, 17, 64, 257)));

TEST(PackedGemm, ModelSizedMatrices) {
    if (!packed_gemm_available()) GTEST_SKIP() << "this build has no packed gemm";
    for (Case c :
         {Case{50, 2304, 768, true, false}, Case{7, 512, 2048, true, false}, Case{3, 512, 768, false, false}}) {
        const int ldb = c.b_transposed ? c.k : c.n;
        const auto b = random_vector(static_cast<std::size_t>(c.n) * static_cast<std::size_t>(c.k), 3);
        auto packed = PackedWeights::pack(b.data(), c.n, c.k, ldb, c.b_transposed);
        ASSERT_TRUE(packed.ok()) << packed.status().to_string();
        // On an AVX-512 CPU oneDNN packs float32 weights as 64-column panels (one copy for both kernels): if it
        // stopped, or the probe stopped seeing it, the choice would keep a second copy for the panel kernel.
        EXPECT_EQ((*packed)->has_panels(), packed_library_layout_is_panels(PackedType::kF32)) << c.n << "x" << c.k;
#if defined(__x86_64__)
        if (__builtin_cpu_supports("avx512f")) {
            EXPECT_TRUE(packed_library_layout_is_panels(PackedType::kF32));
        }
#endif
        EXPECT_TRUE((*packed)->library_runs());
        for (bool panels : {false, true}) {
            c.panels = panels;
            EXPECT_LE(worst_difference(c, **packed, b, ldb, 4), tolerance(c.k))
                << c.m << "x" << c.n << "x" << c.k << (panels ? " panels" : "");
        }
        if (!panel_kernel_available(PackedType::kF32)) continue;
        // Packed as panels on purpose: the panel kernel always computes from it where the library has no kernel
        // of its own for that layout (AVX2 CPUs), whatever the caller asks for.
        auto as_panels =
            PackedWeights::pack(b.data(), c.n, c.k, ldb, c.b_transposed, PackedType::kF32, PackedLayout::kPanels);
        ASSERT_TRUE(as_panels.ok()) << as_panels.status().to_string();
        EXPECT_TRUE((*as_panels)->has_panels());
        EXPECT_EQ((*as_panels)->library_runs(), packed_library_layout_is_panels(PackedType::kF32));
        for (bool panels : {false, true}) {
            c.panels = panels;
            EXPECT_LE(worst_difference(c, **as_panels, b, ldb, 4), tolerance(c.k))
                << c.m << "x" << c.n << "x" << c.k << (panels ? " panels" : "") << " packed as panels";
        }
    }
}

TEST(PackedGemm, PanelLayoutRefusedWhereThePanelKernelDoesNotRun) {
    if (!packed_gemm_available()) GTEST_SKIP() << "this build has no packed gemm";
    if (panel_kernel_available(PackedType::kF32)) GTEST_SKIP() << "this CPU runs the panel kernel";
    const std::vector<float> b(64 * 64, 1.0f);
    EXPECT_EQ(PackedWeights::pack(b.data(), 64, 64, 64, true, PackedType::kF32, PackedLayout::kPanels).status().code(),
              StatusCode::kUnsupported);
}

TEST(PackedGemm, CopyComputesTheSame) {
    if (!packed_gemm_available()) GTEST_SKIP() << "this build has no packed gemm";
    const int n = 200, k = 70;
    const auto b = random_vector(static_cast<std::size_t>(n) * k, 41);
    auto packed = PackedWeights::pack(b.data(), n, k, k, true);
    ASSERT_TRUE(packed.ok()) << packed.status().to_string();
    auto copy = (*packed)->copy();
    ASSERT_TRUE(copy.ok()) << copy.status().to_string();
    EXPECT_EQ((*copy)->n(), n);
    EXPECT_EQ((*copy)->k(), k);
    EXPECT_EQ((*copy)->bytes(), (*packed)->bytes());
    EXPECT_EQ((*copy)->has_panels(), (*packed)->has_panels());
    const auto a = random_vector(static_cast<std::size_t>(9) * k, 42);
    std::vector<float> c1(static_cast<std::size_t>(9) * n), c2(c1.size(), 1.0f);
    gemm_f32_packed({.m = 9, .a = a.data(), .lda = k, .b = packed->get(), .c = c1.data(), .ldc = n});
    packed->reset();  // the copy owns its own memory
    gemm_f32_packed({.m = 9, .a = a.data(), .lda = k, .b = copy->get(), .c = c2.data(), .ldc = n});
    EXPECT_EQ(c1, c2);
}

TEST(PackedGemm, ThreadsShareOnePackedMatrix) {
    if (!packed_gemm_available()) GTEST_SKIP() << "this build has no packed gemm";
    const int n = 97, k = 131;
    const auto b = random_vector(static_cast<std::size_t>(n) * k, 5);
    auto packed = PackedWeights::pack(b.data(), n, k, k, true);
    ASSERT_TRUE(packed.ok()) << packed.status().to_string();
    // Each thread computes with its own row count, so each compiles and caches its own kernels concurrently.
    std::vector<double> worst(4, 0.0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 20; ++round) {
                const Case c{1 + 7 * t + round % 3, n, k, true, round % 2 == 1};
                worst[static_cast<std::size_t>(t)] =
                    std::max(worst[static_cast<std::size_t>(t)],
                             worst_difference(c, **packed, b, k, static_cast<unsigned>(10 * t + round)));
            }
        });
    }
    for (auto& th : threads)
        th.join();
    for (double w : worst)
        EXPECT_LE(w, tolerance(k));
}

// The epilogue (bias, activation, residual add) in the library's kernel on a single part (n <= 64, written in
// place) and on a product split into column parts (n = 300, written through the staging buffer), each with few
// rows and with enough rows to be cut into row chunks too, with a padded C so that a part writing past its
// columns shows.
TEST(PackedGemm, EpiloguesMatchTheReferenceProductFollowedByTheFormula) {
    if (!packed_gemm_available()) GTEST_SKIP() << "this build has no packed gemm";
    const int k = 70;
    for (const auto& [m, n] : {std::pair{9, 48}, std::pair{9, 300}, std::pair{260, 48}, std::pair{260, 80}}) {
        const auto b = random_vector(static_cast<std::size_t>(n) * k, 31);
        auto packed = PackedWeights::pack(b.data(), n, k, k, /*b_transposed=*/true);
        ASSERT_TRUE(packed.ok()) << packed.status().to_string();
        const int ldc = n + 2;
        const auto a = random_vector(static_cast<std::size_t>(m) * k, 32);
        const auto bias = random_vector(static_cast<std::size_t>(n), 33);
        const auto residual = random_vector(static_cast<std::size_t>(m) * ldc, 34);
        std::vector<float> product(static_cast<std::size_t>(m) * ldc, 0.0f);
        gemm_f32_reference({.m = m,
                            .n = n,
                            .k = k,
                            .a = a.data(),
                            .lda = k,
                            .b = b.data(),
                            .ldb = k,
                            .b_transposed = true,
                            .c = product.data(),
                            .ldc = ldc});
        for (const EpilogueActivation act : {EpilogueActivation::kNone, EpilogueActivation::kQuickGelu,
                                             EpilogueActivation::kGelu, EpilogueActivation::kRelu}) {
            for (const auto& [accumulate, panels] :
                 {std::pair{false, false}, std::pair{true, false}, std::pair{false, true}, std::pair{true, true}}) {
                if (panels && !(*packed)->has_panels()) continue;
                std::vector<float> c = residual;
                gemm_f32_packed({.m = m,
                                 .a = a.data(),
                                 .lda = k,
                                 .b = packed->get(),
                                 .c = c.data(),
                                 .ldc = ldc,
                                 .epilogue = {.bias = bias.data(), .activation = act, .accumulate = accumulate},
                                 .panels = panels});
                double worst = 0.0;
                for (int i = 0; i < m; ++i) {
                    for (int j = 0; j < ldc; ++j) {
                        const auto at = static_cast<std::size_t>(i * ldc + j);
                        if (j >= n) {
                            EXPECT_EQ(c[at], residual[at]) << "padding column " << j << " of row " << i;
                            continue;
                        }
                        const double v = testing::epilogue_reference(
                            product[at], {.bias = bias.data(), .activation = act, .accumulate = accumulate}, j,
                            residual[at]);
                        worst = std::max(worst, std::fabs(static_cast<double>(c[at]) - v));
                    }
                }
                EXPECT_LT(worst, tolerance(k)) << "n " << n << " activation " << static_cast<int>(act) << " accumulate "
                                               << accumulate << " panels " << panels;
            }
        }
    }
}

TEST(PackedGemm, RejectsBadShapesAndReportsAvailability) {
    const std::vector<float> b(16, 1.0f);
    EXPECT_FALSE(PackedWeights::pack(b.data(), 0, 4, 4, true).ok());
    EXPECT_FALSE(PackedWeights::pack(b.data(), 4, 4, 3, true).ok());  // ldb shorter than a row
    EXPECT_FALSE(PackedWeights::pack(nullptr, 4, 4, 4, true).ok());
    if (!packed_gemm_available()) {
        EXPECT_EQ(PackedWeights::pack(b.data(), 4, 4, 4, true).status().code(), StatusCode::kUnsupported);
        EXPECT_EQ(packed_gemm_backend_name(), "none");
    }
}

}  // namespace
}  // namespace hclip
