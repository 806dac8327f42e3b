// Rounding float32 activations to bfloat16 in bulk, for the bf16 products (kernels/packed_gemm.h, PackedType::kBf16).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hclip {

// dst[r * cols + c] = f32_to_bf16(src[r * ld + c]) for a [rows, cols] block whose rows are `ld` floats apart:
// nearest even, NaN kept a quiet NaN, bit for bit core/half.h's f32_to_bf16, but branch-free so that it
// vectorizes.
void f32_to_bf16_rows(const float* src, int rows, int cols, int ld, std::uint16_t* dst);

}  // namespace hclip
