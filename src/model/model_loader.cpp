// Loading: find the files, recognise the layout, infer the architecture from tensor shapes (checked against any
// config file), then bind every tensor with its expected shape.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>

#include "core/mapped_file.h"
#include "kernels/kernel_plan.h"
#include "kernels/kernel_timing.h"
#include "kernels/packed_gemm.h"
#include "model/batch_norm_fold.h"
#include "model/checkpoint_names.h"
#include "model/clip_model.h"

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
        HCLIP_RETURN_IF_ERROR(detect_layout());
        HCLIP_RETURN_IF_ERROR(infer_config());
        HCLIP_RETURN_IF_ERROR(m_.config_.vision.kind == VisionKind::kResNet ? bind_resnet() : bind_vision());
        HCLIP_RETURN_IF_ERROR(bind_text());
        summarise_dtypes();
        if (options.pack_weights && packed_gemm_available()) HCLIP_RETURN_IF_ERROR(pack_weights(options));
        return {};
    }

  private:
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

    Status detect_layout() {
        const auto& f = m_.file_;
        if (f.find(kResNetMarker) != nullptr) {
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
                                    "names)");
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
        const TowerTensorNames tn = text_tensor_names(c.layout);
        const BlockTensorNames tb = block_tensor_names(c.layout, tn.block_prefix, 0);

        // Everything that tensor shapes determine.
        HCLIP_RETURN_IF_ERROR(c.vision.kind == VisionKind::kResNet ? infer_resnet() : infer_vit());
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
        if (pp_json) HCLIP_RETURN_IF_ERROR(apply_preprocessor_config(*pp_json));

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
        }
        if (const Json* pp = json_object(j, "preprocess_cfg"))
            HCLIP_RETURN_IF_ERROR(apply_mean_std(*pp, "mean", "std"));
        return {};
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

    Status apply_mean_std(const Json& j, const char* mean_key, const char* std_key) {
        ClipConfig& c = m_.config_;
        for (auto [key, dst] : {std::pair{mean_key, &c.image_mean}, std::pair{std_key, &c.image_std}}) {
            auto it = j.find(key);
            if (it == j.end()) continue;
            if (!it->is_array() || it->size() != 3) return invalid_argument(std::string(key) + " must have 3 numbers");
            for (std::size_t i = 0; i < 3; ++i) {
                if (!(*it)[i].is_number()) return invalid_argument(std::string(key) + " must have 3 numbers");
                (*dst)[i] = (*it)[i].get<float>();
            }
        }
        for (float s : c.image_std) {
            if (!(s > 0.0f)) return invalid_argument("image std must be positive");
        }
        return {};
    }

    Status apply_preprocessor_config(const Json& j) {
        HCLIP_RETURN_IF_ERROR(apply_mean_std(j, "image_mean", "image_std"));
        std::optional<int> crop = json_int(j, "crop_size");
        if (const Json* cs = json_object(j, "crop_size")) crop = json_int(*cs, "height");
        return check_agrees("preprocessor_config.json crop_size", crop, m_.config_.vision.image_size);
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

    Status bind_blocks(const std::string& prefix, const TransformerConfig& cfg, std::vector<BlockWeights>& blocks) {
        const int w = cfg.width;
        blocks.resize(static_cast<std::size_t>(cfg.layers));
        for (int i = 0; i < cfg.layers; ++i) {
            const BlockTensorNames n = block_tensor_names(m_.config_.layout, prefix, i);
            BlockWeights& b = blocks[static_cast<std::size_t>(i)];
            HCLIP_RETURN_IF_ERROR(bind_norm(n.ln1_weight, n.ln1_bias, w, b.ln1));
            HCLIP_RETURN_IF_ERROR(bind_norm(n.ln2_weight, n.ln2_bias, w, b.ln2));
            if (m_.config_.layout == CheckpointLayout::kOpenAI) {
                HCLIP_ASSIGN_OR_RETURN(const float* in_w, tensor(n.in_proj_weight, {3 * w, w}));
                HCLIP_ASSIGN_OR_RETURN(const float* in_b, tensor(n.in_proj_bias, {3 * w}));
                const std::size_t ww = static_cast<std::size_t>(w) * static_cast<std::size_t>(w);
                b.q = {in_w, in_b, w, w};
                b.k = {in_w + ww, in_b + w, w, w};
                b.v = {in_w + 2 * ww, in_b + 2 * w, w, w};
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
        const TowerTensorNames n = text_tensor_names(m_.config_.layout);
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
        if (resnet) {
            if (options.gemm_kernel != GemmKernelMode::kPlain) HCLIP_RETURN_IF_ERROR(pack_resnet());
            return pack_projection(m_.text_.projection);
        }
        VisionWeights& v = m_.vision_;
        const int patch_len = 3 * m_.config_.vision.patch_size * m_.config_.vision.patch_size;
        HCLIP_ASSIGN_OR_RETURN(const bool release,
                               pack_by_choice(v.patch_embedding, m_.config_.vision.width, patch_len, patch_len, true,
                                              v.patch_embedding_packed, v.patch_embedding_choice));
        if (release) v.patch_embedding = nullptr;
        for (ProjectionWeights* p : {&m_.vision_.projection, &m_.text_.projection})
            HCLIP_RETURN_IF_ERROR(pack_projection(*p));
        return {};
    }

    // The kernel per weight shape of the transformer towers (and projections), forced or timed.
    Status plan_kernels(const ModelOptions& options, bool resnet) {
        std::set<GemmShape> shapes;
        for (auto* tower : {&m_.vision_.blocks, &m_.text_.blocks}) {
            for (const BlockWeights& b : *tower) {
                shapes.insert({3 * b.q.in, b.q.in});
                for (const LinearWeights* l : {&b.out, &b.fc1, &b.fc2})
                    shapes.insert({l->out, l->in});
            }
        }
        shapes.insert({m_.text_.projection.out, m_.text_.projection.in});
        if (!resnet) {
            const VisionConfig& vc = m_.config_.vision;
            shapes.insert({vc.width, 3 * vc.patch_size * vc.patch_size});
            shapes.insert({m_.vision_.projection.out, m_.vision_.projection.in});
        }
        const std::vector<GemmShape> list(shapes.begin(), shapes.end());
        GemmKernelTimer timer;
        m_.gemm_plan_ =
            plan_gemm_kernels(list, {options.gemm_kernel, options.gemm_kernel_cache}, available_gemm_kernels(),
                              [&](GemmShape s, int m, GemmKernel k) { return timer.seconds(s, m, k); });
        return {};
    }

    Status pack_linear(LinearWeights& l) {
        HCLIP_ASSIGN_OR_RETURN(const bool release,
                               pack_by_choice(l.weight, l.out, l.in, l.in, true, l.packed, l.choice));
        if (release) l.weight = nullptr;
        return {};
    }

    Status pack_projection(ProjectionWeights& p) {
        HCLIP_ASSIGN_OR_RETURN(const bool release,
                               pack_by_choice(p.weight, p.out, p.in, p.stored_transposed ? p.in : p.out,
                                              p.stored_transposed, p.packed, p.choice));
        if (release) p.weight = nullptr;
        return {};
    }

    // Packs B [n, k] if the plan uses the packed kernel for that shape; true when its plain copy was released.
    Result<bool> pack_by_choice(const float* b, int n, int k, int ldb, bool transposed, const PackedWeights*& packed,
                                const GemmChoice*& choice, std::optional<std::size_t> release_count = std::nullopt) {
        choice = m_.gemm_plan_.find({n, k});
        if (choice == nullptr || !choice->uses(GemmKernel::kPacked)) return false;
        const bool keep_plain = choice->uses(GemmKernel::kPlain);
        HCLIP_ASSIGN_OR_RETURN(packed, pack_matrix(b, n, k, ldb, transposed, release_count, !keep_plain));
        if (packed != nullptr && keep_plain) {
            m_.plain_kept_bytes_ += static_cast<std::size_t>(n) * static_cast<std::size_t>(k) * sizeof(float);
        }
        return packed != nullptr && !keep_plain;
    }

    // Every folded convolution and the attention pool's projections.
    Status pack_resnet() {
        ResNetWeights& r = m_.resnet_;
        for (FoldedConv& c : r.stem)
            HCLIP_RETURN_IF_ERROR(pack_conv(c));
        for (BottleneckWeights& b : r.blocks) {
            for (FoldedConv* c : {&b.conv1, &b.conv2, &b.conv3})
                HCLIP_RETURN_IF_ERROR(pack_conv(*c));
            if (b.has_downsample) HCLIP_RETURN_IF_ERROR(pack_conv(b.downsample));
        }
        for (LinearWeights* l : {&r.attnpool.q, &r.attnpool.k, &r.attnpool.v, &r.attnpool.c_proj}) {
            HCLIP_ASSIGN_OR_RETURN(l->packed, pack_matrix(l->weight, l->out, l->in, l->in, true));
            if (l->packed != nullptr) l->weight = nullptr;
        }
        return {};
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
        if (b.qkv_choice == nullptr || !b.qkv_choice->uses(GemmKernel::kPacked)) return {};
        std::vector<float> stacked(3 * ww);
        std::vector<float> bias(3 * static_cast<std::size_t>(w));
        const LinearWeights* parts[3] = {&b.q, &b.k, &b.v};
        for (std::size_t i = 0; i < 3; ++i) {
            std::copy_n(parts[i]->weight, ww, stacked.begin() + static_cast<std::ptrdiff_t>(i * ww));
            std::copy_n(parts[i]->bias, w, bias.begin() + static_cast<std::ptrdiff_t>(i) * w);
        }
        const bool keep_plain = b.qkv_choice->uses(GemmKernel::kPlain);
        HCLIP_ASSIGN_OR_RETURN(b.qkv_packed, pack_matrix(stacked.data(), 3 * w, w, w, true, 0));
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
    // Null (and B kept) when the library has no fast kernel for this shape.
    Result<const PackedWeights*> pack_matrix(const float* b, int n, int k, int ldb, bool transposed,
                                             std::optional<std::size_t> release_count = std::nullopt,
                                             bool release_plain = true) {
        auto packed = PackedWeights::pack(b, n, k, ldb, transposed);
        if (!packed.ok()) {
            if (packed.status().code() == StatusCode::kUnsupported) return static_cast<const PackedWeights*>(nullptr);
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
};

Result<std::shared_ptr<const ClipModel>> ClipModel::load(const std::string& path, const ModelOptions& options) {
    std::shared_ptr<ClipModel> model(new ClipModel());
    ModelLoader loader(*model);
    Status s = loader.load(path, options);
    if (!s.ok()) return s.with_context("loading model from '" + path + "'");
    return std::shared_ptr<const ClipModel>(std::move(model));
}

}  // namespace hclip
