#include "model/fastvit_tower.h"

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/channel_ops.h"
#include "kernels/compute_pool.h"
#include "kernels/conv2d.h"
#include "kernels/depthwise_conv.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/pooling.h"

namespace hclip {

namespace {

std::size_t sz(int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
}

// The largest activation, im2col scratch and attention sizes of one image, walking the network as trunk() does.
struct TrunkSizes {
    std::size_t activation = 0, columns = 0, tokens = 0, attention_width = 0;
};

TrunkSizes trunk_sizes(const FastVitConfig& c, const FastVitWeights& w, int image_size) {
    TrunkSizes t;
    const auto note = [&t](int size, int channels) {
        t.activation = std::max(t.activation, sz(size * size, channels));
    };
    int h = image_size;
    note(h, 3);
    t.columns = w.stem_conv.shape(h, h).columns_floats();
    h = w.stem_conv.shape(h, h).out_height();
    note(h, c.stem_width);
    h = w.stem_depthwise.out_size(h);
    note(h, c.stem_width);
    for (std::size_t i = 0; i < c.stages.size(); ++i) {
        const FastVitStageConfig& s = c.stages[i];
        if (s.downsample) h = w.stages[i].down_conv.out_size(h);
        note(h, s.mlp_width);
        note(h, s.width);
        if (s.attention) {
            t.tokens = std::max(t.tokens, sz(h, h));
            t.attention_width = std::max(t.attention_width, static_cast<std::size_t>(s.width));
        }
    }
    note(h, c.final_width);
    return t;
}

}  // namespace

FastVitTower::FastVitTower(std::shared_ptr<const ClipModel> model, int max_batch)
    : model_(std::move(model)), max_batch_(std::max(1, max_batch)) {
    const VisionConfig& v = model_->config().vision;
    const TrunkSizes t = trunk_sizes(v.fastvit, model_->fastvit(), v.image_size);
    for (auto* buf : {&cur_, &t1_, &t2_})
        buf->assign(t.activation, 0.0f);
    columns_.assign(t.columns, 0.0f);
    int widest = v.fastvit.final_width;
    for (const FastVitStageConfig& s : v.fastvit.stages)
        widest = std::max(widest, s.width);
    se_scratch_.assign(2u * static_cast<std::size_t>(widest), 0.0f);
    qkv_.assign(t.tokens * 3u * t.attention_width, 0.0f);
    attention_scratch_.assign(attention_scratch_floats(static_cast<int>(t.tokens), static_cast<int>(t.tokens),
                                                       FastVitConfig::kAttentionHeadWidth),
                              0.0f);
    attended_.assign(t.tokens * t.attention_width, 0.0f);
    pooled_.assign(sz(max_batch_, v.fastvit.final_width), 0.0f);
}

Status FastVitTower::encode(std::span<const float> pixels, int batch, std::span<float> out) {
    const ClipConfig& cfg = model_->config();
    const int f = cfg.vision.fastvit.final_width, e = cfg.embed_dim;
    const std::size_t per_image = 3u * sz(cfg.vision.image_size, cfg.vision.image_size);
    const FastVitWeights& w = model_->fastvit();
    return encode_in_chunks(cfg, pixels, batch, out, max_batch_, [&](const float* in, int n, float* dst) {
        for (int b = 0; b < n; ++b)
            trunk(in + per_image * static_cast<std::size_t>(b), pooled_.data() + sz(b, f));
        gemm_f32({.m = n,
                  .n = e,
                  .k = f,
                  .a = pooled_.data(),
                  .lda = f,
                  .b = w.head.data(),
                  .ldb = f,
                  .b_transposed = true,
                  .c = dst,
                  .ldc = e});
        add_bias_rows(dst, e, n, e, w.head_bias.data());
    });
}

void FastVitTower::conv(const FoldedConv& c, const float* in, int size, float* out) {
    conv2d_nhwc({.shape = c.shape(size, size),
                 .batch = 1,
                 .input = in,
                 .weight = c.weight.data(),
                 .packed_weight = c.packed,
                 .bias = c.bias.data(),
                 .output = out,
                 .columns = columns_.data()});
}

void FastVitTower::depthwise(const DepthwiseConv& c, const float* in, int size, float* out) {
    depthwise_conv_nhwc({.height = size,
                         .width = size,
                         .in_channels = c.in,
                         .out_channels = c.out,
                         .kernel = c.kernel,
                         .stride = c.stride,
                         .input = in,
                         .weight = c.weight.data(),
                         .bias = c.bias.data(),
                         .output = out});
}

void FastVitTower::squeeze_excite(const SqueezeExciteWeights& se, float* x, int pixels) {
    squeeze_excite_nhwc(x, pixels,
                        {.channels = se.channels,
                         .reduced = se.reduced,
                         .fc1 = se.fc1.data(),
                         .fc1_bias = se.fc1_bias.data(),
                         .fc2 = se.fc2.data(),
                         .fc2_bias = se.fc2_bias.data()},
                        se_scratch_.data());
}

// cur += fc2(gelu(fc1(depthwise7x7(cur)))), the layer scale folded into fc2.
void FastVitTower::conv_mlp(const ConvMlpWeights& m, int size, int width) {
    depthwise(m.conv, cur_.data(), size, t1_.data());
    conv(m.fc1, t1_.data(), size, t2_.data());
    gelu_inplace(t2_.data(), sz(size * size, m.fc1.out));
    conv(m.fc2, t2_.data(), size, t1_.data());
    add_inplace(cur_.data(), t1_.data(), sz(size * size, width));
}

// cur += proj(multi-head attention over the size x size tokens of BatchNorm(cur)); then the MLP.
void FastVitTower::attention_block(const AttentionBlockWeights& b, int size, int width) {
    const int n = size * size, heads = width / FastVitConfig::kAttentionHeadWidth,
              hd = FastVitConfig::kAttentionHeadWidth;
    channel_affine_nhwc(cur_.data(), n, width, b.norm_scale.data(), b.norm_shift.data(), t1_.data());
    conv(b.qkv, t1_.data(), size, qkv_.data());
    for (int h = 0; h < heads; ++h) {
        const float* q = qkv_.data() + sz(h, hd);
        attention_head({.queries = n,
                        .keys = n,
                        .head_dim = hd,
                        .q = q,
                        .ldq = 3 * width,
                        .k = q + width,
                        .ldk = 3 * width,
                        .v = q + 2 * width,
                        .ldv = 3 * width,
                        .out = attended_.data() + sz(h, hd),
                        .ldo = width,
                        .scale = 1.0f / std::sqrt(static_cast<float>(hd)),
                        .scratch = attention_scratch_.data()});
    }
    conv(b.proj, attended_.data(), size, t1_.data());
    add_inplace(cur_.data(), t1_.data(), sz(n, width));
    conv_mlp(b.mlp, size, width);
}

void FastVitTower::trunk(const float* chw, float* pooled) {
    const VisionConfig& v = model_->config().vision;
    const FastVitConfig& c = v.fastvit;
    const FastVitWeights& w = model_->fastvit();
    const int s = v.image_size;
    for (int y = 0; y < s; ++y)
        for (int x = 0; x < s; ++x)
            for (int ch = 0; ch < 3; ++ch)
                cur_[sz(y * s + x, 3) + static_cast<std::size_t>(ch)] =
                    chw[sz(ch * s + y, s) + static_cast<std::size_t>(x)];
    // Stem: 3x3 stride 2, depthwise 3x3 stride 2, 1x1; GELU after each.
    int h = s;
    conv(w.stem_conv, cur_.data(), h, t1_.data());
    h = w.stem_conv.shape(h, h).out_height();
    gelu_inplace(t1_.data(), sz(h * h, c.stem_width));
    depthwise(w.stem_depthwise, t1_.data(), h, cur_.data());
    h = w.stem_depthwise.out_size(h);
    gelu_inplace(cur_.data(), sz(h * h, c.stem_width));
    conv(w.stem_pointwise, cur_.data(), h, t1_.data());
    gelu_inplace(t1_.data(), sz(h * h, c.stem_width));
    std::swap(cur_, t1_);
    for (std::size_t i = 0; i < c.stages.size(); ++i) {
        const FastVitStageConfig& sc = c.stages[i];
        const FastVitStageWeights& st = w.stages[i];
        if (sc.downsample) {
            depthwise(st.down_conv, cur_.data(), h, t1_.data());
            h = st.down_conv.out_size(h);
            if (st.down_se.present()) squeeze_excite(st.down_se, t1_.data(), h * h);
            gelu_inplace(t1_.data(), sz(h * h, sc.width));
            conv(st.down_pointwise, t1_.data(), h, cur_.data());
            gelu_inplace(cur_.data(), sz(h * h, sc.width));
        }
        if (sc.positional_conv) {
            depthwise(st.positional_conv, cur_.data(), h, t1_.data());
            std::swap(cur_, t1_);
        }
        for (const RepMixerBlockWeights& b : st.repmixer_blocks) {
            depthwise(b.mixer, cur_.data(), h, t1_.data());
            std::swap(cur_, t1_);
            conv_mlp(b.mlp, h, sc.width);
        }
        for (const AttentionBlockWeights& b : st.attention_blocks)
            attention_block(b, h, sc.width);
    }
    depthwise(w.final_conv, cur_.data(), h, t1_.data());
    squeeze_excite(w.final_se, t1_.data(), h * h);
    gelu_inplace(t1_.data(), sz(h * h, c.final_width));
    mean_pool_rows(t1_.data(), 1, h * h, c.final_width, pooled, c.final_width);
}

}  // namespace hclip
