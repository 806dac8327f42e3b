// Loading: find the files, recognise the layout, infer the architecture from tensor shapes (checked against any
// config file), then bind every tensor with its expected shape.
#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>

#include "core/half.h"
#include "core/mapped_file.h"
#include "kernels/kernel_cache.h"
#include "kernels/kernel_plan.h"
#include "kernels/kernel_timing.h"
#include "kernels/packed_conv.h"
#include "kernels/packed_gemm.h"
#include "kernels/panel_gemm.h"
#include "model/batch_norm_fold.h"
#include "model/checkpoint_names.h"
#include "model/clip_model.h"
#include "model/fastvit_loader.h"
#include "model/mobileone_fold.h"
#include "model/preprocess_config.h"

namespace hclip {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Shape = std::vector<std::int64_t>;

namespace {

std::string shape_string(const Shape& s) {
    TensorView t;
    t.shape = s;
    return t.shape_string();
}

Result<std::optional<Json>> read_json_if_present(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::optional<Json>();
    HCLIP_ASSIGN_OR_RETURN(std::string text, read_file(path.string()));
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return data_loss("'" + path.string() + "' is not a JSON object");
    return std::optional<Json>(std::move(j));
}

// A JSON value at `key` as int/float/string, or nullopt if absent or of another type.
std::optional<int> json_int(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int>();
}
std::optional<double> json_number(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
}
std::optional<std::string> json_string(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}
const Json* json_object(const Json& j, const char* key) {
    auto it = j.find(key);
    return (it != j.end() && it->is_object()) ? &*it : nullptr;
}

Result<Activation> parse_activation(const std::string& name, const std::string& where) {
    if (name == "quick_gelu") return Activation::kQuickGelu;
    if (name == "gelu") return Activation::kGelu;
    return unsupported(where + ": activation '" + name + "' is not supported (quick_gelu and gelu are)");
}

// A config value that must agree with what the tensors say.
Status check_agrees(const std::string& what, std::optional<int> declared, int inferred) {
    if (declared && *declared != inferred) {
        return invalid_argument("the config says " + what + " = " + std::to_string(*declared) +
                                " but the checkpoint's tensors give " + std::to_string(inferred));
    }
    return {};
}

}  // namespace

class ModelLoader {
  public:
    explicit ModelLoader(ClipModel& model) : m_(model) {}

    Status load(const std::string& path, const ModelOptions& options) {
        HCLIP_RETURN_IF_ERROR(locate_files(path));
        HCLIP_ASSIGN_OR_RETURN(m_.file_, SafetensorsFile::open(m_.weights_path_));
        // Weights that are packed or stored in 16 bits are read once and released (release() below), while the
        // small tensors beside them stay in use; only the plain float32 model computes from the mapping itself.
        const bool packing =
            options.pack_weights && packed_gemm_available() && options.gemm_kernel != GemmKernelMode::kPlain;
        const bool weights_in_place =
            options.compute == ComputePrecision::kF32 && options.weights == WeightStorage::kF32 && !packing;
        if (!weights_in_place) m_.file_.map_in_small_pages();
        HCLIP_RETURN_IF_ERROR(detect_layout());
        HCLIP_RETURN_IF_ERROR(infer_config());
        HCLIP_RETURN_IF_ERROR(bind_image_tower());
        HCLIP_RETURN_IF_ERROR(bind_text());
        summarise_dtypes();
        if (options.compute == ComputePrecision::kBf16) {
            HCLIP_RETURN_IF_ERROR(check_bf16_products(options));
            // The product matrices are rounded to bf16 once, when packed; clip.weights bf16 adds nothing to that.
            m_.compute_ = ComputePrecision::kBf16;
            product_type_ = PackedType::kBf16;
            HCLIP_RETURN_IF_ERROR(pack_weights(options));
        } else {
            m_.weight_storage_ = options.weights;
            if (options.weights != WeightStorage::kF32) store_half(half_type_of(options.weights));
            if (options.pack_weights && packed_gemm_available()) HCLIP_RETURN_IF_ERROR(pack_weights(options));
        }
        return_freed_memory();
        return {};
    }

  private:
    // The kernel timing's copies of the weights (up to 128 MiB per kernel and shape) and the plain
    // copies of packed matrices are freed by now, but blocks under the mmap threshold were carved from the heap
    // below the packed weights, where free() cannot give them back: measured, a first start (no timings cached)
    // kept 270 MB more resident than the next. malloc_trim returns every free page to the kernel.
    static void return_freed_memory() {
#if defined(__GLIBC__)
        (void)::malloc_trim(0);
#endif
    }

    // bf16 products are opt-in and never fall back silently: a setup that cannot run them, or that asks for
    // something else at the same time, is refused.
    static Status check_bf16_products(const ModelOptions& options) {
        // A build without the packed GEMM has no bf16 products at all; say that, not what else was asked.
        if (!packed_gemm_available())
            return unsupported("clip.compute bf16 is not available: " + packed_bf16_support().message());
        if (options.weights == WeightStorage::kF16) {
            return invalid_argument(
                "clip.compute bf16 multiplies bf16 matrices; it cannot be combined with clip.weights fp16 (use "
                "clip.weights fp32 or bf16, which mean the same with it)");
        }
        if (!options.pack_weights || options.gemm_kernel == GemmKernelMode::kPlain) {
            return invalid_argument(
                "clip.compute bf16 runs on the packed GEMM; it cannot be combined with unpacked weights or "
                "performance.gemm_kernel plain");
        }
        Status support = packed_bf16_support();
        if (!support.ok()) return unsupported("clip.compute bf16 is not available: " + support.message());
        return {};
    }

    Status locate_files(const std::string& path) {
        std::error_code ec;
        fs::path p(path);
        if (fs::is_regular_file(p, ec)) {
            m_.weights_path_ = p.string();
            m_.model_dir_ = p.parent_path().string();
            return {};
        }
        if (!fs::is_directory(p, ec)) return not_found("model directory '" + path + "' does not exist");
        for (const char* name : {"model.safetensors", "open_clip_model.safetensors"}) {
            if (fs::is_regular_file(p / name, ec)) {
                m_.weights_path_ = (p / name).string();
                m_.model_dir_ = p.string();
                return {};
            }
        }
        return not_found("no model.safetensors in '" + path +
                         "'; a model directory needs model.safetensors (plus config.json for Hugging Face "
                         "checkpoints)");
    }

    Status bind_image_tower() {
        switch (m_.config_.vision.kind) {
            case VisionKind::kResNet:
                return bind_resnet();
            case VisionKind::kFastVit: {
                auto fastvit = load_fastvit(m_.file_, m_.config_.vision.fastvit, m_.config_.embed_dim);
                if (!fastvit.ok()) return fastvit.status();
                m_.fastvit_ = std::move(fastvit).value();
                // Every FastViT weight is a folded copy now (the F32/F16/BF16 check happened while reading): the
                // mapped originals are not read again.
                for (const TensorView& t : m_.file_.tensors()) {
                    if (t.name.rfind(kFastVitPrefix, 0) != 0 || t.dtype == DType::kI64) continue;
                    dtypes_seen_.insert(std::string(dtype_name(t.dtype)));
                    if (t.dtype == DType::kF32)
                        release(reinterpret_cast<const float*>(t.data.data()), static_cast<std::size_t>(t.numel()));
                }
                return {};
            }
            case VisionKind::kVitConvStem:
                return bind_conv_stem_vit();
            case VisionKind::kVit:
                break;
        }
        return bind_vision();
    }

    Status detect_layout() {
        const auto& f = m_.file_;
        // OpenCLIP's CustomTextCLIP (MobileCLIP) keeps the text tower under "text.".
        if (f.find("text.token_embedding.weight") != nullptr) text_prefix_ = "text.";
        if (is_fastvit_checkpoint(f)) {
            m_.config_.layout = CheckpointLayout::kOpenAI;
            m_.config_.vision.kind = VisionKind::kFastVit;
        } else if (f.find(kConvStemMarker) != nullptr) {
            m_.config_.layout = CheckpointLayout::kOpenAI;
            m_.config_.vision.kind = VisionKind::kVitConvStem;
        } else if (f.find(kResNetMarker) != nullptr) {
            m_.config_.layout = CheckpointLayout::kOpenAI;
            m_.config_.vision.kind = VisionKind::kResNet;
        } else if (f.find("visual.conv1.weight") != nullptr) {
            m_.config_.layout = CheckpointLayout::kOpenAI;
        } else if (f.find("vision_model.embeddings.patch_embedding.weight") != nullptr) {
            m_.config_.layout = CheckpointLayout::kHuggingFace;
        } else {
            return invalid_argument("'" + m_.weights_path_ +
                                    "' is not a CLIP checkpoint: it has neither 'visual.conv1.weight' (OpenAI / "
                                    "OpenCLIP names), nor '" +
                                    std::string(kResNetMarker) +
                                    "' (ResNet), nor 'vision_model.embeddings.patch_embedding.weight' (Hugging Face "
                                    "names), nor 'visual.trunk.stem.0.conv_kxk.0.conv.weight' (MobileCLIP's FastViT), "
                                    "nor '" +
                                    std::string(kConvStemMarker) + "' (MobileCLIP-B)");
        }
        return {};
    }

