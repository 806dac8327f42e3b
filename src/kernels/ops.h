// Row-wise element operations of a transformer, on row-major [rows, cols] float32 matrices with a leading
// dimension. Written as plain loops that compilers vectorise on x86-64 and aarch64 alike; large ones are split
// across the compute pool by rows.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hclip {

// y = (x - mean) / sqrt(var + eps) * gamma + beta, per row. x and y may alias.
void layer_norm_rows(const float* x, int ldx, float* y, int ldy, int rows, int cols, const float* gamma,
                     const float* beta, float eps);
// x[r, :] += bias
void add_bias_rows(float* x, int ldx, int rows, int cols, const float* bias);
// x += y, elementwise over rows*cols contiguous values
void add_inplace(float* x, const float* y, std::size_t n);
// Exact GELU: 0.5 x (1 + erf(x / sqrt 2)).
void gelu_inplace(float* x, std::size_t n);
// Numerically stable softmax of each row; with `causal`, row r only sees columns 0..r (the rest become 0).
void softmax_rows(float* x, int ldx, int rows, int cols, bool causal);

// What a linear layer does with its product before storing it: out = act(product + bias), or, with
// `accumulate`, out += act(product + bias) (a residual connection). Fused so the result is touched once.
// kQuickGelu: x * sigmoid(1.702 x), the approximation the original OpenAI models were trained with.
enum class EpilogueActivation : std::uint8_t { kNone, kQuickGelu, kGelu, kRelu };
struct Epilogue {
    const float* bias = nullptr;  // [cols], or none
    EpilogueActivation activation = EpilogueActivation::kNone;
    bool accumulate = false;
};

// dst[r, c] = act(src[r, c] + bias[c]), or += with e.accumulate. src may be dst when not accumulating.
void apply_epilogue(const Epilogue& e, const float* src, int ld_src, float* dst, int ld_dst, int rows, int cols);

}  // namespace hclip
