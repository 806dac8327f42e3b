#include "model/conv_stem_vit_tower.h"

#include <algorithm>
#include <cstring>

#include "kernels/compute_pool.h"
#include "kernels/conv2d.h"
#include "kernels/ops.h"

namespace hclip {

namespace {

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

// timm's ConvStem pads nothing: every convolution's kernel is its stride.
Conv2dShape stem_shape(const FoldedConv& c, int size) {
    return {.height = size,
            .width = size,
            .in_channels = c.in,
            .out_channels = c.out,
            .kernel = c.kernel,
            .stride = c.stride,
            .padding = 0};
}

}  // namespace

ConvStemVitTower::ConvStemVitTower(std::shared_ptr<const ClipModel> model, int max_batch)
    : model_(std::move(model)), max_batch_(std::max(1, max_batch)) {
    const VisionConfig& c = model_->config().vision;
    const int rows = max_batch_ * c.num_tokens();
    scratch_.reserve(c, rows, c.num_tokens());
    x_.assign(sz(rows, c.width), 0.0f);
    pooled_.assign(sz(max_batch_, c.width), 0.0f);
    sequences_.reserve(static_cast<std::size_t>(max_batch_));
    std::size_t activation = sz(c.image_size * c.image_size, 3), columns = 0;
    int size = c.image_size;
    for (const FoldedConv& conv : model_->conv_stem().convs) {
        const Conv2dShape s = stem_shape(conv, size);
        columns = std::max(columns, s.columns_floats());
        size = s.out_height();
        activation = std::max(activation, sz(size * size, conv.out));
    }
    a_.assign(activation, 0.0f);
    b_.assign(activation, 0.0f);
    columns_.assign(columns, 0.0f);
}

Status ConvStemVitTower::encode(std::span<const float> pixels, int batch, std::span<float> out) {
    return encode_in_chunks(model_->config(), pixels, batch, out, max_batch_,
                            [this](const float* in, int n, float* embeddings) { encode_chunk(in, n, embeddings); });
}

void ConvStemVitTower::stem(const float* chw, float* tokens) {
    const int s = model_->config().vision.image_size;
    for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x)
            for (int ch = 0; ch < 3; ++ch)
                a_[sz(y * s + x, 3) + static_cast<std::size_t>(ch)] =
                    chw[sz(ch * s + y, s) + static_cast<std::size_t>(x)];
    const auto& convs = model_->conv_stem().convs;
    int size = s;
    const float* in = a_.data();
    for (std::size_t i = 0; i < convs.size(); ++i) {
        const FoldedConv& c = convs[i];
        const Conv2dShape shape = stem_shape(c, size);
        float* dst = i + 1 == convs.size() ? tokens : (in == a_.data() ? b_.data() : a_.data());
        conv2d_nhwc({.shape = shape,
                     .input = in,
                     .weight = c.weight.data(),
                     .packed_weight = c.packed,
                     .bias = c.bias.data(),
                     .output = dst,
                     .columns = columns_.data()});
        size = shape.out_height();
        if (i + 1 < convs.size()) gelu_inplace(dst, sz(size * size, c.out));  // BatchNormAct2d's GELU
        in = dst;
    }
}

void ConvStemVitTower::encode_chunk(const float* pixels, int batch, float* out) {
    const VisionConfig& c = model_->config().vision;
    const VisionWeights& w = model_->vision();
    const int width = c.width, tokens = c.num_tokens(), s = c.image_size;
    sequences_.clear();
    for (int b = 0; b < batch; ++b) {
        float* x = x_.data() + sz(b * tokens, width);
        stem(pixels + static_cast<std::ptrdiff_t>(b) * 3 * s * s, x + width);  // the grid, row-major, after the class
        // timm no_embed_class: the positional embedding covers the patches; the class token has none.
        add_inplace(x + width, w.position_embedding, sz(c.num_patches(), width));
        std::memcpy(x, w.class_embedding, sizeof(float) * static_cast<std::size_t>(width));
        sequences_.push_back({b * tokens, tokens});
    }
    run_transformer(w.blocks, c, x_.data(), batch * tokens, sequences_, /*causal=*/false, scratch_);
    for (int b = 0; b < batch; ++b) {
        layer_norm_rows(x_.data() + sz(b * tokens, width), width, pooled_.data() + sz(b, width), width, 1, width,
                        w.ln_post.gamma, w.ln_post.beta, c.layer_norm_eps);
    }
    linear_forward(model_->conv_stem().head, pooled_.data(), batch, out);
}

}  // namespace hclip