    Result<Shape> shape(const std::string& name) const {
        const TensorView* t = m_.file_.find(name);
        if (t == nullptr) return not_found("tensor '" + name + "' is missing from '" + m_.weights_path_ + "'");
        return t->shape;
    }

    Result<Shape> shape_with_rank(const std::string& name, std::size_t rank) const {
        HCLIP_ASSIGN_OR_RETURN(Shape s, shape(name));
        if (s.size() != rank) {
            return invalid_argument("tensor '" + name + "' has shape " + shape_string(s) + ", expected rank " +
                                    std::to_string(rank));
        }
        return s;
    }

    int count_blocks(const std::string& prefix) const {
        int count = 0;
        for (const auto& t : m_.file_.tensors()) {
            if (t.name.rfind(prefix, 0) != 0) continue;
            const std::string rest = t.name.substr(prefix.size());
            const auto dot = rest.find('.');
            int idx = 0;
            bool numeric = dot != std::string::npos && dot > 0 && dot < 6;
            for (std::size_t i = 0; numeric && i < dot; ++i) {
                if (rest[i] < '0' || rest[i] > '9')
                    numeric = false;
                else
                    idx = idx * 10 + (rest[i] - '0');
            }
            if (numeric) count = std::max(count, idx + 1);
        }
        return count;
    }

    Status infer_config() {
        const fs::path dir(m_.model_dir_);
        HCLIP_ASSIGN_OR_RETURN(auto hf_json, read_json_if_present(dir / "config.json"));
        HCLIP_ASSIGN_OR_RETURN(auto oc_json, read_json_if_present(dir / "open_clip_config.json"));
        HCLIP_ASSIGN_OR_RETURN(auto pp_json, read_json_if_present(dir / "preprocessor_config.json"));

        ClipConfig& c = m_.config_;
        const TowerTensorNames tn = text_tensor_names(c.layout, text_prefix_);
        const BlockTensorNames tb = block_tensor_names(c.layout, tn.block_prefix, 0);

        // Everything that tensor shapes determine.
        HCLIP_RETURN_IF_ERROR(infer_image_tower());
        HCLIP_ASSIGN_OR_RETURN(Shape tok, shape_with_rank(tn.token_embedding, 2));
        HCLIP_ASSIGN_OR_RETURN(Shape tpos, shape_with_rank(tn.position_embedding, 2));
        HCLIP_ASSIGN_OR_RETURN(Shape tfc1, shape_with_rank(tb.fc1_weight, 2));
        HCLIP_ASSIGN_OR_RETURN(Shape tproj, shape_with_rank(tn.projection, 2));

        c.text.vocab_size = static_cast<int>(tok[0]);
        c.text.width = static_cast<int>(tok[1]);
        c.text.context_length = static_cast<int>(tpos[0]);
        c.text.mlp_width = static_cast<int>(tfc1[0]);
        c.text.layers = count_blocks(tn.block_prefix);
        c.embed_dim = static_cast<int>(c.layout == CheckpointLayout::kOpenAI ? tproj[1] : tproj[0]);
        if (c.vision.layers == 0 || c.text.layers == 0) {
            return invalid_argument("'" + m_.weights_path_ + "' has no transformer blocks");
        }
        if (timm_head_dim_ != 0 && timm_head_dim_ != c.embed_dim) {
            return invalid_argument("the timm image tower's head gives image embeddings of " +
                                    std::to_string(timm_head_dim_) + " but text_projection gives " +
                                    std::to_string(c.embed_dim));
        }
        if (c.vision.kind == VisionKind::kResNet) {
            HCLIP_ASSIGN_OR_RETURN(Shape c_proj, shape_with_rank(std::string(kAttnPoolPrefix) + "c_proj.weight", 2));
            if (c_proj[0] != c.embed_dim) {
                return invalid_argument("the attention pool's c_proj gives image embeddings of " +
                                        std::to_string(c_proj[0]) + " but text_projection gives " +
                                        std::to_string(c.embed_dim));
            }
        }

        // What only a config says. OpenAI's own loader: head width 64 in both towers (the attention pool's too),
        // QuickGELU.
        c.vision.heads = (c.vision.kind == VisionKind::kResNet ? c.vision.attnpool_width() : c.vision.width) / 64;
        c.text.heads = c.text.width / 64;
        if (c.vision.kind == VisionKind::kFastVit) {
            // Only OpenCLIP publishes FastViT CLIP models, and its default activation is GELU.
            c.text.activation = Activation::kGelu;
            c.vision.heads = c.vision.width / FastVitConfig::kAttentionHeadWidth;
        }
        if (c.vision.kind == VisionKind::kVitConvStem) c.text.activation = Activation::kGelu;  // as for FastViT
        if (c.layout == CheckpointLayout::kHuggingFace) {
            if (!hf_json) {
                return not_found("'" + m_.model_dir_ +
                                 "' has a Hugging Face checkpoint but no config.json; copy the model's config.json "
                                 "next to model.safetensors");
            }
            HCLIP_RETURN_IF_ERROR(apply_hf_config(*hf_json));
        } else if (oc_json) {
            HCLIP_RETURN_IF_ERROR(apply_open_clip_config(*oc_json));
        }
        HCLIP_ASSIGN_OR_RETURN(
            c.preprocess,
            parse_preprocess_config(oc_json ? &*oc_json : nullptr, pp_json ? &*pp_json : nullptr, c.vision.image_size));

        const int vision_attention_width =
            c.vision.kind == VisionKind::kResNet ? c.vision.attnpool_width() : c.vision.width;
        for (auto [width, heads] :
             {std::pair{vision_attention_width, c.vision.heads}, std::pair{c.text.width, c.text.heads}}) {
            if (heads <= 0 || width % heads != 0) {
                return invalid_argument("width " + std::to_string(width) + " is not divisible into " +
                                        std::to_string(heads) + " attention heads");
            }
        }
        if (const TensorView* ls = m_.file_.find("logit_scale"); ls != nullptr && ls->numel() == 1) {
            std::vector<float> v(1);
            HCLIP_RETURN_IF_ERROR(convert_to_f32(*ls, v));
            c.checkpoint_logit_scale = std::exp(v[0]);
        }
        return {};
    }

    Status infer_vit() {
        VisionConfig& v = m_.config_.vision;
        const TowerTensorNames vn = vision_tensor_names(m_.config_.layout);
        const BlockTensorNames vb = block_tensor_names(m_.config_.layout, vn.block_prefix, 0);
        HCLIP_ASSIGN_OR_RETURN(Shape patch, shape_with_rank(vn.patch_embedding, 4));
        HCLIP_ASSIGN_OR_RETURN(Shape vpos, shape_with_rank(vn.position_embedding, 2));
        HCLIP_ASSIGN_OR_RETURN(Shape vfc1, shape_with_rank(vb.fc1_weight, 2));
        v.width = static_cast<int>(patch[0]);
        v.patch_size = static_cast<int>(patch[3]);
        if (patch[1] != 3 || patch[2] != patch[3]) {
            return invalid_argument("patch embedding '" + vn.patch_embedding + "' has shape " + shape_string(patch) +
                                    "; expected [width, 3, patch, patch]");
        }
        HCLIP_ASSIGN_OR_RETURN(const int grid, square_grid(vpos[0], "vision position embedding"));
        v.image_size = grid * v.patch_size;
        v.mlp_width = static_cast<int>(vfc1[0]);
        v.layers = count_blocks(vn.block_prefix);
        return {};
    }

    Status infer_image_tower() {
        switch (m_.config_.vision.kind) {
            case VisionKind::kResNet:
                return infer_resnet();
            case VisionKind::kFastVit:
                return infer_fastvit_config();
            case VisionKind::kVitConvStem:
                return infer_conv_stem_vit();
            case VisionKind::kVit:
                break;
        }
        return infer_vit();
    }

