#include "model/text_tower.h"

#include <algorithm>
#include <cstring>

#include "kernels/compute_pool.h"
#include "kernels/half_gemm.h"
#include "kernels/ops.h"

namespace hclip {

TextTower::TextTower(std::shared_ptr<const ClipModel> model, int max_batch)
    : model_(std::move(model)), max_batch_(std::max(1, max_batch)) {
    const TextConfig& c = model_->config().text;
    const int rows = max_batch_ * c.context_length;
    scratch_.reserve(c, rows, c.context_length);
    x_.assign(static_cast<std::size_t>(rows) * static_cast<std::size_t>(c.width), 0.0f);
    pooled_.assign(static_cast<std::size_t>(max_batch_) * static_cast<std::size_t>(c.width), 0.0f);
    sequences_.reserve(static_cast<std::size_t>(max_batch_));
    eot_rows_.reserve(static_cast<std::size_t>(max_batch_));
}

Result<int> TextTower::find_eot(std::span<const std::int32_t> ids, const TextConfig& cfg) {
    if (ids.size() > static_cast<std::size_t>(cfg.context_length)) {
        return invalid_argument("text has " + std::to_string(ids.size()) + " tokens; the model's context is " +
                                std::to_string(cfg.context_length));
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= cfg.vocab_size) {
            return invalid_argument("token id " + std::to_string(ids[i]) + " is outside the vocabulary of " +
                                    std::to_string(cfg.vocab_size));
        }
        if (ids[i] == cfg.eot_token) return static_cast<int>(i);
    }
    return invalid_argument("token ids have no end-of-text token (" + std::to_string(cfg.eot_token) + ")");
}

Status TextTower::encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out) {
    const int e = model_->config().embed_dim;
    if (out.size() != texts.size() * static_cast<std::size_t>(e)) {
        return invalid_argument("text tower: output has room for " + std::to_string(out.size() / e) + " texts, got " +
                                std::to_string(texts.size()));
    }
    const ComputeScope computing;  // this thread counts as busy in the compute pool for the whole pass
    for (std::size_t done = 0; done < texts.size(); done += static_cast<std::size_t>(max_batch_)) {
        const std::size_t n = std::min(static_cast<std::size_t>(max_batch_), texts.size() - done);
        HCLIP_RETURN_IF_ERROR(encode_chunk(texts.subspan(done, n), out.data() + done * static_cast<std::size_t>(e)));
    }
    return {};
}

Status TextTower::encode_chunk(std::span<const std::vector<std::int32_t>> texts, float* out) {
    const TextConfig& c = model_->config().text;
    const TextWeights& w = model_->text();
    const std::size_t width = static_cast<std::size_t>(c.width);
    sequences_.clear();
    eot_rows_.clear();
    int rows = 0;
    for (const auto& ids : texts) {
        HCLIP_ASSIGN_OR_RETURN(int eot, find_eot(ids, c));
        // Causal: nothing after the end-of-text token can change its row, so the text stops there. Not causal: every
        // position sees the whole context, so the text is computed over all of it, zero padded as the tokenizer pads.
        const int length = c.causal ? eot + 1 : c.context_length;
        for (int t = 0; t < length; ++t) {
            float* x = x_.data() + static_cast<std::size_t>(rows + t) * width;
            const auto id = static_cast<std::size_t>(t <= eot ? ids[static_cast<std::size_t>(t)] : 0);
            const float* pos = w.position_embedding + static_cast<std::size_t>(t) * width;
            if (w.token_embedding_half.data != nullptr) {
                // 16-bit table: widen the looked-up row in place, then add the position.
                widen_half(w.token_embedding_half.type, w.token_embedding_half.data + id * width, width, x);
                for (std::size_t i = 0; i < width; ++i)
                    x[i] += pos[i];
            } else {
                const float* tok = w.token_embedding + id * width;
                for (std::size_t i = 0; i < width; ++i)
                    x[i] = tok[i] + pos[i];
            }
        }
        sequences_.push_back({rows, length});
        eot_rows_.push_back(rows + eot);
        rows += length;
    }
    run_transformer(w.blocks, c, x_.data(), rows, sequences_, c.causal, scratch_);
    // Pool at each text's (first) end-of-text row, OpenCLIP's argmax of the ids: final LayerNorm (per row, so only
    // the pooled rows), then projection.
    for (std::size_t b = 0; b < sequences_.size(); ++b) {
        layer_norm_rows(x_.data() + static_cast<std::size_t>(eot_rows_[b]) * width, c.width, pooled_.data() + b * width,
                        c.width, 1, c.width, w.ln_final.gamma, w.ln_final.beta, c.layer_norm_eps);
    }
    projection_forward(w.projection, pooled_.data(), c.width, static_cast<int>(sequences_.size()), out);
    return {};
}

}  // namespace hclip
