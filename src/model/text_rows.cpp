#include "model/text_rows.h"

#include <algorithm>

#include "kernels/ops.h"

namespace hclip {

TextRowsTransformer::TextRowsTransformer(std::shared_ptr<const ClipModel> model) : model_(std::move(model)) {
    const TextConfig& c = model_->config().text;
    scratch_.reserve(c, c.context_length, c.context_length);
    x_.assign(static_cast<std::size_t>(c.context_length) * static_cast<std::size_t>(c.width), 0.0f);
}

Status TextRowsTransformer::run(std::span<const float> rows, std::span<float> out) {
    const TextConfig& c = model_->config().text;
    const TextWeights& w = model_->text();
    if (rows.size() != x_.size() || out.size() != x_.size()) {
        return invalid_argument("text rows: expected " + std::to_string(c.context_length) + " x " +
                                std::to_string(c.width) + " values in and out");
    }
    std::copy(rows.begin(), rows.end(), x_.begin());
    add_inplace(x_.data(), w.position_embedding, x_.size());
    const SequenceSpan whole{0, c.context_length};
    run_transformer(w.blocks, c, x_.data(), c.context_length, std::span<const SequenceSpan>(&whole, 1), c.causal,
                    scratch_);
    layer_norm_rows(x_.data(), c.width, out.data(), c.width, c.context_length, c.width, w.ln_final.gamma,
                    w.ln_final.beta, c.layer_norm_eps);
    return {};
}

}  // namespace hclip
