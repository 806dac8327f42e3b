#include "model/resnet_tower.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "kernels/compute_pool.h"
#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/packed_gemm.h"
#include "kernels/pooling.h"
#include "model/attention_pool.h"
#include "model/transformer.h"

namespace hclip {

namespace {

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

// The largest activation (floats) and im2col scratch of one image, walking the network as encode does (no scratch
// where every convolution is direct).
struct TrunkSizes {
    std::size_t activation = 0, columns = 0;

    void note(const FoldedConv& c, int h, int w) {
        const Conv2dShape s = c.shape(h, w);
        activation =
            std::max({activation, sz(h * w, s.in_channels), sz(s.out_height() * s.out_width(), s.out_channels)});
        if (c.direct == nullptr) columns = std::max(columns, s.columns_floats());  // direct ones need no im2col
    }
};

TrunkSizes trunk_sizes(const ResNetWeights& r, int image_size) {
    TrunkSizes t;
    t.activation = sz(image_size * image_size, 3);
    for_each_resnet_conv(r, image_size,
                         [&t](const FoldedConv& c, int size, ResNetConvEpilogue) { t.note(c, size, size); });
    return t;
}

}  // namespace

ResNetTower::ResNetTower(std::shared_ptr<const ClipModel> model, int max_batch)
    : model_(std::move(model)), max_batch_(std::max(1, max_batch)) {
    const VisionConfig& c = model_->config().vision;
    const TrunkSizes t = trunk_sizes(model_->resnet(), c.image_size);
    for (auto* buf : {&cur_, &t1_, &t2_, &t3_})
        buf->assign(t.activation, 0.0f);
    columns_.assign(t.columns, 0.0f);
    const int tokens = c.attnpool_grid() * c.attnpool_grid() + 1, width = c.attnpool_width();
    tokens_.assign(sz(max_batch_ * tokens, width), 0.0f);
    q_.assign(sz(max_batch_, width), 0.0f);
    pooled_.assign(sz(max_batch_, width), 0.0f);
    folded_.assign(sz(max_batch_ * c.heads, width), 0.0f);
    scores_.assign(sz(c.heads, tokens), 0.0f);
}

Status ResNetTower::encode(std::span<const float> pixels, int batch, std::span<float> out) {
    return encode_in_chunks(model_->config(), pixels, batch, out, max_batch_,
                            [this](const float* in, int n, float* embeddings) { encode_chunk(in, n, embeddings); });
}

void ResNetTower::encode_chunk(const float* pixels, int batch, float* out) {
    const VisionConfig& c = model_->config().vision;
    const int tokens = c.attnpool_grid() * c.attnpool_grid() + 1, width = c.attnpool_width();
    const std::size_t per_image = 3u * sz(c.image_size, c.image_size);
    for (int b = 0; b < batch; ++b) {
        // Grid positions go to rows 1.. of the image's tokens; row 0 becomes their mean.
        trunk(pixels + per_image * static_cast<std::size_t>(b), tokens_.data() + sz(b * tokens + 1, width));
    }
    attention_pool(batch, out);
}

namespace {

// How a convolution's reader gets its output: bf16 where its direct kernel writes that.
ConvInput output_of(const FoldedConv* from) {
    return from != nullptr && from->direct != nullptr && from->direct->spec().bf16_output ? ConvInput::kBf16
                                                                                          : ConvInput::kF32;
}

}  // namespace

void ResNetTower::conv(const FoldedConv& c, const FoldedConv* from, const float* in, int height, int width, float* out,
                       bool relu) {
    assert(from == nullptr || resnet_reader(model_->resnet(), *from) == &c);
    const ConvInput input = output_of(from);
    if (c.direct != nullptr) {
        assert(c.direct->spec().shape.height == height && c.direct->spec().relu == relu &&
               !c.direct->spec().accumulate);
        c.direct->run(in, out, input);
        return;
    }
    assert(input == ConvInput::kF32 && "a bf16 output is only made for a direct bf16 reader");
    conv2d_nhwc({.shape = c.shape(height, width),
                 .batch = 1,
                 .input = in,
                 .weight = c.weight.data(),
                 .packed_weight = c.packed,
                 .bias = c.bias.data(),
                 .relu = relu,
                 .output = out,
                 .columns = columns_.data()});
}

void ResNetTower::conv_add_relu(const FoldedConv& c, const FoldedConv* from, const float* in, int height, int width,
                                float* sum, float* scratch) {
    assert(from == nullptr || resnet_reader(model_->resnet(), *from) == &c);
    if (c.direct != nullptr) {
        assert(c.direct->spec().shape.height == height && c.direct->spec().relu && c.direct->spec().accumulate);
        c.direct->run(in, sum, output_of(from));
        return;
    }
    conv(c, from, in, height, width, scratch, false);
    const Conv2dShape s = c.shape(height, width);
    add_relu_inplace(sum, scratch, sz(s.out_height() * s.out_width(), s.out_channels));
}

void ResNetTower::trunk(const float* chw, float* features) {
    const VisionConfig& c = model_->config().vision;
    const ResNetWeights& r = model_->resnet();
    const int s = c.image_size;
    for (int y = 0; y < s; ++y) {
        for (int x = 0; x < s; ++x) {
            for (int ch = 0; ch < 3; ++ch)
                cur_[sz(y * s + x, 3) + static_cast<std::size_t>(ch)] =
                    chw[sz(ch * s + y, s) + static_cast<std::size_t>(x)];
        }
    }
    // Stem: three 3x3 conv-BN-ReLU (stride 2, 1, 1), then 2x2 average pooling.
    int h = s;
    conv(r.stem[0], nullptr, cur_.data(), h, h, t1_.data(), true);
    h = r.stem[0].shape(h, h).out_height();
    conv(r.stem[1], &r.stem[0], t1_.data(), h, h, t2_.data(), true);
    conv(r.stem[2], &r.stem[1], t2_.data(), h, h, t1_.data(), true);
    avg_pool_nhwc(t1_.data(), 1, h, h, r.stem[2].out, 2, cur_.data());
    h /= 2;
    for (const BottleneckWeights& b : r.blocks) {
        bottleneck(b, h, h);
        h /= b.stride;
    }
    std::copy_n(cur_.data(), sz(h * h, c.attnpool_width()), features);
}

void ResNetTower::bottleneck(const BottleneckWeights& b, int height, int width) {
    const int oh = height / b.stride, ow = width / b.stride;
    conv(b.conv1, nullptr, cur_.data(), height, width, t1_.data(), true);
    conv(b.conv2, &b.conv1, t1_.data(), height, width, t2_.data(), true);
    float* mid = t2_.data();
    if (b.stride > 1) {  // anti-aliasing: average pooling instead of a strided convolution
        avg_pool_nhwc(t2_.data(), 1, height, width, b.conv2.out, b.stride, t1_.data());
        mid = t1_.data();
    }
    // The shortcut: the block's input itself, or its downsampled copy in t3_. conv3 adds onto it in place.
    float* shortcut = cur_.data();
    if (b.has_downsample) {
        const float* src = cur_.data();
        if (b.stride > 1) {  // t2_ is free: its pooled copy is in t1_
            avg_pool_nhwc(cur_.data(), 1, height, width, b.conv1.in, b.stride, t2_.data());
            src = t2_.data();
        }
        conv(b.downsample, nullptr, src, oh, ow, t3_.data(), false);
        shortcut = t3_.data();
    }
    // conv3 reads conv2's output as conv2 wrote it; after the pooling it is float32.
    conv_add_relu(b.conv3, b.stride > 1 ? nullptr : &b.conv2, mid, oh, ow, shortcut,
                  mid == t1_.data() ? t2_.data() : t1_.data());
    if (b.has_downsample) std::swap(cur_, t3_);
}

// OpenAI's AttentionPool2d: tokens = [mean; grid] + positional embedding; one multi-head attention whose only
// query is the mean token (its keys and values folded, model/attention_pool.h); c_proj of its output.
void ResNetTower::attention_pool(int batch, float* out) {
    const VisionConfig& c = model_->config().vision;
    const AttentionPoolWeights& ap = model_->resnet().attnpool;
    const int grid_cells = c.attnpool_grid() * c.attnpool_grid(), tokens = grid_cells + 1;
    const int width = c.attnpool_width();
    for (int b = 0; b < batch; ++b) {
        float* t = tokens_.data() + sz(b * tokens, width);
        mean_pool_rows(t + width, 1, grid_cells, width, t, width);
        add_inplace(t, ap.positional_embedding, sz(tokens, width));
    }
    // The query: row 0 of every image's tokens.
    if (ap.q.packed != nullptr) {
        gemm_f32_packed(
            {.m = batch, .a = tokens_.data(), .lda = tokens * width, .b = ap.q.packed, .c = q_.data(), .ldc = width});
    } else {
        gemm_f32({.m = batch,
                  .n = width,
                  .k = width,
                  .a = tokens_.data(),
                  .lda = tokens * width,
                  .b = ap.q.weight,
                  .ldb = width,
                  .b_transposed = true,
                  .c = q_.data(),
                  .ldc = width});
    }
    add_bias_rows(q_.data(), width, batch, width, ap.q.bias);
    pooled_attention({.batch = batch,
                      .tokens = tokens,
                      .width = width,
                      .heads = c.heads,
                      .x = tokens_.data(),
                      .q = q_.data(),
                      .wk = ap.k.weight,
                      .bk = ap.k.bias,
                      .wv = ap.v.weight,
                      .bv = ap.v.bias,
                      .out = pooled_.data(),
                      .folded = folded_.data(),
                      .scores = scores_.data()});
    linear_forward(ap.c_proj, pooled_.data(), batch, out);
}

}  // namespace hclip
