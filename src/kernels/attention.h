// Scaled dot-product attention of one head over a short sequence (CLIP's 50 image tokens, up to 77 text tokens,
// FastViT's attention stages), computed without a GEMM library: at these sizes a library's per-call overhead and
// packing cost more than the arithmetic. On x86-64 with AVX-512: register tiles of GCC/Clang generic vectors and a
// softmax written for the loop vectorizer; elsewhere the two library products around softmax_rows (see
// attention.cpp for what was measured).
#pragma once

#include <cstddef>

namespace hclip {

// out[i, :] = softmax_j(scale * q[i, :] . k[j, :]) v[j, :] for i < queries, j < keys. Each operand is read in
// place, its rows `ld*` floats apart (the columns of one head inside a fused [tokens, 3 * width] QKV matrix);
// out rows are `ldo` apart. `causal` lets query i see keys 0..i only (then queries <= keys). `scratch` holds
// attention_scratch_floats(queries, keys, head_dim) floats, not shared with another call running at the same
// time.
struct AttentionHeadArgs {
    int queries = 0, keys = 0, head_dim = 0;
    const float* q = nullptr;
    int ldq = 0;
    const float* k = nullptr;
    int ldk = 0;
    const float* v = nullptr;
    int ldv = 0;
    float* out = nullptr;
    int ldo = 0;
    float scale = 1.0f;
    bool causal = false;
    float* scratch = nullptr;
};

std::size_t attention_scratch_floats(int queries, int keys, int head_dim);

// The fastest build for this CPU (chosen at the first call).
void attention_head(const AttentionHeadArgs& args);

// The same through gemm_f32 and softmax_rows: what attention_head runs without AVX-512, and a second oracle.
void attention_head_products(const AttentionHeadArgs& args);

}  // namespace hclip
