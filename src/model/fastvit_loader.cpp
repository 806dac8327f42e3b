#include "model/fastvit_loader.h"

#include <array>
#include <cmath>
#include <cstdint>

#include "model/mobileone_fold.h"

namespace hclip {

namespace {

using Shape = std::vector<std::int64_t>;

std::string shape_text(const Shape& s) {
    TensorView t;
    t.shape = s;
    return t.shape_string();
}

std::string stage_prefix(int stage) {
    return std::string(kFastVitPrefix) + "stages." + std::to_string(stage) + ".";
}

// The number of "<prefix>N." groups (highest N + 1).
int count_indexed(const SafetensorsFile& f, const std::string& prefix) {
    int count = 0;
    for (const TensorView& t : f.tensors()) {
        if (t.name.compare(0, prefix.size(), prefix) != 0) continue;
        int idx = 0;
        std::size_t i = prefix.size();
        if (i >= t.name.size() || t.name[i] < '0' || t.name[i] > '9') continue;
        for (; i < t.name.size() && t.name[i] >= '0' && t.name[i] <= '9'; ++i)
            idx = idx * 10 + (t.name[i] - '0');
        if (i < t.name.size() && t.name[i] == '.') count = std::max(count, idx + 1);
    }
    return count;
}

// Reads tensors by name with their expected shapes, converted to float32, with messages that name the tensor.
class TensorReader {
  public:
    explicit TensorReader(const SafetensorsFile& f) : f_(f) {}

    bool has(const std::string& name) const { return f_.find(name) != nullptr; }
    int count(const std::string& prefix) const { return count_indexed(f_, prefix); }

    Result<Shape> shape(const std::string& name) const {
        const TensorView* t = f_.find(name);
        if (t == nullptr) return not_found("tensor '" + name + "' is missing from '" + f_.source_name() + "'");
        return t->shape;
    }

    Result<std::vector<float>> read(const std::string& name, const Shape& expected) const {
        const TensorView* t = f_.find(name);
        if (t == nullptr) return not_found("tensor '" + name + "' is missing from '" + f_.source_name() + "'");
        if (t->shape != expected) {
            return invalid_argument("tensor '" + name + "' has shape " + t->shape_string() +
                                    " but the architecture needs " + shape_text(expected));
        }
        if (t->dtype != DType::kF32 && t->dtype != DType::kF16 && t->dtype != DType::kBF16) {
            return unsupported("tensor '" + name + "' is " + std::string(dtype_name(t->dtype)) +
                               "; weights must be F32, F16 or BF16");
        }
        std::vector<float> v(static_cast<std::size_t>(t->numel()));
        HCLIP_RETURN_IF_ERROR(convert_to_f32(*t, v));
        return v;
    }

  private:
    const SafetensorsFile& f_;
};

// A BatchNorm's four tensors, kept alive while its statistics are folded.
struct BatchNormTensors {
    std::vector<float> gamma, beta, mean, var;
    BatchNormStats stats() const { return {gamma, beta, mean, var}; }
};

Result<BatchNormTensors> read_batch_norm(const TensorReader& r, const std::string& prefix, int channels) {
    BatchNormTensors bn;
    const Shape s{channels};
    HCLIP_ASSIGN_OR_RETURN(bn.gamma, r.read(prefix + "weight", s));
    HCLIP_ASSIGN_OR_RETURN(bn.beta, r.read(prefix + "bias", s));
    HCLIP_ASSIGN_OR_RETURN(bn.mean, r.read(prefix + "running_mean", s));
    HCLIP_ASSIGN_OR_RETURN(bn.var, r.read(prefix + "running_var", s));
    for (float v : bn.var) {
        if (!(v >= 0.0f) || !std::isfinite(v)) {
            return invalid_argument("BatchNorm '" + prefix + "running_var' has a negative or non-finite variance");
        }
    }
    return bn;
}

// conv.weight + bn.* of a ConvNormAct, added to `k`.
Status add_conv_bn_branch(const TensorReader& r, const std::string& prefix, int branch_kernel, RepKernel& k) {
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> w,
                           r.read(prefix + "conv.weight", {k.out, k.in_per_group, branch_kernel, branch_kernel}));
    HCLIP_ASSIGN_OR_RETURN(BatchNormTensors bn, read_batch_norm(r, prefix + "bn.", k.out));
    add_conv_bn(k, w, branch_kernel, bn.stats(), kBatchNormEps);
    return {};
}

// The branches a MobileOneBlock has, as timm builds it.
struct MobileOneSpec {
    int in = 0, out = 0, kernel = 1;
    bool one_input_per_group = false;  // timm's group_size=1
    bool conv_branch = true, scale_branch = false, identity_branch = false;
};

Result<RepKernel> read_reparam_conv(const TensorReader& r, const std::string& prefix, int out, int ipg, int kernel) {
    RepKernel k = RepKernel::zeros(out, ipg, kernel);
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> w, r.read(prefix + "reparam_conv.weight", {out, ipg, kernel, kernel}));
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> b, r.read(prefix + "reparam_conv.bias", {out}));
    add_conv(k, w, b);
    return k;
}

