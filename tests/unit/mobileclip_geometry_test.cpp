// MobileCLIP's published image towers (timm fastvit_mci0/1/2) at full geometry with random weights written here:
// the loader must infer each one from the tensors, agree with the timm name of its config, and the tower must run at
// 256 px. Plus the loader's refusals: a missing branch, a config naming another model, an unknown model.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "model/clip_model.h"
#include "model/image_tower.h"
#include "model/text_tower.h"
#include "random_checkpoint.h"
#include "support/temp_dir.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;
namespace rc = random_checkpoint;

using testing::TempDir;

constexpr int kEmbed = 512;
const rc::TextGeometry kSmallText{64, 1};  // the text tower is not what these tests are about

void write_config(const fs::path& dir, const std::string& timm_name, bool custom_text = true) {
    std::ofstream(dir / "open_clip_config.json")
        << R"({"model_cfg": {"embed_dim": 512, "vision_cfg": {"timm_model_name": ")" << timm_name
        << R"(", "timm_pool": "avg", "timm_proj": null, "image_size": 256}, "text_cfg": {"context_length": 77,)"
        << R"( "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1, "no_causal_mask": true}, "custom_text": )"
        << (custom_text ? "true" : "false") << R"(}, "preprocess_cfg": {"mean": [0, 0, 0], "std": [1, 1, 1]}})";
}

Status write_model(const fs::path& dir, const rc::FastVitGeometry& g, const std::string& drop = "") {
    rc::Writer w(42);
    rc::add_fastvit_vision(w, g, kEmbed);
    rc::add_text(w, kSmallText, kEmbed, "text.");
    if (!drop.empty()) w.drop(drop);
    return w.write((dir / "open_clip_model.safetensors").string());
}

struct Published {
    const char* timm_name;
    rc::FastVitGeometry geometry;
};

class FastVitGeometry : public ::testing::TestWithParam<Published> {};

