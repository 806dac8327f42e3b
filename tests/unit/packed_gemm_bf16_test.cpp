// bf16 products (PackedType::kBf16): the bulk activation rounding against the scalar one bit for bit, and the
// packed bf16 GEMM against the float32 reference run on inputs rounded to bfloat16 (the products of two bf16
// numbers are exact in float32, so only float32 accumulation error may remain). Where this CPU or build has no
// bf16 products, packing one must be refused.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/bf16_convert.h"
#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"
#include "kernels/panel_gemm.h"
#include "support/random.h"

namespace hclip {
namespace {

using testing::random_vector;

TEST(Bf16Convert, RowsMatchTheScalarRoundingBitForBit) {
    std::vector<float> values = {0.0f,
                                 -0.0f,
                                 1.0f,
                                 std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::quiet_NaN(),
                                 std::bit_cast<float>(0x7f800001u),  // signalling NaN: must stay a NaN
                                 std::bit_cast<float>(0xff80ffffu),
                                 std::numeric_limits<float>::max(),  // rounds up to infinity
                                 std::numeric_limits<float>::denorm_min(),
                                 std::bit_cast<float>(0x3f808000u),  // a tie, even below: stays
                                 std::bit_cast<float>(0x3f818000u),  // a tie, odd below: rounds up
                                 std::bit_cast<float>(0x3f808001u)};
    std::mt19937 rng(7);
    for (int i = 0; i < (1 << 20); ++i)
        values.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
    // Rows of 37 values, 41 apart: the padding must not be read into the output.
    const int cols = 37, ld = 41;
    const int rows = static_cast<int>(values.size()) / cols;
    std::vector<float> src(static_cast<std::size_t>(rows) * ld, std::numeric_limits<float>::quiet_NaN());
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c)
            src[static_cast<std::size_t>(r) * ld + c] = values[static_cast<std::size_t>(r) * cols + c];
    }
    std::vector<std::uint16_t> got(static_cast<std::size_t>(rows) * cols);
    f32_to_bf16_rows(src.data(), rows, cols, ld, got.data());
    int wrong = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (got[i] != f32_to_bf16(values[i]) && ++wrong <= 5) {
            ADD_FAILURE() << "0x" << std::hex << std::bit_cast<std::uint32_t>(values[i]) << " -> 0x" << got[i]
                          << ", want 0x" << f32_to_bf16(values[i]);
        }
    }
    EXPECT_EQ(wrong, 0);
}

std::vector<float> rounded_to_bf16(std::vector<float> v) {
    for (float& x : v)
        x = bf16_to_f32(f32_to_bf16(x));
    return v;
}

struct Shape {
    int m, n, k;
    bool b_transposed;
    bool strided;
};

// The worst |difference| of the bf16 product from the float32 reference on (a_ref, b_ref).
double worst_against(const Shape& s, const PackedWeights& packed, const std::vector<float>& a, int lda,
                     const std::vector<float>& a_ref, const std::vector<float>& b_ref, int ldb, bool panels = false) {
    const int ldc = s.strided ? s.n + 2 : s.n;
    std::vector<float> got(static_cast<std::size_t>(s.m) * ldc, 7.0f), want = got;
    gemm_f32_packed({.m = s.m, .a = a.data(), .lda = lda, .b = &packed, .c = got.data(), .ldc = ldc, .panels = panels});
    gemm_f32_reference({.m = s.m,
                        .n = s.n,
                        .k = s.k,
                        .a = a_ref.data(),
                        .lda = lda,
                        .b = b_ref.data(),
                        .ldb = ldb,
                        .b_transposed = s.b_transposed,
                        .c = want.data(),
                        .ldc = ldc});
    double worst = 0.0;
    for (int i = 0; i < s.m; ++i) {
        for (int j = 0; j < ldc; ++j) {
            const std::size_t at = static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(j);
            if (j >= s.n) {
                EXPECT_EQ(got[at], 7.0f) << "padding column " << j << " was written";
                continue;
            }
            worst = std::max(worst, std::fabs(static_cast<double>(got[at]) - static_cast<double>(want[at])));
        }
    }
    return worst;
}

TEST(PackedGemmBf16, ExactProductsOfRoundedInputsWithFloat32Accumulation) {
    if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
    for (const Shape& s :
         {Shape{1, 13, 17, true, false}, Shape{7, 97, 257, true, true}, Shape{77, 131, 64, false, true},
          Shape{50, 2304, 768, true, false}, Shape{6, 200, 3001, true, true}}) {
        SCOPED_TRACE(std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k));
        const int lda = s.strided ? s.k + 3 : s.k, ldb = s.b_transposed ? s.k : s.n;
        const auto a = random_vector(static_cast<std::size_t>(s.m) * lda, 11);
        const auto b = random_vector(static_cast<std::size_t>(s.n) * s.k, 12);
        auto packed = PackedWeights::pack(b.data(), s.n, s.k, ldb, s.b_transposed, PackedType::kBf16);
        ASSERT_TRUE(packed.ok()) << packed.status().to_string();
        EXPECT_EQ((*packed)->type(), PackedType::kBf16);
        // 2 bytes per weight, plus at most the library's padding to its blocks.
        EXPECT_GE((*packed)->bytes(), 2u * static_cast<std::size_t>(s.n) * s.k);
        EXPECT_LT((*packed)->bytes(), 4u * static_cast<std::size_t>(s.n) * s.k + 64u * 64u * 2u * 8u);
        // The same float32 accumulation bound as the float32 packed GEMM's test.
        const double tolerance = 1e-5 * std::sqrt(static_cast<double>(s.k)) * 4.0;
        const auto a_bf16 = rounded_to_bf16(a), b_bf16 = rounded_to_bf16(b);
        // The library's kernel, and the panel kernel on the same copy where this CPU has it (on AVX512-BF16 CPUs
        // the library packs bf16 weights as paired panels: checked, so that a change of its layout cannot
        // silently switch the panel kernel off).
        if (panel_gemm_bf16_supported()) {
            EXPECT_TRUE((*packed)->has_panels());
        }
        for (const bool panels : {false, true}) {
            if (panels && !(*packed)->has_panels()) continue;
            SCOPED_TRACE(panels ? "panel kernel" : "library kernel");
            EXPECT_LE(worst_against(s, **packed, a, lda, a_bf16, b_bf16, ldb, panels), tolerance);
            // Both operands are really rounded: against B rounded alone, or A alone, the result is further off.
            if (s.k >= 64) {
                EXPECT_GT(worst_against(s, **packed, a, lda, a, b_bf16, ldb, panels), 10 * tolerance);
                EXPECT_GT(worst_against(s, **packed, a, lda, a_bf16, b, ldb, panels), 10 * tolerance);
            }
        }
    }
}

TEST(PackedGemmBf16, RefusedWhereThereAreNoBf16Products) {
    if (packed_bf16_support().ok()) GTEST_SKIP() << "this CPU and build have bf16 products";
    EXPECT_EQ(packed_bf16_support().code(), StatusCode::kUnsupported);
    EXPECT_FALSE(packed_bf16_support().message().empty());
    const std::vector<float> b(64 * 64, 1.0f);
    EXPECT_EQ(PackedWeights::pack(b.data(), 64, 64, 64, true, PackedType::kBf16).status().code(),
              StatusCode::kUnsupported);
}

}  // namespace
}  // namespace hclip
