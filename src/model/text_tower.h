// The CPU text tower: token ids -> raw text embeddings [batch, embed_dim], pooled at the first end-of-text token.
// With causal attention (TextConfig::causal) each text is computed only up to that token: nothing after it can change
// the pooled row. Without (MobileCLIP's no_causal_mask), every text is computed over the whole zero-padded context.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "model/clip_model.h"
#include "model/transformer.h"

namespace hclip {

class TextTower {
  public:
    TextTower(std::shared_ptr<const ClipModel> model, int max_batch);

    int max_batch() const { return max_batch_; }
    int embed_dim() const { return model_->config().embed_dim; }

    // Each text: SOT ... EOT (padding after the EOT is allowed and ignored: a non-causal tower pads with id 0 itself).
    // out: texts.size() * embed_dim.
    Status encode(std::span<const std::vector<std::int32_t>> texts, std::span<float> out);

    // Index of the first end-of-text token, or an error naming the problem.
    static Result<int> find_eot(std::span<const std::int32_t> ids, const TextConfig& cfg);

  private:
    Status encode_chunk(std::span<const std::vector<std::int32_t>> texts, float* out);

    std::shared_ptr<const ClipModel> model_;
    int max_batch_;
    TransformerScratch scratch_;
    std::vector<float> x_, pooled_;
    std::vector<SequenceSpan> sequences_;
    std::vector<int> eot_rows_;  // the row each text is pooled at
};

}  // namespace hclip