// A MobileOneBlock's convolution (before its squeeze-excite and activation): reparam_conv when folded already, else
// the sum of its branches. Every branch timm builds for this block must be there.
Result<RepKernel> read_mobileone(const TensorReader& r, const std::string& prefix, const MobileOneSpec& s) {
    const int ipg = s.one_input_per_group ? 1 : s.in;
    if (r.has(prefix + "reparam_conv.weight")) return read_reparam_conv(r, prefix, s.out, ipg, s.kernel);
    RepKernel k = RepKernel::zeros(s.out, ipg, s.kernel);
    if (s.conv_branch) {
        const int branches = r.count(prefix + "conv_kxk.");
        if (branches == 0) {
            return not_found("tensor '" + prefix + "conv_kxk.0.conv.weight' is missing (and there is no '" + prefix +
                             "reparam_conv.weight')");
        }
        for (int i = 0; i < branches; ++i)
            HCLIP_RETURN_IF_ERROR(add_conv_bn_branch(r, prefix + "conv_kxk." + std::to_string(i) + ".", s.kernel, k));
    }
    if (s.scale_branch) HCLIP_RETURN_IF_ERROR(add_conv_bn_branch(r, prefix + "conv_scale.", 1, k));
    if (s.identity_branch) {
        HCLIP_ASSIGN_OR_RETURN(BatchNormTensors bn, read_batch_norm(r, prefix + "identity.", s.out));
        add_identity_bn(k, bn.stats(), kBatchNormEps);
    }
    return k;
}

Result<SqueezeExciteWeights> read_squeeze_excite(const TensorReader& r, const std::string& prefix, int channels) {
    SqueezeExciteWeights se;
    HCLIP_ASSIGN_OR_RETURN(Shape fc1, r.shape(prefix + "fc1.weight"));
    if (fc1.size() != 4 || fc1[1] != channels) {
        return invalid_argument("tensor '" + prefix + "fc1.weight' has shape " + shape_text(fc1) +
                                "; expected [reduced, " + std::to_string(channels) + ", 1, 1]");
    }
    se.channels = channels;
    se.reduced = static_cast<int>(fc1[0]);
    HCLIP_ASSIGN_OR_RETURN(se.fc1, r.read(prefix + "fc1.weight", {se.reduced, channels, 1, 1}));
    HCLIP_ASSIGN_OR_RETURN(se.fc1_bias, r.read(prefix + "fc1.bias", {se.reduced}));
    HCLIP_ASSIGN_OR_RETURN(se.fc2, r.read(prefix + "fc2.weight", {channels, se.reduced, 1, 1}));
    HCLIP_ASSIGN_OR_RETURN(se.fc2_bias, r.read(prefix + "fc2.bias", {channels}));
    return se;
}

// A layer scale's gamma [channels, 1, 1].
Result<std::vector<float>> read_layer_scale(const TensorReader& r, const std::string& name, int channels) {
    return r.read(name, {channels, 1, 1});
}

// A plain 1x1 convolution with a bias, as [out, in] (+ [out]).
Result<RepKernel> read_pointwise(const TensorReader& r, const std::string& prefix, int in, int out) {
    RepKernel k = RepKernel::zeros(out, in, 1);
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> w, r.read(prefix + "weight", {out, in, 1, 1}));
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> b, r.read(prefix + "bias", {out}));
    add_conv(k, w, b);
    return k;
}

