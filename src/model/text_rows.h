// The text transformer from token-embedding rows, without the token lookup and without pooling: what the Hailo
// text-encoder HEF computes (positional embedding added inside, the blocks, causal unless the model says otherwise,
// the final LayerNorm on every row). Used by the CPU stand-in for that HEF; TextTower stays the CPU backend's text
// path.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "model/clip_model.h"
#include "model/transformer.h"

namespace hclip {

class TextRowsTransformer {
  public:
    explicit TextRowsTransformer(std::shared_ptr<const ClipModel> model);

    int context_length() const { return model_->config().text.context_length; }
    int width() const { return model_->config().text.width; }

    // rows: context_length x width token embeddings (no positions). out: context_length x width rows after the
    // final LayerNorm. One sequence over all context_length positions, causal as TextConfig::causal says.
    Status run(std::span<const float> rows, std::span<float> out);

  private:
    std::shared_ptr<const ClipModel> model_;
    TransformerScratch scratch_;
    std::vector<float> x_;
};

}  // namespace hclip
