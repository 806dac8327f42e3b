// Views of a loaded model's weights. Pointers point into the memory-mapped checkpoint (F32) or into buffers the
// model owns (tensors converted from F16/BF16); either way they live as long as the ClipModel.
// A matrix packed at load for the packed GEMM has `packed` set and its plain `weight` set to null: the plain
// copy is then released (its mapped pages dropped, its converted buffer freed).
// A matrix stored in 16 bits (ModelOptions::weights bf16 or fp16) has `half` set and its float32 pointer set to
// null in the same way: the model then holds only the 16-bit copy.
// A matrix packed at load for the packed GEMM has `packed` set and, unless its shape's kernel choice (`choice`)
// also uses the plain GEMM for some row counts, its plain `weight` set to null: the plain copy is then released
// (its mapped pages dropped, its converted buffer freed). use_packed() (kernels/kernel_choice.h) decides per call.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/half_gemm.h"

namespace hclip {

class PackedWeights;
struct GemmChoice;

// A matrix [out, in] (row-major, rows `in` apart) in bfloat16 or binary16; null data when not stored so.
struct HalfWeights {
    const std::uint16_t* data = nullptr;
    HalfType type = HalfType::kBf16;
};

// PyTorch Linear: weight [out, in], y = x W^T + b.
struct LinearWeights {
    const float* weight = nullptr;
    const float* bias = nullptr;
    int out = 0;
    int in = 0;
    const PackedWeights* packed = nullptr;
    HalfWeights half{};
    const GemmChoice* choice = nullptr;
};

struct NormWeights {
    const float* gamma = nullptr;
    const float* beta = nullptr;
};

struct BlockWeights {
    NormWeights ln1, ln2;
    LinearWeights q, k, v, out;
    LinearWeights fc1, fc2;
    // True when q, k and v are consecutive rows of one [3W, W] tensor (OpenAI layout): one GEMM computes all three.
    bool qkv_contiguous = false;
    // [Wq; Wk; Wv] packed as one [3W, W] matrix (either layout), with [bq; bk; bv]: one GEMM for all three.
    const PackedWeights* qkv_packed = nullptr;
    const GemmChoice* qkv_choice = nullptr;
    const float* qkv_bias = nullptr;
    // [Wq; Wk; Wv] as one [3W, W] 16-bit matrix (either layout), with qkv_bias.
    HalfWeights qkv_half{};
};

// The final projection, y = x P. OpenAI stores P as [in, out]; Hugging Face stores P^T as [out, in].
struct ProjectionWeights {
    const float* weight = nullptr;
    int in = 0;
    int out = 0;
    bool stored_transposed = false;
    const PackedWeights* packed = nullptr;
    HalfWeights half{};  // always P^T, [out, in], whatever the checkpoint's order
    const GemmChoice* choice = nullptr;
};

struct VisionWeights {
    const float* patch_embedding = nullptr;     // conv weight [width, 3, patch, patch], no bias
    const float* class_embedding = nullptr;     // [width]
    const float* position_embedding = nullptr;  // [tokens, width]
    const PackedWeights* patch_embedding_packed = nullptr;
    HalfWeights patch_embedding_half{};  // [width, 3 * patch * patch]
    const GemmChoice* patch_embedding_choice = nullptr;
    NormWeights ln_pre, ln_post;
    std::vector<BlockWeights> blocks;
    ProjectionWeights projection;
};

struct TextWeights {
    const float* token_embedding = nullptr;     // [vocab, width]
    HalfWeights token_embedding_half{};         // the same in 16 bits: looked-up rows are widened
    const float* position_embedding = nullptr;  // [context, width]
    std::vector<BlockWeights> blocks;
    NormWeights ln_final;
    ProjectionWeights projection;
};

}  // namespace hclip
