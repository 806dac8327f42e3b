// The attention of OpenAI's AttentionPool2d, whose only query per image is its mean token, with the key and value
// projections folded out of the per-token work. For a head h with query q_h, keys W_k[h] x_t + b_k[h] and values
// W_v[h] x_t + b_v[h]:
//   score_t = q_h . (W_k[h] x_t + b_k[h]) = (W_k[h]^T q_h) . x_t + q_h . b_k[h]
//   out_h   = sum_t p_t (W_v[h] x_t + b_v[h]) = W_v[h] (sum_t p_t x_t) + b_v[h]        (the p_t sum to 1)
// The same function, in real arithmetic, as projecting every token; but it reads W_k and W_v once per pass instead
// of multiplying them by every token: for RN50x4 (82 tokens of width 2560) about 30 million multiply-adds instead
// of 1.07 billion.
#pragma once

namespace hclip {

struct PooledAttentionArgs {
    int batch = 0, tokens = 0, width = 0, heads = 0;
    const float* x = nullptr;   // [batch, tokens, width]: the tokens, positional embedding added
    const float* q = nullptr;   // [batch, width]: the projected queries, bias added
    const float* wk = nullptr;  // [width, width], PyTorch's [out, in]
    const float* bk = nullptr;  // [width]
    const float* wv = nullptr;  // [width, width], PyTorch's [out, in]
    const float* bv = nullptr;  // [width]
    float* out = nullptr;       // [batch, width]: the heads' outputs side by side (before c_proj)
    float* folded = nullptr;    // scratch: batch * heads * width floats
    float* scores = nullptr;    // scratch: heads * tokens floats
};

void pooled_attention(const PooledAttentionArgs& args);

// By the book, in double: every token's key and value projected, then softmax(q . k / sqrt(head width)) . v per
// head. The oracle for pooled_attention's tests (scratch unused).
void pooled_attention_reference(const PooledAttentionArgs& args);

}  // namespace hclip