// ConvMlp, with the block's layer scale folded into fc2.
Result<ConvMlpWeights> read_conv_mlp(const TensorReader& r, const std::string& prefix, int width, int hidden,
                                     std::span<const float> layer_scale) {
    ConvMlpWeights m;
    RepKernel conv = RepKernel::zeros(width, 1, 7);
    HCLIP_RETURN_IF_ERROR(add_conv_bn_branch(r, prefix + "conv.", 7, conv));
    m.conv = to_depthwise_conv(conv, width, 1);
    HCLIP_ASSIGN_OR_RETURN(RepKernel fc1, read_pointwise(r, prefix + "fc1.", width, hidden));
    HCLIP_ASSIGN_OR_RETURN(RepKernel fc2, read_pointwise(r, prefix + "fc2.", hidden, width));
    scale_outputs(fc2, layer_scale);
    m.fc1 = to_dense_conv(fc1, 1);
    m.fc2 = to_dense_conv(fc2, 1);
    return m;
}

Result<RepMixerBlockWeights> read_repmixer_block(const TensorReader& r, const std::string& p,
                                                 const FastVitStageConfig& s) {
    RepMixerBlockWeights b;
    const std::string tm = p + "token_mixer.";
    RepKernel mixer;
    if (r.has(tm + "reparam_conv.weight")) {
        HCLIP_ASSIGN_OR_RETURN(mixer, read_reparam_conv(r, tm, s.width, 1, 3));
    } else {
        // timm RepMixer: x + layer_scale * (mixer(x) - norm(x)); mixer has all three branches, norm only identity.
        HCLIP_ASSIGN_OR_RETURN(RepKernel m, read_mobileone(r, tm + "mixer.",
                                                           {.in = s.width,
                                                            .out = s.width,
                                                            .kernel = 3,
                                                            .one_input_per_group = true,
                                                            .scale_branch = true,
                                                            .identity_branch = true}));
        HCLIP_ASSIGN_OR_RETURN(RepKernel n, read_mobileone(r, tm + "norm.",
                                                           {.in = s.width,
                                                            .out = s.width,
                                                            .kernel = 3,
                                                            .one_input_per_group = true,
                                                            .conv_branch = false,
                                                            .identity_branch = true}));
        HCLIP_ASSIGN_OR_RETURN(std::vector<float> gamma, read_layer_scale(r, tm + "layer_scale.gamma", s.width));
        RepKernel identity = RepKernel::zeros(s.width, 1, 3);
        add_identity(identity, 1.0);
        mixer = combine_scaled_difference(identity, m, n, gamma);
    }
    b.mixer = to_depthwise_conv(mixer, s.width, 1);
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> gamma, read_layer_scale(r, p + "layer_scale.gamma", s.width));
    HCLIP_ASSIGN_OR_RETURN(b.mlp, read_conv_mlp(r, p + "mlp.", s.width, s.mlp_width, gamma));
    return b;
}

Result<AttentionBlockWeights> read_attention_block(const TensorReader& r, const std::string& p,
                                                   const FastVitStageConfig& s) {
    AttentionBlockWeights b;
    const int w = s.width;
    HCLIP_ASSIGN_OR_RETURN(BatchNormTensors bn, read_batch_norm(r, p + "norm.", w));
    b.norm_scale.resize(static_cast<std::size_t>(w));
    b.norm_shift.resize(static_cast<std::size_t>(w));
    for (std::size_t c = 0; c < static_cast<std::size_t>(w); ++c) {
        const double scale =
            static_cast<double>(bn.gamma[c]) / std::sqrt(static_cast<double>(bn.var[c]) + kBatchNormEps);
        b.norm_scale[c] = static_cast<float>(scale);
        b.norm_shift[c] = static_cast<float>(static_cast<double>(bn.beta[c]) - static_cast<double>(bn.mean[c]) * scale);
    }
    const std::string tm = p + "token_mixer.";
    if (r.has(tm + "qkv.bias")) {
        return unsupported("tensor '" + tm + "qkv.bias' exists, but timm's FastViT attention has no qkv bias");
    }
    RepKernel qkv = RepKernel::zeros(3 * w, w, 1);
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> qkv_w, r.read(tm + "qkv.weight", {3 * w, w}));
    add_conv(qkv, qkv_w, std::vector<float>(static_cast<std::size_t>(3 * w), 0.0f));
    RepKernel proj = RepKernel::zeros(w, w, 1);
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> proj_w, r.read(tm + "proj.weight", {w, w}));
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> proj_b, r.read(tm + "proj.bias", {w}));
    add_conv(proj, proj_w, proj_b);
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> ls1, read_layer_scale(r, p + "layer_scale_1.gamma", w));
    scale_outputs(proj, ls1);
    b.qkv = to_dense_conv(qkv, 1);
    b.proj = to_dense_conv(proj, 1);
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> ls2, read_layer_scale(r, p + "layer_scale_2.gamma", w));
    HCLIP_ASSIGN_OR_RETURN(b.mlp, read_conv_mlp(r, p + "mlp.", w, s.mlp_width, ls2));
    return b;
}

