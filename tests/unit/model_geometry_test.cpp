// Any ViT geometry loads with no code change: small random checkpoints with the patch sizes, image sizes and head
// layouts of ViT-B/32, B/16, L/14 and L/14@336 (widths shrunk so the test stays fast), in both naming layouts.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/safetensors.h"
#include "model/clip_model.h"
#include "model/text_tower.h"
#include "model/vision_tower.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;

struct Geometry {
    const char* name;
    int image_size, patch, vision_width, vision_layers, text_width, text_layers, embed;
};

class CheckpointWriter {
  public:
    void add(const std::string& name, std::vector<std::int64_t> shape, float scale, float mean = 0.0f) {
        std::size_t n = 1;
        for (auto d : shape)
            n *= static_cast<std::size_t>(d);
        std::normal_distribution<float> dist(mean, scale);
        std::vector<float> v(n);
        for (auto& x : v)
            x = dist(rng_);
        data_.push_back(std::move(v));
        names_.emplace_back(name, std::move(shape));
    }
    void write(const fs::path& path) {
        std::vector<TensorToWrite> t;
        for (std::size_t i = 0; i < data_.size(); ++i)
            t.push_back({names_[i].first, names_[i].second, data_[i]});
        ASSERT_TRUE(write_safetensors(path.string(), t).ok());
    }

  private:
    std::mt19937 rng_{7};
    std::vector<std::vector<float>> data_;
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> names_;
};

void add_block(CheckpointWriter& w, const std::string& p, int width, bool hf) {
    const float s = 1.0f / std::sqrt(static_cast<float>(width));
    if (hf) {
        w.add(p + "layer_norm1.weight", {width}, 0.02f, 1.0f);
        w.add(p + "layer_norm1.bias", {width}, 0.02f);
        for (const char* x : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
            w.add(p + "self_attn." + x + ".weight", {width, width}, s);
            w.add(p + "self_attn." + x + ".bias", {width}, 0.02f);
        }
        w.add(p + "layer_norm2.weight", {width}, 0.02f, 1.0f);
        w.add(p + "layer_norm2.bias", {width}, 0.02f);
        w.add(p + "mlp.fc1.weight", {4 * width, width}, s);
        w.add(p + "mlp.fc1.bias", {4 * width}, 0.02f);
        w.add(p + "mlp.fc2.weight", {width, 4 * width}, s * 0.5f);
        w.add(p + "mlp.fc2.bias", {width}, 0.02f);
    } else {
        w.add(p + "ln_1.weight", {width}, 0.02f, 1.0f);
        w.add(p + "ln_1.bias", {width}, 0.02f);
        w.add(p + "attn.in_proj_weight", {3 * width, width}, s);
        w.add(p + "attn.in_proj_bias", {3 * width}, 0.02f);
        w.add(p + "attn.out_proj.weight", {width, width}, s);
        w.add(p + "attn.out_proj.bias", {width}, 0.02f);
        w.add(p + "ln_2.weight", {width}, 0.02f, 1.0f);
        w.add(p + "ln_2.bias", {width}, 0.02f);
        w.add(p + "mlp.c_fc.weight", {4 * width, width}, s);
        w.add(p + "mlp.c_fc.bias", {4 * width}, 0.02f);
        w.add(p + "mlp.c_proj.weight", {width, 4 * width}, s * 0.5f);
        w.add(p + "mlp.c_proj.bias", {width}, 0.02f);
    }
}

void write_openai(const Geometry& g, const fs::path& dir) {
    CheckpointWriter w;
    const int grid = g.image_size / g.patch;
    w.add("visual.conv1.weight", {g.vision_width, 3, g.patch, g.patch}, 0.02f);
    w.add("visual.class_embedding", {g.vision_width}, 0.05f);
    w.add("visual.positional_embedding", {grid * grid + 1, g.vision_width}, 0.05f);
    w.add("visual.ln_pre.weight", {g.vision_width}, 0.02f, 1.0f);
    w.add("visual.ln_pre.bias", {g.vision_width}, 0.02f);
    for (int i = 0; i < g.vision_layers; ++i) {
        add_block(w, "visual.transformer.resblocks." + std::to_string(i) + ".", g.vision_width, false);
    }
    w.add("visual.ln_post.weight", {g.vision_width}, 0.02f, 1.0f);
    w.add("visual.ln_post.bias", {g.vision_width}, 0.02f);
    w.add("visual.proj", {g.vision_width, g.embed}, 0.05f);
    w.add("token_embedding.weight", {49408, g.text_width}, 0.02f);
    w.add("positional_embedding", {77, g.text_width}, 0.01f);
    for (int i = 0; i < g.text_layers; ++i)
        add_block(w, "transformer.resblocks." + std::to_string(i) + ".", g.text_width, false);
    w.add("ln_final.weight", {g.text_width}, 0.02f, 1.0f);
    w.add("ln_final.bias", {g.text_width}, 0.02f);
    w.add("text_projection", {g.text_width, g.embed}, 0.05f);
    w.write(dir / "model.safetensors");
}