    // timm's vit_base_mci_224: the stem's widths and kernels from its three convolutions, the transformer from the
    // blocks, the grid from the positional embedding (patches only: no class position), head width 64 as ViT-B.
    Status infer_conv_stem_vit() {
        VisionConfig& v = m_.config_.vision;
        const std::string t = kConvStemVitPrefix;
        std::array<Shape, 3> convs;
        int in = 3;
        for (std::size_t i = 0; i < 3; ++i) {
            const std::string name = t + "patch_embed.backbone." + std::to_string(i) + ".conv.weight";
            HCLIP_ASSIGN_OR_RETURN(convs[i], shape_with_rank(name, 4));
            if (convs[i][1] != in || convs[i][2] != convs[i][3]) {
                return invalid_argument("'" + name + "' has shape " + shape_string(convs[i]) + "; expected [out, " +
                                        std::to_string(in) + ", k, k]");
            }
            in = static_cast<int>(convs[i][0]);
            v.conv_stem.kernels[i] = static_cast<int>(convs[i][2]);
        }
        v.conv_stem.hidden_widths = {static_cast<int>(convs[0][0]), static_cast<int>(convs[1][0])};
        v.width = static_cast<int>(convs[2][0]);
        v.patch_size = v.conv_stem.kernels[0] * v.conv_stem.kernels[1] * v.conv_stem.kernels[2];
        HCLIP_ASSIGN_OR_RETURN(Shape pos, shape_with_rank(t + "pos_embed", 3));
        HCLIP_ASSIGN_OR_RETURN(const int grid, square_grid(pos[1] + 1, "'" + t + "pos_embed'"));
        v.image_size = grid * v.patch_size;
        HCLIP_ASSIGN_OR_RETURN(Shape fc1, shape_with_rank(t + "blocks.0.mlp.fc1.weight", 2));
        v.mlp_width = static_cast<int>(fc1[0]);
        v.layers = count_blocks(t + "blocks.");
        v.activation = Activation::kGelu;
        v.layer_norm_eps = 1e-6f;  // timm's VisionTransformer LayerNorm
        HCLIP_ASSIGN_OR_RETURN(Shape head, shape_with_rank(t + "head.weight", 2));
        timm_head_dim_ = static_cast<int>(head[0]);
        return {};
    }

    // FastViT: stages, widths and which stages attend from the tensors; the resolution from the config (256 px, timm's
    // default for the fastvit_mci models, when there is none): the network is convolutional, its tensors do not say.
    Status infer_fastvit_config() {
        VisionConfig& v = m_.config_.vision;
        HCLIP_ASSIGN_OR_RETURN(v.fastvit, infer_fastvit(m_.file_, timm_head_dim_));
        v.width = v.fastvit.stages.back().width;
        v.layers = 0;
        for (const FastVitStageConfig& s : v.fastvit.stages)
            v.layers += s.layers;
        v.image_size = 256;
        v.activation = Activation::kGelu;
        return {};
    }

    // ModifiedResNet: width from the stem's last convolution, layers per stage from the block names, resolution
    // from the attention pool's positional embedding (32 x its grid).
    Status infer_resnet() {
        VisionConfig& v = m_.config_.vision;
        HCLIP_ASSIGN_OR_RETURN(Shape stem3, shape_with_rank(resnet_stem_names(3).conv_weight, 4));
        v.width = static_cast<int>(stem3[0]);
        v.layers = 0;
        for (int stage = 0; stage < 4; ++stage) {
            const std::string prefix = "visual.layer" + std::to_string(stage + 1) + ".";
            v.resnet.stage_layers[static_cast<std::size_t>(stage)] = count_blocks(prefix);
            if (v.resnet.stage_layers[static_cast<std::size_t>(stage)] == 0) {
                return invalid_argument("ResNet checkpoint '" + m_.weights_path_ + "' has no blocks '" + prefix +
                                        "N.*'");
            }
            v.layers += v.resnet.stage_layers[static_cast<std::size_t>(stage)];
        }
        const std::string pos_name = std::string(kAttnPoolPrefix) + "positional_embedding";
        HCLIP_ASSIGN_OR_RETURN(Shape pos, shape_with_rank(pos_name, 2));
        HCLIP_ASSIGN_OR_RETURN(const int grid, square_grid(pos[0], "attention pool positional embedding"));
        v.image_size = grid * ResNetConfig::kDownsampling;
        if (pos[1] != v.attnpool_width()) {
            return invalid_argument("'" + pos_name + "' has shape " + shape_string(pos) + " but a ResNet of width " +
                                    std::to_string(v.width) + " ends with " + std::to_string(v.attnpool_width()) +
                                    " channels");
        }
        return {};
    }

    // The side of a square grid whose cells plus one extra token (class or mean) make `rows`.
    static Result<int> square_grid(std::int64_t rows, const std::string& what) {
        int grid = 0;
        while ((grid + 1) * (grid + 1) + 1 <= rows)
            ++grid;
        if (grid == 0 || grid * grid + 1 != rows) {
            return invalid_argument(what + " has " + std::to_string(rows) +
                                    " rows, which is not a square grid plus one token");
        }
        return grid;
    }

    Status apply_tower_hf(const Json& j, TransformerConfig& t, const std::string& where) {
        HCLIP_RETURN_IF_ERROR(check_agrees(where + ".hidden_size", json_int(j, "hidden_size"), t.width));
        HCLIP_RETURN_IF_ERROR(check_agrees(where + ".num_hidden_layers", json_int(j, "num_hidden_layers"), t.layers));
        HCLIP_RETURN_IF_ERROR(
            check_agrees(where + ".intermediate_size", json_int(j, "intermediate_size"), t.mlp_width));
        if (auto heads = json_int(j, "num_attention_heads")) t.heads = *heads;
        // transformers' CLIP default activation is quick_gelu when the key is absent.
        const std::string act = json_string(j, "hidden_act").value_or("quick_gelu");
        HCLIP_ASSIGN_OR_RETURN(t.activation, parse_activation(act, where + ".hidden_act"));
        if (auto eps = json_number(j, "layer_norm_eps")) t.layer_norm_eps = static_cast<float>(*eps);
        return {};
    }

    Status apply_hf_config(const Json& j) {
        ClipConfig& c = m_.config_;
        // Older exports keep the tower settings in *_config_dict; newer ones in *_config.
        for (const char* key : {"vision_config_dict", "vision_config"}) {
            if (const Json* v = json_object(j, key)) {
                HCLIP_RETURN_IF_ERROR(apply_tower_hf(*v, c.vision, std::string("config.json ") + key));
                HCLIP_RETURN_IF_ERROR(
                    check_agrees(std::string(key) + ".patch_size", json_int(*v, "patch_size"), c.vision.patch_size));
                HCLIP_RETURN_IF_ERROR(
                    check_agrees(std::string(key) + ".image_size", json_int(*v, "image_size"), c.vision.image_size));
            }
        }
        for (const char* key : {"text_config_dict", "text_config"}) {
            if (const Json* t = json_object(j, key)) {
                HCLIP_RETURN_IF_ERROR(apply_tower_hf(*t, c.text, std::string("config.json ") + key));
            }
        }
        return check_agrees("projection_dim", json_int(j, "projection_dim"), c.embed_dim);
    }

    Status apply_open_clip_config(const Json& j) {
        ClipConfig& c = m_.config_;
        const Json* model_cfg = json_object(j, "model_cfg");
        if (model_cfg == nullptr) return {};
        bool quick_gelu = false;
        if (auto it = model_cfg->find("quick_gelu"); it != model_cfg->end() && it->is_boolean()) {
            quick_gelu = it->get<bool>();
        }
        // OpenCLIP: a model_cfg without quick_gelu means nn.GELU.
        c.vision.activation = c.text.activation = quick_gelu ? Activation::kQuickGelu : Activation::kGelu;
        HCLIP_RETURN_IF_ERROR(check_agrees("model_cfg.embed_dim", json_int(*model_cfg, "embed_dim"), c.embed_dim));
        if (const Json* v = json_object(*model_cfg, "vision_cfg");
            v != nullptr && c.vision.kind == VisionKind::kResNet) {
            HCLIP_RETURN_IF_ERROR(apply_open_clip_resnet_cfg(*v));
        } else if (v != nullptr && c.vision.kind == VisionKind::kFastVit) {
            HCLIP_RETURN_IF_ERROR(apply_open_clip_timm_cfg(*v));
        } else if (v != nullptr && c.vision.kind == VisionKind::kVitConvStem) {
            HCLIP_RETURN_IF_ERROR(apply_open_clip_conv_stem_cfg(*v));
        } else if (v != nullptr) {
            HCLIP_RETURN_IF_ERROR(check_agrees("vision_cfg.width", json_int(*v, "width"), c.vision.width));
            HCLIP_RETURN_IF_ERROR(check_agrees("vision_cfg.layers", json_int(*v, "layers"), c.vision.layers));
            HCLIP_RETURN_IF_ERROR(
                check_agrees("vision_cfg.patch_size", json_int(*v, "patch_size"), c.vision.patch_size));
            HCLIP_RETURN_IF_ERROR(
                check_agrees("vision_cfg.image_size", json_int(*v, "image_size"), c.vision.image_size));
            // The head count is width / head_width: a head width that is not a positive divisor of the width is
            // refused here (0 would divide by zero, others would silently truncate the head count).
            const int head_width = json_int(*v, "head_width").value_or(64);
            if (head_width <= 0 || c.vision.width % head_width != 0) {
                return invalid_argument("open_clip_config.json vision_cfg.head_width is " + std::to_string(head_width) +
                                        "; it must be a positive divisor of the vision width " +
                                        std::to_string(c.vision.width));
            }
            c.vision.heads = c.vision.width / head_width;
        }
        if (const Json* t = json_object(*model_cfg, "text_cfg")) {
            HCLIP_RETURN_IF_ERROR(check_agrees("text_cfg.width", json_int(*t, "width"), c.text.width));
            HCLIP_RETURN_IF_ERROR(check_agrees("text_cfg.layers", json_int(*t, "layers"), c.text.layers));
            HCLIP_RETURN_IF_ERROR(
                check_agrees("text_cfg.context_length", json_int(*t, "context_length"), c.text.context_length));
            c.text.heads = json_int(*t, "heads").value_or(8);  // OpenCLIP's CLIPTextCfg default
            if (auto it = t->find("no_causal_mask"); it != t->end()) {
                if (!it->is_boolean())
                    return invalid_argument("open_clip_config.json text_cfg.no_causal_mask must be true or false");
                c.text.causal = !it->get<bool>();
            }
        }
        const bool custom_text = model_cfg->value("custom_text", false);
        if (custom_text != !text_prefix_.empty()) {
            return invalid_argument(custom_text ? "open_clip_config.json says custom_text but the checkpoint has no "
                                                  "'text.token_embedding.weight' (CustomTextCLIP's text tower)"
                                                : "the checkpoint's text tower is under 'text.' (CustomTextCLIP) but "
                                                  "open_clip_config.json does not say custom_text");
        }
        return {};
    }