// PatchEmbed: ReparamLargeKernelConv (7x7 + 3x3, stride 2, one input per group), SE, GELU; MobileOne 1x1 + GELU.
Status read_downsample(const TensorReader& r, const std::string& p, int in, const FastVitStageConfig& s,
                       FastVitStageWeights& st) {
    const std::string lk = p + "proj.0.";
    RepKernel large;
    if (r.has(lk + "reparam_conv.weight")) {
        HCLIP_ASSIGN_OR_RETURN(large, read_reparam_conv(r, lk, s.width, 1, 7));
    } else {
        large = RepKernel::zeros(s.width, 1, 7);
        HCLIP_RETURN_IF_ERROR(add_conv_bn_branch(r, lk + "large_conv.", 7, large));
        HCLIP_RETURN_IF_ERROR(add_conv_bn_branch(r, lk + "small_conv.", 3, large));
    }
    st.down_conv = to_depthwise_conv(large, in, 2);
    if (s.downsample_se) {
        HCLIP_ASSIGN_OR_RETURN(st.down_se, read_squeeze_excite(r, lk + "se.", s.width));
    }
    HCLIP_ASSIGN_OR_RETURN(
        RepKernel pw,
        read_mobileone(r, p + "proj.1.", {.in = s.width, .out = s.width, .kernel = 1, .identity_branch = true}));
    st.down_pointwise = to_dense_conv(pw, 1);
    return {};
}

// RepConditionalPosEnc: x + depthwise 7x7 conv (with bias) of x.
Result<DepthwiseConv> read_positional_conv(const TensorReader& r, const std::string& p, int width) {
    if (r.has(p + "reparam_conv.weight")) {
        HCLIP_ASSIGN_OR_RETURN(RepKernel k, read_reparam_conv(r, p, width, 1, 7));
        return to_depthwise_conv(k, width, 1);
    }
    RepKernel k = RepKernel::zeros(width, 1, 7);
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> w, r.read(p + "pos_enc.weight", {width, 1, 7, 7}));
    HCLIP_ASSIGN_OR_RETURN(std::vector<float> b, r.read(p + "pos_enc.bias", {width}));
    add_conv(k, w, b);
    add_identity(k, 1.0);
    return to_depthwise_conv(k, width, 1);
}

// The first tensor of a MobileOne block in either form, for reading its shape.
std::string mobileone_weight_name(const TensorReader& r, const std::string& prefix) {
    const std::string folded = prefix + "reparam_conv.weight";
    return r.has(folded) ? folded : prefix + "conv_kxk.0.conv.weight";
}

struct KnownFastVit {
    const char* name;
    std::array<int, 4> layers, widths;
};
// timm's fastvit_mci0/1/2: mlp ratio 3, SE in the downsamplers of stages 3 and 4, attention and RepCPE in stage 4.
constexpr KnownFastVit kKnownFastVits[] = {
    {"fastvit_mci0", {2, 6, 10, 2}, {64, 128, 256, 512}},
    {"fastvit_mci1", {4, 12, 20, 4}, {64, 128, 256, 512}},
    {"fastvit_mci2", {4, 12, 24, 4}, {80, 160, 320, 640}},
};

}  // namespace

bool is_fastvit_checkpoint(const SafetensorsFile& file) {
    const std::string stem = std::string(kFastVitPrefix) + "stem.0.";
    return file.find(stem + "conv_kxk.0.conv.weight") != nullptr || file.find(stem + "reparam_conv.weight") != nullptr;
}

