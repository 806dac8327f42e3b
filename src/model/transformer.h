// The pre-LayerNorm transformer stack shared by both towers. Several sequences are processed in one pass: their
// rows are stacked so every linear layer is one large GEMM, while attention stays within each sequence.
#pragma once

#include <span>
#include <vector>

#include "kernels/ops.h"
#include "model/clip_config.h"
#include "model/clip_weights.h"

namespace hclip {

struct SequenceSpan {
    int first_row = 0;
    int length = 0;
};

// Scratch memory for one session, sized once for the largest batch the session accepts.
class TransformerScratch {
  public:
    void reserve(const TransformerConfig& cfg, int max_rows, int max_sequence);

    float* normed() { return normed_.data(); }
    float* qkv() { return qkv_.data(); }
    float* attention() { return attention_.data(); }
    float* mlp() { return mlp_.data(); }
    float* head_scratch(int head) { return head_scratch_.data() + static_cast<std::size_t>(head) * head_stride_; }
    int max_rows() const { return max_rows_; }

  private:
    std::vector<float> normed_, qkv_, attention_, mlp_;
    std::vector<float> head_scratch_;  // attention_head's scratch, one per head: heads run in parallel
    std::size_t head_stride_ = 0;
    int max_rows_ = 0;
};

// x: [rows, width], updated in place by every block. `causal` masks each sequence's future positions.
void run_transformer(const std::vector<BlockWeights>& blocks, const TransformerConfig& cfg, float* x, int rows,
                     std::span<const SequenceSpan> sequences, bool causal, TransformerScratch& scratch);

// What linear_forward does with its result: y = act(x W^T + b), or y += act(x W^T + b) with `accumulate` (a
// residual connection), which needs `temp` [rows, out] as scratch on the kernels that cannot add in place.
struct LinearOutput {
    EpilogueActivation activation = EpilogueActivation::kNone;
    bool accumulate = false;
    float* temp = nullptr;
};

// y[rows, out] = x[rows, in] * W^T + b, then `out` applied.
void linear_forward(const LinearWeights& lin, const float* x, int rows, float* y, const LinearOutput& out = {});

// y[rows, out] = x[rows, in] * P, for either storage order of P. x rows are `ldx` apart.
void projection_forward(const ProjectionWeights& proj, const float* x, int ldx, int rows, float* y);

}  // namespace hclip