    // OpenCLIP's timm vision_cfg: the timm model must be one whose geometry the tensors have; the resolution is the
    // config's.
    Status apply_open_clip_timm_cfg(const Json& v) {
        VisionConfig& c = m_.config_.vision;
        const std::optional<std::string> name = json_string(v, "timm_model_name");
        if (!name)
            return invalid_argument("open_clip_config.json vision_cfg has no timm_model_name for a FastViT checkpoint");
        HCLIP_RETURN_IF_ERROR(check_fastvit_name(c.fastvit, *name));
        c.fastvit.timm_name = *name;
        for (const char* key : {"timm_pool", "timm_proj"}) {
            const auto it = v.find(key);
            const bool expected =
                it == v.end() || it->is_null() ||
                (std::string(key) == "timm_pool" && it->is_string() && it->get<std::string>() == "avg");
            if (!expected) {
                return unsupported(std::string("open_clip_config.json vision_cfg.") + key + " is " + it->dump() +
                                   "; FastViT towers are supported with timm_pool \"avg\" and no timm_proj");
            }
        }
        if (auto size = json_int(v, "image_size")) {
            if (*size < 32) return invalid_argument("open_clip_config.json vision_cfg.image_size must be at least 32");
            c.image_size = *size;
        }
        return {};
    }

    // MobileCLIP-B's vision_cfg: timm's vit_base_mci_224, class-token pooling, the tensors' resolution.
    Status apply_open_clip_conv_stem_cfg(const Json& v) {
        const std::optional<std::string> name = json_string(v, "timm_model_name");
        if (name != "vit_base_mci_224") {
            return unsupported("open_clip_config.json vision_cfg.timm_model_name is '" + name.value_or("") +
                               "' but the checkpoint has the convolutional-stem ViT of vit_base_mci_224 ('" +
                               std::string(kConvStemMarker) + "')");
        }
        if (const auto pool = json_string(v, "timm_pool"); pool && *pool != "token") {
            return unsupported("open_clip_config.json vision_cfg.timm_pool is '" + *pool +
                               "'; vit_base_mci_224 is supported with class-token pooling (\"token\")");
        }
        if (auto it = v.find("timm_proj"); it != v.end() && !it->is_null()) {
            return unsupported("open_clip_config.json vision_cfg.timm_proj is " + it->dump() +
                               "; vit_base_mci_224 is supported with its own head as the projection (null)");
        }
        return check_agrees("vision_cfg.image_size", json_int(v, "image_size"), m_.config_.vision.image_size);
    }

    // OpenCLIP's ResNet vision_cfg: layers is a list of four; heads = width * 32 / head_width.
    Status apply_open_clip_resnet_cfg(const Json& v) {
        VisionConfig& c = m_.config_.vision;
        HCLIP_RETURN_IF_ERROR(check_agrees("vision_cfg.width", json_int(v, "width"), c.width));
        HCLIP_RETURN_IF_ERROR(check_agrees("vision_cfg.image_size", json_int(v, "image_size"), c.image_size));
        if (auto it = v.find("layers"); it != v.end()) {
            if (!it->is_array() || it->size() != 4) {
                return invalid_argument(
                    "open_clip_config.json vision_cfg.layers must be a list of four numbers for a ResNet "
                    "checkpoint, which this one is");
            }
            for (std::size_t i = 0; i < 4; ++i) {
                HCLIP_RETURN_IF_ERROR(check_agrees(
                    "vision_cfg.layers[" + std::to_string(i) + "]",
                    (*it)[i].is_number_integer() ? std::optional<int>((*it)[i].get<int>()) : std::optional<int>(-1),
                    c.resnet.stage_layers[i]));
            }
        }
        c.heads = c.attnpool_width() / json_int(v, "head_width").value_or(64);
        return {};
    }

    // Binds one tensor, checking its shape. F32 tensors are used in place; others are converted once.
    Result<const float*> tensor(const std::string& name, const Shape& expected) {
        const TensorView* t = m_.file_.find(name);
        if (t == nullptr) return not_found("tensor '" + name + "' is missing from '" + m_.weights_path_ + "'");
        if (t->shape != expected) {
            return invalid_argument("tensor '" + name + "' has shape " + t->shape_string() +
                                    " but the architecture needs " + shape_string(expected));
        }
        if (t->dtype != DType::kF32 && t->dtype != DType::kF16 && t->dtype != DType::kBF16) {
            return unsupported("tensor '" + name + "' is " + std::string(dtype_name(t->dtype)) +
                               "; weights must be F32, F16 or BF16");
        }
        dtypes_seen_.insert(std::string(dtype_name(t->dtype)));
        const bool aligned = reinterpret_cast<std::uintptr_t>(t->data.data()) % alignof(float) == 0;
        if (t->dtype == DType::kF32 && aligned) return reinterpret_cast<const float*>(t->data.data());
        std::vector<float> buf(static_cast<std::size_t>(t->numel()));
        HCLIP_RETURN_IF_ERROR(convert_to_f32(*t, buf));
        converted_from_[buf.data()] = t;
        m_.converted_bytes_ += buf.size() * sizeof(float);
        m_.converted_.push_back(std::move(buf));
        return static_cast<const float*>(m_.converted_.back().data());
    }

    Status bind_linear(const std::string& w, const std::string& b, int out, int in, LinearWeights& dst) {
        dst.out = out;
        dst.in = in;
        HCLIP_ASSIGN_OR_RETURN(dst.weight, tensor(w, {out, in}));
        HCLIP_ASSIGN_OR_RETURN(dst.bias, tensor(b, {out}));
        return {};
    }

    Status bind_norm(const std::string& w, const std::string& b, int width, NormWeights& dst) {
        HCLIP_ASSIGN_OR_RETURN(dst.gamma, tensor(w, {width}));
        HCLIP_ASSIGN_OR_RETURN(dst.beta, tensor(b, {width}));
        return {};
    }

    Status bind_blocks(const std::string& prefix, const TransformerConfig& cfg, std::vector<BlockWeights>& blocks,
                       bool timm_names = false) {
        const int w = cfg.width;
        blocks.resize(static_cast<std::size_t>(cfg.layers));
        for (int i = 0; i < cfg.layers; ++i) {
            const BlockTensorNames n =
                timm_names ? timm_vit_block_names(prefix, i) : block_tensor_names(m_.config_.layout, prefix, i);
            BlockWeights& b = blocks[static_cast<std::size_t>(i)];
            HCLIP_RETURN_IF_ERROR(bind_norm(n.ln1_weight, n.ln1_bias, w, b.ln1));
            HCLIP_RETURN_IF_ERROR(bind_norm(n.ln2_weight, n.ln2_bias, w, b.ln2));
            if (m_.config_.layout == CheckpointLayout::kOpenAI) {
                HCLIP_ASSIGN_OR_RETURN(const float* in_w, tensor(n.in_proj_weight, {3 * w, w}));
                HCLIP_ASSIGN_OR_RETURN(const float* in_b, tensor(n.in_proj_bias, {3 * w}));
                const std::size_t ww = static_cast<std::size_t>(w) * static_cast<std::size_t>(w);
                b.q = {.weight = in_w, .bias = in_b, .out = w, .in = w};
                b.k = {.weight = in_w + ww, .bias = in_b + w, .out = w, .in = w};
                b.v = {.weight = in_w + 2 * ww, .bias = in_b + 2 * w, .out = w, .in = w};
                b.qkv_contiguous = true;
            } else {
                HCLIP_RETURN_IF_ERROR(bind_linear(n.q_weight, n.q_bias, w, w, b.q));
                HCLIP_RETURN_IF_ERROR(bind_linear(n.k_weight, n.k_bias, w, w, b.k));
                HCLIP_RETURN_IF_ERROR(bind_linear(n.v_weight, n.v_bias, w, w, b.v));
            }
            HCLIP_RETURN_IF_ERROR(bind_linear(n.out_weight, n.out_bias, w, w, b.out));
            HCLIP_RETURN_IF_ERROR(bind_linear(n.fc1_weight, n.fc1_bias, cfg.mlp_width, w, b.fc1));
            HCLIP_RETURN_IF_ERROR(bind_linear(n.fc2_weight, n.fc2_bias, w, cfg.mlp_width, b.fc2));
        }
        return {};
    }

