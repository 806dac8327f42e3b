#include "model/transformer.h"

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/compute_pool.h"
#include "kernels/gemm.h"
#include "kernels/half_gemm.h"
#include "kernels/kernel_choice.h"
#include "kernels/ops.h"
#include "kernels/packed_gemm.h"

namespace hclip {

namespace {
std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}
}  // namespace

void TransformerScratch::reserve(const TransformerConfig& cfg, int max_rows, int max_sequence) {
    max_rows_ = max_rows;
    normed_.assign(sz(max_rows, cfg.width), 0.0f);
    qkv_.assign(sz(max_rows, 3 * cfg.width), 0.0f);
    attention_.assign(sz(max_rows, cfg.width), 0.0f);
    mlp_.assign(sz(max_rows, cfg.mlp_width), 0.0f);
    head_stride_ = attention_scratch_floats(max_sequence, max_sequence, cfg.width / std::max(cfg.heads, 1));
    head_scratch_.assign(static_cast<std::size_t>(std::max(cfg.heads, 1)) * head_stride_, 0.0f);
}

void linear_forward(const LinearWeights& lin, const float* x, int rows, float* y, const LinearOutput& out) {
    const Epilogue epilogue{.bias = lin.bias, .activation = out.activation, .accumulate = out.accumulate};
    if (use_packed(lin.packed, lin.weight, lin.choice, rows) && lin.half.data == nullptr) {
        gemm_f32_packed({.m = rows,
                         .a = x,
                         .lda = lin.in,
                         .b = lin.packed,
                         .c = y,
                         .ldc = lin.out,
                         .epilogue = epilogue,
                         .panels = use_panels(lin.choice, rows)});
        return;
    }
    // The other kernels overwrite their result (or, the plain GEMM, add it with beta = 1): an activated residual
    // goes through `temp`.
    const bool through_temp =
        out.accumulate && (lin.half.data != nullptr || out.activation != EpilogueActivation::kNone);
    float* product = through_temp ? out.temp : y;
    if (lin.half.data != nullptr) {
        gemm_f32_half_weights({.m = rows,
                               .n = lin.out,
                               .k = lin.in,
                               .a = x,
                               .lda = lin.in,
                               .w = lin.half.data,
                               .type = lin.half.type,
                               .c = product,
                               .ldc = lin.out});
    } else {
        gemm_f32({.m = rows,
                  .n = lin.out,
                  .k = lin.in,
                  .a = x,
                  .lda = lin.in,
                  .b = lin.weight,
                  .ldb = lin.in,
                  .b_transposed = true,
                  .c = product,
                  .ldc = lin.out,
                  .beta = out.accumulate && !through_temp ? 1.0f : 0.0f});
    }
    Epilogue rest = epilogue;
    rest.accumulate = through_temp;
    apply_epilogue(rest, product, lin.out, y, lin.out, rows, lin.out);
}

void projection_forward(const ProjectionWeights& p, const float* x, int ldx, int rows, float* y) {
    if (p.half.data != nullptr) {
        gemm_f32_half_weights({.m = rows,
                               .n = p.out,
                               .k = p.in,
                               .a = x,
                               .lda = ldx,
                               .w = p.half.data,
                               .type = p.half.type,
                               .c = y,
                               .ldc = p.out});
        return;
    }
    if (use_packed(p.packed, p.weight, p.choice, rows)) {
        gemm_f32_packed(
            {.m = rows, .a = x, .lda = ldx, .b = p.packed, .c = y, .ldc = p.out, .panels = use_panels(p.choice, rows)});
        return;
    }
    gemm_f32({.m = rows,
              .n = p.out,
              .k = p.in,
              .a = x,
              .lda = ldx,
              .b = p.weight,
              .ldb = p.stored_transposed ? p.in : p.out,
              .b_transposed = p.stored_transposed,
              .c = y,
              .ldc = p.out});
}

