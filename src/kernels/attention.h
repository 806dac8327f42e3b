// Scaled dot-product attention of one head over a short sequence (CLIP's 50 image tokens, up to 77 text tokens,
// FastViT's attention stages), computed without a GEMM library: at these sizes a library's per-call overhead and
// packing cost more than the arithmetic. Portable C++ (the products on GCC/Clang generic vectors, the softmax
// written for the loop vectorizer); on x86-64 also compiled for AVX2 and AVX-512 and picked at run time.
#pragma once

#include <cstddef>

namespace hclip {

// out[i, :] = softmax_j(scale * q[i, :] . k[j, :]) v[j, :] for i < queries, j < keys. Each operand is read in
// place, its rows `ld*` floats apart (the columns of one head inside a fused [tokens, 3 * width] QKV matrix);
// out rows are `ldo` apart. `causal` lets query i see keys 0..i only (then queries <= keys). `scratch` holds
// attention_scratch_floats(keys, head_dim) floats, not shared with another call running at the same time.
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

std::size_t attention_scratch_floats(int keys, int head_dim);

void attention_head(const AttentionHeadArgs& args);

}  // namespace hclip