TEST_P(FastVitGeometry, LoadsAndRunsOneImageAt256) {
    const Published p = GetParam();
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    ASSERT_TRUE(write_model(dir.path(), p.geometry).ok());
    write_config(dir.path(), p.timm_name);
    const auto start = std::chrono::steady_clock::now();
    auto model = ClipModel::load(dir.path().string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const VisionConfig& v = (*model)->config().vision;
    EXPECT_EQ(v.kind, VisionKind::kFastVit);
    EXPECT_EQ(v.fastvit.timm_name, p.timm_name);
    ASSERT_EQ(v.fastvit.stages.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(v.fastvit.stages[i].layers, p.geometry.layers[i]);
        EXPECT_EQ(v.fastvit.stages[i].width, p.geometry.widths[i]);
        EXPECT_EQ(v.fastvit.stages[i].mlp_width, 3 * p.geometry.widths[i]);
        EXPECT_EQ(v.fastvit.stages[i].attention, i == 3);
        EXPECT_EQ(v.fastvit.stages[i].downsample_se, i >= 2);
        EXPECT_EQ(v.fastvit.stages[i].positional_conv, i == 3);
    }
    EXPECT_EQ(v.fastvit.final_width, 2 * p.geometry.widths[3]);
    EXPECT_EQ(v.image_size, 256);
    EXPECT_EQ((*model)->config().embed_dim, kEmbed);
    const auto loaded = std::chrono::steady_clock::now();

    auto tower = make_image_tower(*model, 1);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    std::vector<float> pixels(3u * 256u * 256u), out(kEmbed);
    for (float& x : pixels)
        x = pixel(rng);
    const Status s = tower->encode(pixels, 1, out);
    ASSERT_TRUE(s.ok()) << s.to_string();
    double norm = 0.0;
    for (float x : out) {
        ASSERT_TRUE(std::isfinite(x));
        norm += static_cast<double>(x) * static_cast<double>(x);
    }
    EXPECT_GT(norm, 0.0);
    const auto ran = std::chrono::steady_clock::now();
    std::printf("  %s: load %.0f ms, one image %.0f ms\n", p.timm_name,
                std::chrono::duration<double, std::milli>(loaded - start).count(),
                std::chrono::duration<double, std::milli>(ran - loaded).count());
}

INSTANTIATE_TEST_SUITE_P(Published, FastVitGeometry,
                         ::testing::Values(Published{"fastvit_mci0", {{2, 6, 10, 2}, {64, 128, 256, 512}}},
                                           Published{"fastvit_mci1", {{4, 12, 20, 4}, {64, 128, 256, 512}}},
                                           Published{"fastvit_mci2", {{4, 12, 24, 4}, {80, 160, 320, 640}}}),
                         [](const ::testing::TestParamInfo<Published>& p) { return std::string(p.param.timm_name); });

// MobileCLIP-B / MobileCLIP2-B: a causal text tower (no_causal_mask false) beside the conv-stem ViT.
TEST(ConvStemVitGeometry, VitBaseMci224LoadsAndRunsOneImage) {
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    rc::Writer w(43);
    rc::add_vit_conv_stem_vision(w, kEmbed);
    rc::add_text(w, kSmallText, kEmbed, "text.");
    ASSERT_TRUE(w.write((dir.path() / "open_clip_model.safetensors").string()).ok());
    std::ofstream(dir.path() / "open_clip_config.json")
        << R"({"model_cfg": {"embed_dim": 512, "vision_cfg": {"timm_model_name": "vit_base_mci_224", "timm_pool": )"
        << R"("token", "timm_proj": null, "image_size": 224}, "text_cfg": {"context_length": 77, "vocab_size": 49408,)"
        << R"( "width": 64, "heads": 1, "layers": 1, "no_causal_mask": false}, "custom_text": true}})";
    auto model = ClipModel::load(dir.path().string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const ClipConfig& c = (*model)->config();
    EXPECT_EQ(c.vision.kind, VisionKind::kVitConvStem);
    EXPECT_EQ(c.vision.width, 768);
    EXPECT_EQ(c.vision.layers, 12);
    EXPECT_EQ(c.vision.heads, 12);
    EXPECT_EQ(c.vision.mlp_width, 3072);
    EXPECT_EQ(c.vision.patch_size, 16);
    EXPECT_EQ(c.vision.image_size, 224);
    EXPECT_EQ(c.vision.num_tokens(), 197);
    EXPECT_EQ(c.vision.conv_stem.hidden_widths[0], 192);
    EXPECT_EQ(c.vision.layer_norm_eps, 1e-6f);
    EXPECT_TRUE(c.text.causal);

    auto tower = make_image_tower(*model, 1);
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> pixel(-1.0f, 1.0f);
    std::vector<float> pixels(3u * 224u * 224u), out(kEmbed);
    for (float& x : pixels)
        x = pixel(rng);
    const Status s = tower->encode(pixels, 1, out);
    ASSERT_TRUE(s.ok()) << s.to_string();
    double norm = 0.0;
    for (float x : out) {
        ASSERT_TRUE(std::isfinite(x));
        norm += static_cast<double>(x) * static_cast<double>(x);
    }
    EXPECT_GT(norm, 0.0);
}

TEST(ConvStemVitGeometry, AnotherTimmNameIsRefused) {
    const TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    rc::Writer w(44);
    rc::add_vit_conv_stem_vision(w, kEmbed, /*layers=*/1);  // refused before the blocks are read
    rc::add_text(w, kSmallText, kEmbed, "text.");
    ASSERT_TRUE(w.write((dir.path() / "open_clip_model.safetensors").string()).ok());
    std::ofstream(dir.path() / "open_clip_config.json")
        << R"({"model_cfg": {"embed_dim": 512, "vision_cfg": {"timm_model_name": "vit_large_mci_224"},)"
        << R"( "text_cfg": {"width": 64, "heads": 1, "layers": 1}, "custom_text": true}})";
    const Status s = ClipModel::load(dir.path().string()).status();
    EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.to_string();
    EXPECT_NE(s.to_string().find("vit_large_mci_224"), std::string::npos) << s.to_string();
}

// The refusals need a valid model that differs in one thing; mci0's shapes with fewer blocks keep them quick.
const rc::FastVitGeometry kMci0 = {{2, 6, 10, 2}, {64, 128, 256, 512}};

Status load_with(const rc::FastVitGeometry& g, const std::string& timm_name, const std::string& drop = "",
                 bool custom_text = true) {
    const TempDir dir;
    if (dir.path().empty()) return internal_error("mkdtemp failed");
    HCLIP_RETURN_IF_ERROR(write_model(dir.path(), g, drop));
    write_config(dir.path(), timm_name, custom_text);
    return ClipModel::load(dir.path().string()).status();
}

TEST(FastVitLoader, AMissingBranchIsNamed) {
    for (const std::string name :
         {"visual.trunk.stages.2.blocks.4.token_mixer.mixer.conv_scale.bn.running_var",
          "visual.trunk.stages.1.downsample.proj.0.small_conv.conv.weight", "visual.trunk.stem.2.identity.weight",
          "visual.trunk.final_conv.se.fc2.bias", "visual.trunk.stages.3.blocks.1.layer_scale_2.gamma"}) {
        const Status s = load_with(kMci0, "fastvit_mci0", name);
        EXPECT_FALSE(s.ok()) << name;
        EXPECT_NE(s.to_string().find(name), std::string::npos) << s.to_string();
    }
}

TEST(FastVitLoader, AConfigNamingAnotherModelIsRefused) {
    const Status s = load_with(kMci0, "fastvit_mci1");
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.to_string().find("fastvit_mci1"), std::string::npos) << s.to_string();
    EXPECT_NE(s.to_string().find("layers (2,6,10,2)"), std::string::npos) << s.to_string();
}

TEST(FastVitLoader, AnUnknownTimmModelIsRefused) {
    const Status s = load_with(kMci0, "fastvit_mci3");
    EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.to_string();
    EXPECT_NE(s.to_string().find("fastvit_mci3"), std::string::npos) << s.to_string();
}

TEST(FastVitLoader, CustomTextMustAgreeWithTheTensorNames) {
    const Status s = load_with(kMci0, "fastvit_mci0", "", /*custom_text=*/false);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.to_string().find("custom_text"), std::string::npos) << s.to_string();
}

}  // namespace
}  // namespace hclip