Result<FastVitConfig> infer_fastvit(const SafetensorsFile& file, int& embed_dim) {
    const TensorReader r(file);
    const std::string t = kFastVitPrefix;
    FastVitConfig c;
    HCLIP_ASSIGN_OR_RETURN(Shape stem, r.shape(mobileone_weight_name(r, t + "stem.0.")));
    if (stem.size() != 4 || stem[1] != 3) {
        return invalid_argument("the FastViT stem's first convolution has shape " + shape_text(stem) +
                                "; expected [width, 3, 3, 3]");
    }
    c.stem_width = static_cast<int>(stem[0]);
    const int stages = r.count(t + "stages.");
    if (stages == 0) return invalid_argument("FastViT checkpoint has no '" + t + "stages.N.*' tensors");
    int prev = c.stem_width;
    for (int i = 0; i < stages; ++i) {
        const std::string p = stage_prefix(i);
        FastVitStageConfig s;
        s.layers = r.count(p + "blocks.");
        if (s.layers == 0) return invalid_argument("FastViT stage '" + p + "' has no blocks '" + p + "blocks.N.*'");
        HCLIP_ASSIGN_OR_RETURN(Shape fc1, r.shape(p + "blocks.0.mlp.fc1.weight"));
        if (fc1.size() != 4) return invalid_argument("'" + p + "blocks.0.mlp.fc1.weight' is not a 1x1 convolution");
        s.mlp_width = static_cast<int>(fc1[0]);
        s.width = static_cast<int>(fc1[1]);
        if (s.width <= 0 || s.mlp_width <= 0) {
            return invalid_argument("'" + p + "blocks.0.mlp.fc1.weight' has shape " + shape_text(fc1));
        }
        s.attention = r.has(p + "blocks.0.token_mixer.qkv.weight");
        if (s.attention && s.width % FastVitConfig::kAttentionHeadWidth != 0) {
            return invalid_argument("FastViT stage " + std::to_string(i) + " attends with width " +
                                    std::to_string(s.width) + ", which is not a whole number of heads of " +
                                    std::to_string(FastVitConfig::kAttentionHeadWidth));
        }
        s.downsample =
            r.has(p + "downsample.proj.0.large_conv.conv.weight") || r.has(p + "downsample.proj.0.reparam_conv.weight");
        s.downsample_se = r.has(p + "downsample.proj.0.se.fc1.weight");
        s.positional_conv = r.has(p + "pos_emb.pos_enc.weight") || r.has(p + "pos_emb.reparam_conv.weight");
        if (!s.downsample && s.width != prev) {
            return invalid_argument("FastViT stage " + std::to_string(i) + " changes the width from " +
                                    std::to_string(prev) + " to " + std::to_string(s.width) + " but has no '" + p +
                                    "downsample.*' tensors");
        }
        prev = s.width;
        c.stages.push_back(s);
    }
    HCLIP_ASSIGN_OR_RETURN(Shape final_conv, r.shape(mobileone_weight_name(r, t + "final_conv.")));
    c.final_width = final_conv.size() == 4 ? static_cast<int>(final_conv[0]) : 0;
    if (c.final_width <= 0 || c.final_width % prev != 0) {
        return invalid_argument("the FastViT final convolution has shape " + shape_text(final_conv) +
                                "; expected [a multiple of " + std::to_string(prev) + ", 1, 3, 3]");
    }
    HCLIP_ASSIGN_OR_RETURN(Shape head, r.shape(t + "head.fc.weight"));
    if (head.size() != 2 || head[1] != c.final_width) {
        return invalid_argument("'" + t + "head.fc.weight' has shape " + shape_text(head) + "; expected [embed, " +
                                std::to_string(c.final_width) + "]");
    }
    embed_dim = static_cast<int>(head[0]);
    return c;
}