    Status bind_projection(const std::string& name, int in, int out, ProjectionWeights& dst) {
        dst.in = in;
        dst.out = out;
        dst.stored_transposed = m_.config_.layout == CheckpointLayout::kHuggingFace;
        const Shape expected = dst.stored_transposed ? Shape{out, in} : Shape{in, out};
        HCLIP_ASSIGN_OR_RETURN(dst.weight, tensor(name, expected));
        return {};
    }

    Status bind_vision() {
        const VisionConfig& c = m_.config_.vision;
        const TowerTensorNames n = vision_tensor_names(m_.config_.layout);
        VisionWeights& v = m_.vision_;
        HCLIP_ASSIGN_OR_RETURN(v.patch_embedding, tensor(n.patch_embedding, {c.width, 3, c.patch_size, c.patch_size}));
        HCLIP_ASSIGN_OR_RETURN(v.class_embedding, tensor(n.class_embedding, {c.width}));
        HCLIP_ASSIGN_OR_RETURN(v.position_embedding, tensor(n.position_embedding, {c.num_tokens(), c.width}));
        HCLIP_RETURN_IF_ERROR(bind_norm(n.ln_pre_weight, n.ln_pre_bias, c.width, v.ln_pre));
        HCLIP_RETURN_IF_ERROR(bind_norm(n.ln_post_weight, n.ln_post_bias, c.width, v.ln_post));
        HCLIP_RETURN_IF_ERROR(bind_blocks(n.block_prefix, c, v.blocks));
        return bind_projection(n.projection, c.width, m_.config_.embed_dim, v.projection);
    }

    // vit_base_mci_224: conv + BatchNorm twice (folded), a conv with a bias, then timm's ViT.
    Status bind_conv_stem_vit() {
        const VisionConfig& c = m_.config_.vision;
        const std::string t = kConvStemVitPrefix;
        ConvStemWeights& s = m_.conv_stem_;
        int in = 3;
        for (std::size_t i = 0; i < 3; ++i) {
            const std::string p = t + "patch_embed.backbone." + std::to_string(i) + ".";
            const int k = c.conv_stem.kernels[i], out = i < 2 ? c.conv_stem.hidden_widths[i] : c.width;
            if (i < 2) {
                HCLIP_RETURN_IF_ERROR(bind_conv_bn({.conv_weight = p + "conv.weight",
                                                    .bn_weight = p + "bn.weight",
                                                    .bn_bias = p + "bn.bias",
                                                    .bn_running_mean = p + "bn.running_mean",
                                                    .bn_running_var = p + "bn.running_var"},
                                                   in, out, k, k, s.convs[i]));
            } else {
                HCLIP_ASSIGN_OR_RETURN(const float* w, tensor(p + "conv.weight", {out, in, k, k}));
                HCLIP_ASSIGN_OR_RETURN(const float* b, tensor(p + "conv.bias", {out}));
                const std::size_t count = static_cast<std::size_t>(out) * static_cast<std::size_t>(in * k * k);
                RepKernel kernel = RepKernel::zeros(out, in, k);
                add_conv(kernel, std::span<const float>(w, count),
                         std::span<const float>(b, static_cast<std::size_t>(out)));
                s.convs[i] = to_dense_conv(kernel, k);
                release(w, count);
            }
            in = out;
        }
        VisionWeights& v = m_.vision_;
        HCLIP_ASSIGN_OR_RETURN(v.class_embedding, tensor(t + "cls_token", {1, 1, c.width}));
        HCLIP_ASSIGN_OR_RETURN(v.position_embedding, tensor(t + "pos_embed", {1, c.num_patches(), c.width}));
        HCLIP_RETURN_IF_ERROR(bind_norm(t + "norm.weight", t + "norm.bias", c.width, v.ln_post));
        HCLIP_RETURN_IF_ERROR(bind_blocks(t + "blocks.", c, v.blocks, /*timm_names=*/true));
        return bind_linear(t + "head.weight", t + "head.bias", m_.config_.embed_dim, c.width, s.head);
    }

    // A BatchNorm statistic or parameter, with a message that says why it matters when it is missing.
    Result<std::span<const float>> bn_tensor(const std::string& name, int width) {
        if (m_.file_.find(name) == nullptr) {
            return not_found("BatchNorm tensor '" + name + "' is missing from '" + m_.weights_path_ +
                             "'; a ResNet checkpoint needs weight, bias, running_mean and running_var of every "
                             "BatchNorm (they are folded into the convolutions)");
        }
        HCLIP_ASSIGN_OR_RETURN(const float* p, tensor(name, {width}));
        return std::span<const float>(p, static_cast<std::size_t>(width));
    }

    Status bind_conv_bn(const ConvBnTensorNames& n, int in, int out, int kernel, int stride, FoldedConv& dst) {
        dst.in = in;
        dst.out = out;
        dst.kernel = kernel;
        dst.stride = stride;
        const std::size_t count = static_cast<std::size_t>(out) * static_cast<std::size_t>(in * kernel * kernel);
        HCLIP_ASSIGN_OR_RETURN(const float* w, tensor(n.conv_weight, {out, in, kernel, kernel}));
        BatchNormStats bn;
        HCLIP_ASSIGN_OR_RETURN(bn.gamma, bn_tensor(n.bn_weight, out));
        HCLIP_ASSIGN_OR_RETURN(bn.beta, bn_tensor(n.bn_bias, out));
        HCLIP_ASSIGN_OR_RETURN(bn.running_mean, bn_tensor(n.bn_running_mean, out));
        HCLIP_ASSIGN_OR_RETURN(bn.running_var, bn_tensor(n.bn_running_var, out));
        for (float var : bn.running_var) {
            if (!(var >= 0.0f) || !std::isfinite(var)) {
                return invalid_argument("BatchNorm '" + n.bn_running_var + "' has a negative or non-finite variance");
            }
        }
        fold_batch_norm(std::span<const float>(w, count), bn, kBatchNormEps, dst);
        release(w, count);  // only the folded copy is read from now on
        return {};
    }

    Status bind_resnet() {
        const VisionConfig& c = m_.config_.vision;
        ResNetWeights& r = m_.resnet_;
        const int w = c.width;
        HCLIP_RETURN_IF_ERROR(bind_conv_bn(resnet_stem_names(1), 3, w / 2, 3, 2, r.stem[0]));
        HCLIP_RETURN_IF_ERROR(bind_conv_bn(resnet_stem_names(2), w / 2, w / 2, 3, 1, r.stem[1]));
        HCLIP_RETURN_IF_ERROR(bind_conv_bn(resnet_stem_names(3), w / 2, w, 3, 1, r.stem[2]));
        int in = w;
        for (int stage = 0; stage < 4; ++stage) {
            const int planes = w << stage;
            for (int i = 0; i < c.resnet.stage_layers[static_cast<std::size_t>(stage)]; ++i) {
                const std::string p = resnet_block_prefix(stage + 1, i);
                BottleneckWeights& b = r.blocks.emplace_back();
                b.stride = (i == 0 && stage > 0) ? 2 : 1;
                HCLIP_RETURN_IF_ERROR(bind_conv_bn(resnet_block_conv_names(p, 1), in, planes, 1, 1, b.conv1));
                HCLIP_RETURN_IF_ERROR(bind_conv_bn(resnet_block_conv_names(p, 2), planes, planes, 3, 1, b.conv2));
                HCLIP_RETURN_IF_ERROR(bind_conv_bn(resnet_block_conv_names(p, 3), planes, 4 * planes, 1, 1, b.conv3));
                b.has_downsample = b.stride > 1 || in != 4 * planes;
                const ConvBnTensorNames ds = resnet_downsample_names(p);
                if (b.has_downsample) {
                    HCLIP_RETURN_IF_ERROR(bind_conv_bn(ds, in, 4 * planes, 1, 1, b.downsample));
                } else if (m_.file_.find(ds.conv_weight) != nullptr) {
                    return invalid_argument("'" + ds.conv_weight + "' exists but block " + p +
                                            " keeps its stride and width, so it has no downsampling shortcut");
                }
                in = 4 * planes;
            }
        }
        const std::string a = kAttnPoolPrefix;
        const int cw = c.attnpool_width(), grid = c.attnpool_grid();
        AttentionPoolWeights& ap = r.attnpool;
        HCLIP_ASSIGN_OR_RETURN(ap.positional_embedding, tensor(a + "positional_embedding", {grid * grid + 1, cw}));
        HCLIP_RETURN_IF_ERROR(bind_linear(a + "q_proj.weight", a + "q_proj.bias", cw, cw, ap.q));
        HCLIP_RETURN_IF_ERROR(bind_linear(a + "k_proj.weight", a + "k_proj.bias", cw, cw, ap.k));
        HCLIP_RETURN_IF_ERROR(bind_linear(a + "v_proj.weight", a + "v_proj.bias", cw, cw, ap.v));
        return bind_linear(a + "c_proj.weight", a + "c_proj.bias", m_.config_.embed_dim, cw, ap.c_proj);
    }

