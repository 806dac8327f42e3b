// Matrix products whose weight operand is stored in 16 bits (bfloat16 or IEEE binary16) while the activations and
// the arithmetic stay float32: C = A * W^T. Half the bytes per weight is what a memory-bound product (a short
// prompt streams every text weight once per pass) gains from; the weights are widened to float32 on the way into
// the arithmetic, never the activations narrowed. Portable C++ (GCC vectorizes the loops); on x86-64 the hot
// loops are also compiled for AVX2/FMA and AVX-512 and chosen at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hclip {

enum class HalfType : std::uint8_t { kBf16, kF16 };

std::string_view half_type_name(HalfType type);  // "bf16", "fp16"

// dst[i] = the float32 value of src[i] (exact).
void widen_half(HalfType type, const std::uint16_t* src, std::size_t count, float* dst);

// C[m, n] = A[m, k] * W^T, row-major; W is stored [n, k] (a PyTorch Linear weight [out, in]) with rows k apart.
// C is overwritten. Split by columns across the compute pool like gemm_f32, by shape and machine only.
struct HalfGemmArgs {
    int m = 0, n = 0, k = 0;
    const float* a = nullptr;
    int lda = 0;
    const std::uint16_t* w = nullptr;
    HalfType type = HalfType::kBf16;
    float* c = nullptr;
    int ldc = 0;
};

void gemm_f32_half_weights(const HalfGemmArgs& args);

// Products with at most this many rows take the direct kernel (weights widened a few rows at a time into the
// cache and dotted with every row of A); larger ones widen a panel of W and run the float32 GEMM on it.
inline constexpr int kHalfGemmDirectMaxRows = 16;

// The double-precision oracle for the tests: C = A * widen(W)^T.
void gemm_f32_half_weights_reference(const HalfGemmArgs& args);

}  // namespace hclip