namespace {

// qkv[rows, 3W] = x * [Wq; Wk; Wv]^T + [bq; bk; bv]
void qkv_forward(const BlockWeights& b, const float* x, int rows, int width, float* qkv) {
    const int ld = 3 * width;
    if (b.qkv_half.data != nullptr) {
        gemm_f32_half_weights({.m = rows,
                               .n = ld,
                               .k = width,
                               .a = x,
                               .lda = width,
                               .w = b.qkv_half.data,
                               .type = b.qkv_half.type,
                               .c = qkv,
                               .ldc = ld});
        add_bias_rows(qkv, ld, rows, ld, b.qkv_bias);
        return;
    }
    if (use_packed(b.qkv_packed, b.q.weight, b.qkv_choice, rows)) {
        gemm_f32_packed({.m = rows,
                         .a = x,
                         .lda = width,
                         .b = b.qkv_packed,
                         .c = qkv,
                         .ldc = ld,
                         .epilogue = {.bias = b.qkv_bias},
                         .panels = use_panels(b.qkv_choice, rows)});
        return;
    }
    if (b.qkv_contiguous) {
        gemm_f32({.m = rows,
                  .n = ld,
                  .k = width,
                  .a = x,
                  .lda = width,
                  .b = b.q.weight,
                  .ldb = width,
                  .b_transposed = true,
                  .c = qkv,
                  .ldc = ld});
        add_bias_rows(qkv, ld, rows, ld, b.q.bias);
        return;
    }
    const LinearWeights* parts[3] = {&b.q, &b.k, &b.v};
    for (int i = 0; i < 3; ++i) {
        float* dst = qkv + static_cast<std::ptrdiff_t>(i) * width;
        gemm_f32({.m = rows,
                  .n = width,
                  .k = width,
                  .a = x,
                  .lda = width,
                  .b = parts[i]->weight,
                  .ldb = width,
                  .b_transposed = true,
                  .c = dst,
                  .ldc = ld});
        add_bias_rows(dst, ld, rows, width, parts[i]->bias);
    }
}

// Scaled dot-product attention of one head within one sequence, written into attn[first_row.., W].
void head_attention(const float* qkv, int width, int heads, int h, SequenceSpan seq, bool causal, float* scratch,
                    float* attn) {
    const int ld = 3 * width;
    const int hd = width / heads;
    const float* q = qkv + static_cast<std::ptrdiff_t>(seq.first_row) * ld + h * hd;
    attention_head({.queries = seq.length,
                    .keys = seq.length,
                    .head_dim = hd,
                    .q = q,
                    .ldq = ld,
                    .k = q + width,
                    .ldk = ld,
                    .v = q + 2 * width,
                    .ldv = ld,
                    .out = attn + static_cast<std::ptrdiff_t>(seq.first_row) * width + h * hd,
                    .ldo = width,
                    .scale = 1.0f / std::sqrt(static_cast<float>(hd)),
                    .causal = causal,
                    .scratch = scratch});
}

// Multi-head attention of every sequence: one task per head (each with its own scratch), split across the
// compute pool. A head's arithmetic is the same on any thread.
void attention_forward(const float* qkv, int width, int heads, std::span<const SequenceSpan> sequences, bool causal,
                       TransformerScratch& s) {
    parallel_for(heads, [&](int h) {
        float* scratch = s.head_scratch(h);
        for (const SequenceSpan& seq : sequences)
            head_attention(qkv, width, heads, h, seq, causal, scratch, s.attention());
    });
}

EpilogueActivation epilogue_activation(Activation act) {
    return act == Activation::kGelu ? EpilogueActivation::kGelu : EpilogueActivation::kQuickGelu;
}

}  // namespace

void run_transformer(const std::vector<BlockWeights>& blocks, const TransformerConfig& cfg, float* x, int rows,
                     std::span<const SequenceSpan> sequences, bool causal, TransformerScratch& s) {
    const int w = cfg.width;
    for (const BlockWeights& b : blocks) {
        // x = x + out_proj(attention(ln_1(x)))
        layer_norm_rows(x, w, s.normed(), w, rows, w, b.ln1.gamma, b.ln1.beta, cfg.layer_norm_eps);
        qkv_forward(b, s.normed(), rows, w, s.qkv());
        attention_forward(s.qkv(), w, cfg.heads, sequences, causal, s);
        linear_forward(b.out, s.attention(), rows, x, {.accumulate = true, .temp = s.normed()});
        // x = x + fc2(act(fc1(ln_2(x))))
        layer_norm_rows(x, w, s.normed(), w, rows, w, b.ln2.gamma, b.ln2.beta, cfg.layer_norm_eps);
        linear_forward(b.fc1, s.normed(), rows, s.mlp(), {.activation = epilogue_activation(cfg.activation)});
        linear_forward(b.fc2, s.mlp(), rows, x, {.accumulate = true, .temp = s.normed()});
    }
}

}  // namespace hclip