    Status bind_text() {
        const TextConfig& c = m_.config_.text;
        const TowerTensorNames n = text_tensor_names(m_.config_.layout, text_prefix_);
        TextWeights& t = m_.text_;
        HCLIP_ASSIGN_OR_RETURN(t.token_embedding, tensor(n.token_embedding, {c.vocab_size, c.width}));
        HCLIP_ASSIGN_OR_RETURN(t.position_embedding, tensor(n.position_embedding, {c.context_length, c.width}));
        HCLIP_RETURN_IF_ERROR(bind_norm(n.ln_post_weight, n.ln_post_bias, c.width, t.ln_final));
        HCLIP_RETURN_IF_ERROR(bind_blocks(n.block_prefix, c, t.blocks));
        return bind_projection(n.projection, c.width, m_.config_.embed_dim, t.projection);
    }

    void summarise_dtypes() {
        if (dtypes_seen_.size() == 1)
            m_.stored_dtype_ = *dtypes_seen_.begin();
        else
            m_.stored_dtype_ = "mixed";
    }

    // 16-bit storage (ModelOptions::weights): every large matrix gets its 16-bit copy and its float32 copy is
    // released right away, one matrix at a time, so the peak during loading stays near one float32 matrix above
    // the final size. ResNet image towers keep their folded float32 convolutions.
    void store_half(HalfType type) {
        for (auto* tower : {&m_.vision_.blocks, &m_.text_.blocks}) {
            for (BlockWeights& b : *tower) {
                store_half_qkv(b, type);
                for (LinearWeights* l : {&b.out, &b.fc1, &b.fc2}) {
                    l->half = to_half(l->weight, l->out, l->in, type);
                    l->weight = nullptr;
                }
            }
        }
        for (ProjectionWeights* p : {&m_.vision_.projection, &m_.text_.projection}) {
            if (p->weight == nullptr) continue;  // a ResNet model has no vision projection
            if (p->stored_transposed) {
                p->half = to_half(p->weight, p->out, p->in, type);
            } else {
                // OpenAI stores P as [in, out]: the kernel reads [out, in], so the 16-bit copy is the transpose.
                std::vector<float> transposed(static_cast<std::size_t>(p->in) * static_cast<std::size_t>(p->out));
                for (int i = 0; i < p->in; ++i) {
                    for (int o = 0; o < p->out; ++o)
                        transposed[static_cast<std::size_t>(o) * p->in + i] =
                            p->weight[static_cast<std::size_t>(i) * p->out + o];
                }
                p->half = {narrowed_copy(transposed.data(), transposed.size(), type), type};
                release(p->weight, transposed.size());
            }
            p->weight = nullptr;
        }
        VisionWeights& v = m_.vision_;
        if (m_.config_.vision.kind == VisionKind::kVit) {
            const int patch_len = 3 * m_.config_.vision.patch_size * m_.config_.vision.patch_size;
            v.patch_embedding_half = to_half(v.patch_embedding, m_.config_.vision.width, patch_len, type);
            v.patch_embedding = nullptr;
        }
        TextWeights& t = m_.text_;
        t.token_embedding_half = to_half(t.token_embedding, m_.config_.text.vocab_size, m_.config_.text.width, type);
        t.token_embedding = nullptr;
    }

    // q, k and v as one [3W, W] 16-bit matrix: the OpenAI tensor as it is, Hugging Face's three stacked.
    void store_half_qkv(BlockWeights& b, HalfType type) {
        const int w = b.q.in;
        const std::size_t ww = static_cast<std::size_t>(w) * static_cast<std::size_t>(w);
        if (b.qkv_contiguous) {
            b.qkv_half = to_half(b.q.weight, 3 * w, w, type);
            b.qkv_bias = b.q.bias;
        } else {
            std::vector<std::uint16_t>& stacked = m_.half_.emplace_back(3 * ww);
            std::vector<float> bias(3 * static_cast<std::size_t>(w));
            const LinearWeights* parts[3] = {&b.q, &b.k, &b.v};
            for (std::size_t i = 0; i < 3; ++i) {
                narrow_into(parts[i]->weight, ww, type, stacked.data() + i * ww);
                std::copy_n(parts[i]->bias, w, bias.begin() + static_cast<std::ptrdiff_t>(i) * w);
                release(parts[i]->weight, ww);
            }
            m_.half_bytes_ += stacked.size() * sizeof(std::uint16_t);
            b.qkv_half = {stacked.data(), type};
            m_.converted_.push_back(std::move(bias));
            b.qkv_bias = m_.converted_.back().data();
        }
        b.q.weight = b.k.weight = b.v.weight = nullptr;
    }

    // The 16-bit copy of the bound [rows, cols] matrix at `src`, whose float32 copy is then released. A tensor
    // stored in the checkpoint in this very type is used in place in the mapping (widening was exact, so its
    // bits are the checkpoint's: nothing is rounded twice).
    HalfWeights to_half(const float* src, int rows, int cols, HalfType type) {
        const std::size_t count = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
        const DType wanted = type == HalfType::kBf16 ? DType::kBF16 : DType::kF16;
        if (auto it = converted_from_.find(src); it != converted_from_.end()) {
            const TensorView& t = *it->second;
            const bool aligned = reinterpret_cast<std::uintptr_t>(t.data.data()) % alignof(std::uint16_t) == 0;
            if (t.dtype == wanted && static_cast<std::size_t>(t.numel()) == count && aligned) {
                release(src, count);
                m_.half_bytes_ += count * sizeof(std::uint16_t);
                return {reinterpret_cast<const std::uint16_t*>(t.data.data()), type};
            }
        }
        HalfWeights h{narrowed_copy(src, count, type), type};
        release(src, count);
        return h;
    }

    const std::uint16_t* narrowed_copy(const float* src, std::size_t count, HalfType type) {
        std::vector<std::uint16_t>& dst = m_.half_.emplace_back(count);
        narrow_into(src, count, type, dst.data());
        m_.half_bytes_ += count * sizeof(std::uint16_t);
        return dst.data();
    }

    static void narrow_into(const float* src, std::size_t count, HalfType type, std::uint16_t* dst) {
        if (type == HalfType::kBf16) {
            for (std::size_t i = 0; i < count; ++i)
                dst[i] = f32_to_bf16(src[i]);
        } else {
            for (std::size_t i = 0; i < count; ++i)
                dst[i] = f32_to_f16(src[i]);
        }
    }

