#include "model/vision_tower.h"

#include <algorithm>
#include <cstring>

#include "kernels/compute_pool.h"
#include "kernels/gemm.h"
#include "kernels/half_gemm.h"
#include "kernels/kernel_choice.h"
#include "kernels/ops.h"
#include "kernels/packed_gemm.h"

namespace hclip {

VisionTower::VisionTower(std::shared_ptr<const ClipModel> model, int max_batch)
    : model_(std::move(model)), max_batch_(std::max(1, max_batch)) {
    const VisionConfig& c = model_->config().vision;
    const int rows = max_batch_ * c.num_tokens();
    scratch_.reserve(c, rows, c.num_tokens());
    x_.assign(static_cast<std::size_t>(rows) * static_cast<std::size_t>(c.width), 0.0f);
    patches_.assign(static_cast<std::size_t>(c.num_patches()) * 3u * static_cast<std::size_t>(c.patch_size) *
                        static_cast<std::size_t>(c.patch_size),
                    0.0f);
    pooled_.assign(static_cast<std::size_t>(max_batch_) * static_cast<std::size_t>(c.width), 0.0f);
    sequences_.reserve(static_cast<std::size_t>(max_batch_));
}

Status VisionTower::encode(std::span<const float> pixels, int batch, std::span<float> out) {
    const ClipConfig& cfg = model_->config();
    if (cfg.vision.kind != VisionKind::kVit) {
        return unsupported("the ViT image tower cannot run a " + std::string(vision_kind_name(cfg.vision.kind)) +
                           " model; make_image_tower picks the tower of the model's family");
    }
    return encode_in_chunks(cfg, pixels, batch, out, max_batch_,
                            [this](const float* in, int n, float* embeddings) { encode_chunk(in, n, embeddings); });
}

void VisionTower::encode_chunk(const float* pixels, int batch, float* out) {
    const VisionConfig& c = model_->config().vision;
    const VisionWeights& w = model_->vision();
    const int width = c.width, p = c.patch_size, grid = c.grid(), tokens = c.num_tokens(), s = c.image_size;
    const int patch_len = 3 * p * p;
    sequences_.clear();
    for (int b = 0; b < batch; ++b) {
        // Patch embedding as a GEMM: each patch unrolled in the conv weight's (channel, y, x) order.
        const float* img = pixels + static_cast<std::ptrdiff_t>(b) * 3 * s * s;
        for (int gy = 0; gy < grid; ++gy) {
            for (int gx = 0; gx < grid; ++gx) {
                float* dst = patches_.data() + static_cast<std::ptrdiff_t>(gy * grid + gx) * patch_len;
                for (int ch = 0; ch < 3; ++ch) {
                    for (int ky = 0; ky < p; ++ky) {
                        const float* src = img + (static_cast<std::ptrdiff_t>(ch) * s + gy * p + ky) * s + gx * p;
                        std::memcpy(dst + (ch * p + ky) * p, src, sizeof(float) * static_cast<std::size_t>(p));
                    }
                }
            }
        }
        float* x = x_.data() + static_cast<std::ptrdiff_t>(b) * tokens * width;
        std::memcpy(x, w.class_embedding, sizeof(float) * static_cast<std::size_t>(width));
        if (w.patch_embedding_half.data != nullptr) {
            gemm_f32_half_weights({.m = c.num_patches(),
                                   .n = width,
                                   .k = patch_len,
                                   .a = patches_.data(),
                                   .lda = patch_len,
                                   .w = w.patch_embedding_half.data,
                                   .type = w.patch_embedding_half.type,
                                   .c = x + width,
                                   .ldc = width});
        } else if (use_packed(w.patch_embedding_packed, w.patch_embedding, w.patch_embedding_choice, c.num_patches())) {
            gemm_f32_packed({.m = c.num_patches(),
                             .a = patches_.data(),
                             .lda = patch_len,
                             .b = w.patch_embedding_packed,
                             .c = x + width,
                             .ldc = width,
                             .panels = use_panels(w.patch_embedding_choice, c.num_patches())});
        } else {
            gemm_f32({.m = c.num_patches(),
                      .n = width,
                      .k = patch_len,
                      .a = patches_.data(),
                      .lda = patch_len,
                      .b = w.patch_embedding,
                      .ldb = patch_len,
                      .b_transposed = true,
                      .c = x + width,
                      .ldc = width});
        }
        add_inplace(x, w.position_embedding, static_cast<std::size_t>(tokens) * static_cast<std::size_t>(width));
        sequences_.push_back({b * tokens, tokens});
    }
    const int rows = batch * tokens;
    layer_norm_rows(x_.data(), width, x_.data(), width, rows, width, w.ln_pre.gamma, w.ln_pre.beta, c.layer_norm_eps);
    run_transformer(w.blocks, c, x_.data(), rows, sequences_, /*causal=*/false, scratch_);
    // Pool the class token of each image: ln_post, then the projection.
    for (int b = 0; b < batch; ++b) {
        layer_norm_rows(x_.data() + static_cast<std::ptrdiff_t>(b) * tokens * width, width,
                        pooled_.data() + static_cast<std::ptrdiff_t>(b) * width, width, 1, width, w.ln_post.gamma,
                        w.ln_post.beta, c.layer_norm_eps);
    }
    projection_forward(w.projection, pooled_.data(), width, batch, out);
}

}  // namespace hclip