void write_hf(const Geometry& g, const fs::path& dir) {
    CheckpointWriter w;
    const int grid = g.image_size / g.patch;
    w.add("vision_model.embeddings.patch_embedding.weight", {g.vision_width, 3, g.patch, g.patch}, 0.02f);
    w.add("vision_model.embeddings.class_embedding", {g.vision_width}, 0.05f);
    w.add("vision_model.embeddings.position_embedding.weight", {grid * grid + 1, g.vision_width}, 0.05f);
    w.add("vision_model.pre_layrnorm.weight", {g.vision_width}, 0.02f, 1.0f);
    w.add("vision_model.pre_layrnorm.bias", {g.vision_width}, 0.02f);
    for (int i = 0; i < g.vision_layers; ++i) {
        add_block(w, "vision_model.encoder.layers." + std::to_string(i) + ".", g.vision_width, true);
    }
    w.add("vision_model.post_layernorm.weight", {g.vision_width}, 0.02f, 1.0f);
    w.add("vision_model.post_layernorm.bias", {g.vision_width}, 0.02f);
    w.add("visual_projection.weight", {g.embed, g.vision_width}, 0.05f);
    w.add("text_model.embeddings.token_embedding.weight", {49408, g.text_width}, 0.02f);
    w.add("text_model.embeddings.position_embedding.weight", {77, g.text_width}, 0.01f);
    for (int i = 0; i < g.text_layers; ++i) {
        add_block(w, "text_model.encoder.layers." + std::to_string(i) + ".", g.text_width, true);
    }
    w.add("text_model.final_layer_norm.weight", {g.text_width}, 0.02f, 1.0f);
    w.add("text_model.final_layer_norm.bias", {g.text_width}, 0.02f);
    w.add("text_projection.weight", {g.embed, g.text_width}, 0.05f);
    w.write(dir / "model.safetensors");
    // The older Hugging Face export style: tower settings under *_config_dict.
    std::ofstream(dir / "config.json") << R"({"projection_dim": )" << g.embed
                                       << R"(, "text_config_dict": {"hidden_size": )" << g.text_width
                                       << R"(, "num_attention_heads": )" << g.text_width / 64
                                       << R"(, "hidden_act": "quick_gelu"}, "vision_config_dict": {"hidden_size": )"
                                       << g.vision_width << R"(, "num_attention_heads": )" << g.vision_width / 64
                                       << R"(, "patch_size": )" << g.patch << R"(, "image_size": )" << g.image_size
                                       << "}}";
}

class ModelGeometry : public ::testing::TestWithParam<std::tuple<Geometry, bool>> {};

TEST_P(ModelGeometry, LoadsInfersArchitectureAndRuns) {
    const auto& [g, hf] = GetParam();
    const fs::path dir = fs::temp_directory_path() / (std::string("hclip_geometry_") + g.name + (hf ? "_hf" : "_oa"));
    fs::remove_all(dir);
    fs::create_directories(dir);
    if (hf)
        write_hf(g, dir);
    else
        write_openai(g, dir);

    auto model = ClipModel::load(dir.string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const ClipConfig& c = (*model)->config();
    EXPECT_EQ(c.vision.image_size, g.image_size);
    EXPECT_EQ(c.vision.patch_size, g.patch);
    EXPECT_EQ(c.vision.num_tokens(), (g.image_size / g.patch) * (g.image_size / g.patch) + 1);
    EXPECT_EQ(c.vision.width, g.vision_width);
    EXPECT_EQ(c.vision.heads, g.vision_width / 64);
    EXPECT_EQ(c.vision.layers, g.vision_layers);
    EXPECT_EQ(c.text.heads, g.text_width / 64);
    EXPECT_EQ(c.embed_dim, g.embed);
    EXPECT_EQ(c.vision.activation, Activation::kQuickGelu);

    // Two images in one batch: finite outputs, and the batch equals the images run one by one.
    const std::size_t per = 3u * static_cast<std::size_t>(g.image_size) * static_cast<std::size_t>(g.image_size);
    std::vector<float> pixels(2 * per);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1.5f, 1.5f);
    for (auto& p : pixels)
        p = u(rng);
    VisionTower vision(*model, 2);
    std::vector<float> both(2 * static_cast<std::size_t>(g.embed)), one(static_cast<std::size_t>(g.embed));
    ASSERT_TRUE(vision.encode(pixels, 2, both).ok());
    ASSERT_TRUE(vision.encode(std::span<const float>(pixels).subspan(per, per), 1, one).ok());
    for (std::size_t i = 0; i < one.size(); ++i) {
        ASSERT_TRUE(std::isfinite(both[i]));
        EXPECT_NEAR(both[one.size() + i], one[i], 1e-4f);
    }
    TextTower text(*model, 2);
    std::vector<std::vector<std::int32_t>> ids = {{49406, 320, 2368, 49407}};
    std::vector<float> t(static_cast<std::size_t>(g.embed));
    ASSERT_TRUE(text.encode(ids, t).ok());
    for (float v : t)
        ASSERT_TRUE(std::isfinite(v));
    fs::remove_all(dir);
}

// Real geometries, narrower: head width 64 as in the real models, widths and depths cut for speed.
const Geometry kGeometries[] = {
    {"b32", 224, 32, 128, 2, 128, 1, 32},
    {"b16", 224, 16, 128, 1, 64, 1, 32},
    {"l14", 224, 14, 192, 1, 128, 1, 48},
    {"l14_336", 336, 14, 128, 1, 64, 1, 32},
};

INSTANTIATE_TEST_SUITE_P(VitSizes, ModelGeometry,
                         ::testing::Combine(::testing::ValuesIn(kGeometries), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<Geometry, bool>>& param_info) {
                             return std::string(std::get<0>(param_info.param).name) +
                                    (std::get<1>(param_info.param) ? "_huggingface" : "_openai");
                         });

}  // namespace
}  // namespace hclip