    // Packing: a weight matrix is packed once if its shape's kernel choice uses the packed GEMM; its plain copy is
    // released right away unless the choice uses the plain GEMM too, so the peak during loading stays near one
    // copy. A matrix the library cannot pack (unsupported) stays plain.
    Status pack_weights(const ModelOptions& options) {
        const bool resnet = m_.config_.vision.kind == VisionKind::kResNet;
        HCLIP_RETURN_IF_ERROR(plan_kernels(options, resnet));
        for (auto* tower : {&m_.vision_.blocks, &m_.text_.blocks}) {
            for (BlockWeights& b : *tower) {
                HCLIP_RETURN_IF_ERROR(pack_qkv(b));
                for (LinearWeights* l : {&b.out, &b.fc1, &b.fc2})
                    HCLIP_RETURN_IF_ERROR(pack_linear(*l));
            }
        }
        // The convolutional towers are not in the timed choice: packed unless the plain GEMM is forced.
        const bool pack_convs = options.gemm_kernel != GemmKernelMode::kPlain;
        if (resnet) {
            if (pack_convs) HCLIP_RETURN_IF_ERROR(pack_resnet());
            return pack_projection(m_.text_.projection);
        }
        if (m_.config_.vision.kind == VisionKind::kFastVit) {
            if (pack_convs) HCLIP_RETURN_IF_ERROR(pack_fastvit());
            return pack_projection(m_.text_.projection);
        }
        if (m_.config_.vision.kind == VisionKind::kVitConvStem) {
            if (pack_convs) {
                for (FoldedConv& c : m_.conv_stem_.convs)
                    HCLIP_RETURN_IF_ERROR(pack_conv(c));
                LinearWeights& h = m_.conv_stem_.head;
                HCLIP_ASSIGN_OR_RETURN(h.packed, pack_matrix(h.weight, h.out, h.in, h.in, true));
                if (h.packed != nullptr) h.weight = nullptr;
            }
            return pack_projection(m_.text_.projection);
        }
        VisionWeights& v = m_.vision_;
        const int patch_len = 3 * m_.config_.vision.patch_size * m_.config_.vision.patch_size;
        if (v.patch_embedding != nullptr) {  // null: kept in 16 bits
            HCLIP_ASSIGN_OR_RETURN(const bool release,
                                   pack_by_choice(v.patch_embedding, m_.config_.vision.width, patch_len, patch_len,
                                                  true, v.patch_embedding_packed, v.patch_embedding_choice));
            if (release) v.patch_embedding = nullptr;
        }
        for (ProjectionWeights* p : {&m_.vision_.projection, &m_.text_.projection})
            HCLIP_RETURN_IF_ERROR(pack_projection(*p));
        return {};
    }

    // The kernel per weight shape of the transformer towers (and projections), forced or timed.
    Status plan_kernels(const ModelOptions& options, bool resnet) {
        // Only float32 matrices: those kept in 16 bits (ModelOptions::weights) have their own kernel.
        std::set<GemmShape> shapes;
        for (auto* tower : {&m_.vision_.blocks, &m_.text_.blocks}) {
            for (const BlockWeights& b : *tower) {
                if (b.q.weight != nullptr) shapes.insert({3 * b.q.in, b.q.in});
                for (const LinearWeights* l : {&b.out, &b.fc1, &b.fc2}) {
                    if (l->weight != nullptr) shapes.insert({l->out, l->in});
                }
            }
        }
        if (m_.text_.projection.weight != nullptr) shapes.insert({m_.text_.projection.out, m_.text_.projection.in});
        if (!resnet && m_.config_.vision.kind == VisionKind::kVit) {
            const VisionConfig& vc = m_.config_.vision;
            if (m_.vision_.patch_embedding != nullptr) shapes.insert({vc.width, 3 * vc.patch_size * vc.patch_size});
            if (m_.vision_.projection.weight != nullptr) {
                shapes.insert({m_.vision_.projection.out, m_.vision_.projection.in});
            }
        }
        const std::vector<GemmShape> list(shapes.begin(), shapes.end());
        // bf16 products are timed among the kernels that multiply bf16 (the plain GEMM is float32: a different
        // result, never a candidate), in a timings file of their own.
        GemmKernelTimer timer(product_type_);
        const bool panels_shared = packed_library_layout_is_panels(product_type_);
        m_.gemm_plan_ = plan_gemm_kernels(list,
                                          {.mode = options.gemm_kernel,
                                           .cache_path = gemm_cache_path_for(options.gemm_kernel_cache, product_type_),
                                           .products = product_type_,
                                           .packed_panels_shared = panels_shared},
                                          available_gemm_kernels(product_type_),
                                          [&](GemmShape s, int m, GemmKernel k) { return timer.seconds(s, m, k); });
        if (product_type_ == PackedType::kF32 && panel_kernel_available(PackedType::kF32)) {
            m_.gemm_plan_.notes.push_back("gemm kernels: panels multiply with " + std::string(panel_gemm_method()) +
                                          (panels_shared
                                               ? ", on the same packed copy as oneDNN"
                                               : ", on a copy packed for them (oneDNN packs another layout here; a "
                                                 "matrix keeps one of the two)"));
        }
        if (product_type_ == PackedType::kBf16) {
            std::string note = "gemm kernels: bf16 products (clip.compute bf16)";
            if (const std::string_view how = panel_gemm_bf16_method(); !how.empty())
                note += "; panels multiply with " + std::string(how);
            m_.gemm_plan_.notes.insert(m_.gemm_plan_.notes.begin(), std::move(note));
        }
        return {};
    }

    Status pack_linear(LinearWeights& l) {
        if (l.weight == nullptr) return {};  // kept in 16 bits
        HCLIP_ASSIGN_OR_RETURN(const bool release,
                               pack_by_choice(l.weight, l.out, l.in, l.in, true, l.packed, l.choice));
        if (release) l.weight = nullptr;
        return {};
    }

    Status pack_projection(ProjectionWeights& p) {
        if (p.weight == nullptr) return {};  // kept in 16 bits, or none (a ResNet has no vision projection)
        HCLIP_ASSIGN_OR_RETURN(const bool release,
                               pack_by_choice(p.weight, p.out, p.in, p.stored_transposed ? p.in : p.out,
                                              p.stored_transposed, p.packed, p.choice));
        if (release) p.weight = nullptr;
        return {};
    }

    // The panel kernel's layout where a choice uses it (the library's own on AVX-512 CPUs, one copy for both
    // kernels; choose_gemm_kernel never uses both where they are two), else the library's.
    static PackedLayout packed_layout_for(const GemmChoice& choice) {
        return choice.uses(GemmKernel::kPanels) ? PackedLayout::kPanels : PackedLayout::kLibrary;
    }

    // Packs B [n, k] if the plan uses the packed kernel for that shape; true when its plain copy was released.
    Result<bool> pack_by_choice(const float* b, int n, int k, int ldb, bool transposed, const PackedWeights*& packed,
                                const GemmChoice*& choice, std::optional<std::size_t> release_count = std::nullopt) {
        choice = m_.gemm_plan_.find({n, k});
        if (choice == nullptr || !choice->uses_packed_copy()) return false;
        const bool keep_plain = choice->uses(GemmKernel::kPlain);
        HCLIP_ASSIGN_OR_RETURN(packed, pack_matrix(b, n, k, ldb, transposed, release_count, !keep_plain, product_type_,
                                                   packed_layout_for(*choice)));
        if (packed != nullptr && keep_plain) {
            m_.plain_kept_bytes_ += static_cast<std::size_t>(n) * static_cast<std::size_t>(k) * sizeof(float);
        }
        return packed != nullptr && !keep_plain;
    }

    // Every folded convolution and the attention pool's projections. The image size fixes every convolution's
    // input size, so each is compiled for its own as a direct convolution with the epilogue ResNetTower gives it
    // (ReLU; the residual add and ReLU of a block's last); where the library has no direct kernel, packed for
    // im2col + GEMM.
    Status pack_resnet() {
        ResNetWeights& r = m_.resnet_;
        struct Step {
            FoldedConv* conv;
            int size;
            ResNetConvEpilogue epilogue;
        };
        std::vector<Step> steps;
        for_each_resnet_conv(r, m_.config_.vision.image_size, [&](FoldedConv& c, int size, ResNetConvEpilogue e) {
            steps.push_back({&c, size, e});
        });
        // Readers before the convolutions they read, so that a convolution knows whether the next one takes bf16
        // input straight from it (model/resnet_tower.h); the list is put back in the tower's order afterwards.
        const std::size_t first_direct = m_.packed_convs_.size();
        for (auto step = steps.rbegin(); step != steps.rend(); ++step) {
            const FoldedConv* reader = resnet_reader(r, *step->conv);
            const bool bf16_reader =
                reader != nullptr && reader->direct != nullptr && reader->direct->spec().type == PackedType::kBf16;
            HCLIP_RETURN_IF_ERROR(pack_resnet_conv(*step->conv, step->size, step->epilogue, bf16_reader));
        }
        std::reverse(m_.packed_convs_.begin() + static_cast<std::ptrdiff_t>(first_direct), m_.packed_convs_.end());
        m_.gemm_plan_.notes.push_back(resnet_conv_note());
        // The key and value projections stay plain: the attention pool reads their rows (model/attention_pool.h).
        for (LinearWeights* l : {&r.attnpool.q, &r.attnpool.c_proj}) {
            HCLIP_ASSIGN_OR_RETURN(l->packed, pack_matrix(l->weight, l->out, l->in, l->in, true));
            if (l->packed != nullptr) l->weight = nullptr;
        }
        return {};
    }