Status check_fastvit_name(const FastVitConfig& c, const std::string& timm_name) {
    for (const KnownFastVit& k : kKnownFastVits) {
        if (timm_name != k.name) continue;
        bool same = c.stages.size() == 4;
        for (std::size_t i = 0; same && i < 4; ++i) {
            const FastVitStageConfig& s = c.stages[i];
            same = s.layers == k.layers[i] && s.width == k.widths[i] && s.mlp_width == 3 * s.width &&
                   s.attention == (i == 3) && s.downsample == (i > 0) && s.downsample_se == (i >= 2) &&
                   s.positional_conv == (i == 3);
        }
        same = same && c.stem_width == k.widths[0] && c.final_width == 2 * k.widths[3];
        if (same) return {};
        std::string got = "layers (";
        for (std::size_t i = 0; i < c.stages.size(); ++i)
            got += (i > 0 ? "," : "") + std::to_string(c.stages[i].layers);
        got += "), widths (";
        for (std::size_t i = 0; i < c.stages.size(); ++i)
            got += (i > 0 ? "," : "") + std::to_string(c.stages[i].width);
        got += ")";
        return invalid_argument("open_clip_config.json names timm model '" + timm_name + "' (layers (" +
                                std::to_string(k.layers[0]) + "," + std::to_string(k.layers[1]) + "," +
                                std::to_string(k.layers[2]) + "," + std::to_string(k.layers[3]) + "), widths (" +
                                std::to_string(k.widths[0]) + "," + std::to_string(k.widths[1]) + "," +
                                std::to_string(k.widths[2]) + "," + std::to_string(k.widths[3]) +
                                "), attention in the last stage) but the checkpoint's tensors give " + got);
    }
    return unsupported("timm model '" + timm_name +
                       "' is not supported; FastViT image towers: fastvit_mci0, fastvit_mci1, fastvit_mci2");
}

Result<FastVitWeights> load_fastvit(const SafetensorsFile& file, const FastVitConfig& c, int embed_dim) {
    const TensorReader r(file);
    const std::string t = kFastVitPrefix;
    const int w0 = c.stem_width;
    FastVitWeights fw;
    // convolutional_stem: 3x3 s2 (conv + scale branches), depthwise 3x3 s2 (same), 1x1 (conv + identity).
    HCLIP_ASSIGN_OR_RETURN(RepKernel stem0,
                           read_mobileone(r, t + "stem.0.", {.in = 3, .out = w0, .kernel = 3, .scale_branch = true}));
    fw.stem_conv = to_dense_conv(stem0, 2);
    HCLIP_ASSIGN_OR_RETURN(
        RepKernel stem1,
        read_mobileone(r, t + "stem.1.",
                       {.in = w0, .out = w0, .kernel = 3, .one_input_per_group = true, .scale_branch = true}));
    fw.stem_depthwise = to_depthwise_conv(stem1, w0, 2);
    HCLIP_ASSIGN_OR_RETURN(
        RepKernel stem2, read_mobileone(r, t + "stem.2.", {.in = w0, .out = w0, .kernel = 1, .identity_branch = true}));
    fw.stem_pointwise = to_dense_conv(stem2, 1);

    int prev = w0;
    for (std::size_t i = 0; i < c.stages.size(); ++i) {
        const FastVitStageConfig& s = c.stages[i];
        const std::string p = stage_prefix(static_cast<int>(i));
        FastVitStageWeights& st = fw.stages.emplace_back();
        if (s.downsample) HCLIP_RETURN_IF_ERROR(read_downsample(r, p + "downsample.", prev, s, st));
        if (s.positional_conv) {
            HCLIP_ASSIGN_OR_RETURN(st.positional_conv, read_positional_conv(r, p + "pos_emb.", s.width));
        }
        for (int b = 0; b < s.layers; ++b) {
            const std::string bp = p + "blocks." + std::to_string(b) + ".";
            if (s.attention) {
                HCLIP_ASSIGN_OR_RETURN(AttentionBlockWeights ab, read_attention_block(r, bp, s));
                st.attention_blocks.push_back(std::move(ab));
            } else {
                HCLIP_ASSIGN_OR_RETURN(RepMixerBlockWeights rb, read_repmixer_block(r, bp, s));
                st.repmixer_blocks.push_back(std::move(rb));
            }
        }
        prev = s.width;
    }
    HCLIP_ASSIGN_OR_RETURN(
        RepKernel final_conv,
        read_mobileone(
            r, t + "final_conv.",
            {.in = prev, .out = c.final_width, .kernel = 3, .one_input_per_group = true, .scale_branch = true}));
    fw.final_conv = to_depthwise_conv(final_conv, prev, 1);
    HCLIP_ASSIGN_OR_RETURN(fw.final_se, read_squeeze_excite(r, t + "final_conv.se.", c.final_width));
    HCLIP_ASSIGN_OR_RETURN(fw.head, r.read(t + "head.fc.weight", {embed_dim, c.final_width}));
    HCLIP_ASSIGN_OR_RETURN(fw.head_bias, r.read(t + "head.fc.bias", {embed_dim}));
    return fw;
}

}  // namespace hclip