    // Every dense convolution (the stem's first, the 1x1s); the grouped ones run as direct loops.
    Status pack_fastvit() {
        FastVitWeights& f = m_.fastvit_;
        HCLIP_RETURN_IF_ERROR(pack_conv(f.stem_conv));
        HCLIP_RETURN_IF_ERROR(pack_conv(f.stem_pointwise));
        for (FastVitStageWeights& st : f.stages) {
            if (!st.down_pointwise.weight.empty()) HCLIP_RETURN_IF_ERROR(pack_conv(st.down_pointwise));
            for (RepMixerBlockWeights& b : st.repmixer_blocks) {
                HCLIP_RETURN_IF_ERROR(pack_conv(b.mlp.fc1));
                HCLIP_RETURN_IF_ERROR(pack_conv(b.mlp.fc2));
            }
            for (AttentionBlockWeights& b : st.attention_blocks) {
                for (FoldedConv* c : {&b.qkv, &b.proj, &b.mlp.fc1, &b.mlp.fc2})
                    HCLIP_RETURN_IF_ERROR(pack_conv(*c));
            }
        }
        return {};
    }

    // What the start-up log and bench say about the ResNet's convolutions.
    std::string resnet_conv_note() const {
        if (m_.packed_convs_.empty()) return "resnet convolutions: im2col + packed GEMM (no direct kernel here)";
        const PackedConv& first = *m_.packed_convs_.front();
        std::string note = "resnet convolutions: " + std::to_string(m_.packed_convs_.size()) + " direct (" +
                           first.implementation() +
                           (first.spec().type == PackedType::kBf16 ? ", bf16 products)" : ", float32)");
        const std::size_t rest = resnet_conv_count() - m_.packed_convs_.size();
        if (rest > 0) note += ", " + std::to_string(rest) + " im2col + packed GEMM";
        return note;
    }

    std::size_t resnet_conv_count() const {
        std::size_t n = 0;
        for_each_resnet_conv(m_.resnet_, m_.config_.vision.image_size,
                             [&n](const FoldedConv&, int, ResNetConvEpilogue) { ++n; });
        return n;
    }

    // One ResNet convolution of a size x size input: direct where the library has a kernel for it (bf16 products
    // under clip.compute bf16, where it has those; writing bf16 when its reader takes it), else packed for im2col
    // + GEMM in float32.
    Status pack_resnet_conv(FoldedConv& c, int size, ResNetConvEpilogue epilogue, bool bf16_reader) {
        PackedConvSpec spec{.shape = c.shape(size, size),
                            .relu = epilogue != ResNetConvEpilogue::kNone,
                            .accumulate = epilogue == ResNetConvEpilogue::kReluAfterResidual};
        std::vector<PackedConvSpec> tries;
        if (product_type_ == PackedType::kBf16) {
            spec.type = PackedType::kBf16;
            if (bf16_reader && !spec.accumulate) {
                PackedConvSpec bf16_output = spec;
                bf16_output.bf16_output = true;
                tries.push_back(bf16_output);
            }
            tries.push_back(spec);
        }
        spec.type = PackedType::kF32;
        tries.push_back(spec);
        for (const PackedConvSpec& attempt : tries) {
            auto direct = PackedConv::create(c.weight.data(), c.bias.data(), attempt);
            if (direct.ok()) {
                c.direct = direct->get();
                m_.packed_bytes_ += c.direct->bytes();
                m_.packed_convs_.push_back(std::move(direct).value());
                std::vector<float>().swap(c.weight);
                return {};
            }
            if (direct.status().code() != StatusCode::kUnsupported) return direct.status();
        }
        return pack_conv(c);
    }

    // The folded weight is the model's own buffer (not the mapping): packed, it is simply freed.
    Status pack_conv(FoldedConv& c) {
        const int k = c.kernel * c.kernel * c.in;
        auto packed = PackedWeights::pack(c.weight.data(), c.out, k, k, true);
        if (!packed.ok()) return packed.status().code() == StatusCode::kUnsupported ? Status{} : packed.status();
        c.packed = packed->get();
        m_.packed_bytes_ += c.packed->bytes();
        m_.packed_.push_back(std::move(packed).value());
        std::vector<float>().swap(c.weight);
        return {};
    }

    // q, k and v as one [3W, W] matrix: the OpenAI tensor as it is, Hugging Face's three stacked into a copy.
    Status pack_qkv(BlockWeights& b) {
        if (b.qkv_half.data != nullptr) return {};
        const int w = b.q.in;
        const std::size_t ww = static_cast<std::size_t>(w) * static_cast<std::size_t>(w);
        if (b.qkv_contiguous) {
            HCLIP_ASSIGN_OR_RETURN(const bool release,
                                   pack_by_choice(b.q.weight, 3 * w, w, w, true, b.qkv_packed, b.qkv_choice, 3 * ww));
            b.qkv_bias = b.q.bias;
            if (release) b.q.weight = b.k.weight = b.v.weight = nullptr;
            return {};
        }
        b.qkv_choice = m_.gemm_plan_.find({3 * w, w});
        if (b.qkv_choice == nullptr || !b.qkv_choice->uses_packed_copy()) return {};
        std::vector<float> stacked(3 * ww);
        std::vector<float> bias(3 * static_cast<std::size_t>(w));
        const LinearWeights* parts[3] = {&b.q, &b.k, &b.v};
        for (std::size_t i = 0; i < 3; ++i) {
            std::copy_n(parts[i]->weight, ww, stacked.begin() + static_cast<std::ptrdiff_t>(i * ww));
            std::copy_n(parts[i]->bias, w, bias.begin() + static_cast<std::ptrdiff_t>(i) * w);
        }
        const bool keep_plain = b.qkv_choice->uses(GemmKernel::kPlain);
        HCLIP_ASSIGN_OR_RETURN(b.qkv_packed, pack_matrix(stacked.data(), 3 * w, w, w, true, 0, true, product_type_,
                                                         packed_layout_for(*b.qkv_choice)));
        if (b.qkv_packed == nullptr) return {};
        m_.converted_.push_back(std::move(bias));
        b.qkv_bias = m_.converted_.back().data();
        if (keep_plain) {
            m_.plain_kept_bytes_ += 3 * ww * sizeof(float);
            return {};
        }
        for (const LinearWeights* part : parts)
            release(part->weight, ww);
        b.q.weight = b.k.weight = b.v.weight = nullptr;
        return {};
    }

    // Packs B (see PackedWeights::pack) and releases the `release_count` floats at `b`, by default all of B.
    // Null (and B kept) when the library has no fast float32 kernel for this shape; bf16 products asked for are
    // never replaced by float32 ones, so there that is an error.
    Result<const PackedWeights*> pack_matrix(const float* b, int n, int k, int ldb, bool transposed,
                                             std::optional<std::size_t> release_count = std::nullopt,
                                             bool release_plain = true, PackedType type = PackedType::kF32,
                                             PackedLayout layout = PackedLayout::kLibrary) {
        auto packed = PackedWeights::pack(b, n, k, ldb, transposed, type, layout);
        if (!packed.ok()) {
            if (packed.status().code() == StatusCode::kUnsupported && type == PackedType::kF32) {
                return static_cast<const PackedWeights*>(nullptr);
            }
            return packed.status();
        }
        const PackedWeights* raw = packed->get();
        m_.packed_bytes_ += raw->bytes();
        m_.packed_.push_back(std::move(packed).value());
        if (release_plain)
            release(b, release_count.value_or(static_cast<std::size_t>(n) * static_cast<std::size_t>(k)));
        return raw;
    }

    // The plain copy of a packed matrix is never read again: free it if the model converted it, else tell the
    // kernel the mapped pages can go (they are read-only file pages, re-read from the file if ever touched).
    void release(const float* data, std::size_t count) {
        if (count == 0) return;
        for (auto& buf : m_.converted_) {
            if (buf.data() == data && buf.size() == count) {
                m_.converted_bytes_ -= buf.size() * sizeof(float);
                std::vector<float>().swap(buf);
                return;
            }
        }
#if defined(MADV_DONTNEED)
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const auto begin = reinterpret_cast<std::uintptr_t>(data);
        const std::uintptr_t end = begin + count * sizeof(float);
        const std::uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
        // Advice only: a failure leaves the pages mapped, which is harmless.
        if (last > first) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
#endif
    }

    ClipModel& m_;
    std::set<std::string> dtypes_seen_;
    std::map<const float*, const TensorView*> converted_from_;  // converted buffers and the tensor each came from
    PackedType product_type_ = PackedType::kF32;  // of the transformer towers' and projections' packed matrices
    std::string text_prefix_;                     // "text." for CustomTextCLIP checkpoints
    int timm_head_dim_ = 0;                       // the FastViT head's output width
};

Result<std::shared_ptr<const ClipModel>> ClipModel::load(const std::string& path, const ModelOptions& options) {
    std::shared_ptr<ClipModel> model(new ClipModel());
    ModelLoader loader(*model);
    Status s = loader.load(path, options);
    if (!s.ok()) return s.with_context("loading model from '" + path + "'");
    return std::shared_ptr<const ClipModel>(std::move(model));
}

}  // namespace hclip
