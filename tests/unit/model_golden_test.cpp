// The float32 towers against the float64 outputs of the official implementations, for every fixture model, with
// the fixtures' own preprocessed pixels and token ids as inputs (the decode and tokenizer paths have their own
// end-to-end test in engine_golden_test.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "engine/zero_shot.h"
#include "io/safetensors.h"
#include "model/clip_model.h"
#include "model/image_tower.h"
#include "model/text_tower.h"
#include "model/vision_tower.h"
#include "support/fixtures.h"
#include "support/golden.h"

namespace hclip {
namespace {

constexpr double kEmbeddingTolerance = 5e-5;  // fixtures README: float32 engine acceptance
constexpr double kProbabilityTolerance = 1e-3;

struct Golden {
    std::vector<std::string> images;
    int n_texts = 0;
    SafetensorsFile expected;
};

Golden load_golden(const std::string& model) {
    Golden g;
    auto json_text = read_file(testing::fixture("models/" + model + "/expected.json"));
    EXPECT_TRUE(json_text.ok()) << json_text.status().to_string();
    if (!json_text.ok()) return g;
    auto j = nlohmann::json::parse(*json_text);
    g.images = j.at("images").get<std::vector<std::string>>();
    g.n_texts = static_cast<int>(j.at("texts").size());
    auto st = SafetensorsFile::open(testing::fixture("models/" + model + "/expected.safetensors"));
    EXPECT_TRUE(st.ok()) << st.status().to_string();
    if (st.ok()) g.expected = std::move(st).value();
    return g;
}

std::vector<std::vector<std::int32_t>> golden_text_ids(const Golden& g) {
    auto flat = g.expected.read_i64("text_ids");
    EXPECT_TRUE(flat.ok());
    std::vector<std::vector<std::int32_t>> ids(static_cast<std::size_t>(g.n_texts));
    for (std::size_t t = 0; t < ids.size(); ++t) {
        for (std::size_t i = 0; i < 77; ++i)
            ids[t].push_back(static_cast<std::int32_t>((*flat)[t * 77 + i]));
    }
    return ids;
}

// The oracle's own inputs: the shared 224 px preprocessing, or the model's `pixel_values` when it has them (the
// ResNet fixture runs at 96 px).
std::vector<float> golden_pixels(const Golden& g) {
    if (g.expected.find("pixel_values") != nullptr) return g.expected.read_f32("pixel_values").value();
    auto pre = SafetensorsFile::open(testing::fixture("preprocess/expected.safetensors"));
    EXPECT_TRUE(pre.ok()) << pre.status().to_string();
    std::vector<float> pixels;
    for (const auto& name : g.images) {
        auto p = pre->read_f32(name);
        EXPECT_TRUE(p.ok()) << p.status().to_string();
        if (p.ok()) pixels.insert(pixels.end(), p->begin(), p->end());
    }
    return pixels;
}

void normalize_rows(std::vector<float>& m, int dim) {
    for (std::size_t r = 0; r < m.size() / static_cast<std::size_t>(dim); ++r) {
        l2_normalize(std::span<float>(m).subspan(r * static_cast<std::size_t>(dim), static_cast<std::size_t>(dim)));
    }
}

class ModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelGolden, EmbeddingsAndProbabilitiesMatchOracle) {
    const std::string name = GetParam();
    auto model = ClipModel::load(testing::fixture("models/" + name));
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const Golden g = load_golden(name);
    ASSERT_FALSE(g.images.empty());
    const int e = (*model)->config().embed_dim;
    const int n_img = static_cast<int>(g.images.size());

    // Batch of 5 with 12 images: exercises both batching and the chunking of larger requests (short last chunk).
    auto vision = make_image_tower(*model, 5);
    std::vector<float> image_embeds(static_cast<std::size_t>(n_img * e));
    ASSERT_TRUE(vision->encode(golden_pixels(g), n_img, image_embeds).ok());
    normalize_rows(image_embeds, e);
    testing::expect_close(name + " image_embeds_normalized", image_embeds,
                          g.expected.read_f32("image_embeds_normalized").value(), static_cast<std::size_t>(e),
                          kEmbeddingTolerance);

    TextTower text(*model, 8);
    const auto ids = golden_text_ids(g);
    std::vector<float> text_embeds(ids.size() * static_cast<std::size_t>(e));
    Status s = text.encode(ids, text_embeds);
    ASSERT_TRUE(s.ok()) << s.to_string();
    normalize_rows(text_embeds, e);
    testing::expect_close(name + " text_embeds_normalized", text_embeds,
                          g.expected.read_f32("text_embeds_normalized").value(), static_cast<std::size_t>(e),
                          kEmbeddingTolerance);

    // Zero-shot probabilities over all texts, per image, as the service computes them.
    std::vector<float> probs;
    for (int i = 0; i < n_img; ++i) {
        std::vector<float> cos(ids.size());
        for (std::size_t t = 0; t < ids.size(); ++t) {
            cos[t] = dot(std::span<const float>(image_embeds)
                             .subspan(static_cast<std::size_t>(i * e), static_cast<std::size_t>(e)),
                         std::span<const float>(text_embeds)
                             .subspan(t * static_cast<std::size_t>(e), static_cast<std::size_t>(e)));
        }
        auto p = scaled_softmax(cos, 100.0f);
        probs.insert(probs.end(), p.begin(), p.end());
    }
    testing::expect_close(name + " probs_scale100", probs, g.expected.read_f32("probs_scale100").value(), ids.size(),
                          kProbabilityTolerance);
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, ModelGolden,
                         ::testing::Values("tiny-openai", "tiny-hf", "tiny-openclip-gelu-p16", "tiny-openai-f16",
                                           "tiny-hf-bf16", "tiny-openai-resnet"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                             return testing::fixture_test_name(param_info.param);
                         });

TEST(ModelLoad, InfersArchitectureOfEachLayout) {
    auto openai = ClipModel::load(testing::fixture("models/tiny-openai"));
    ASSERT_TRUE(openai.ok()) << openai.status().to_string();
    const ClipConfig& c = (*openai)->config();
    EXPECT_EQ(c.layout, CheckpointLayout::kOpenAI);
    EXPECT_EQ(c.vision.width, 192);
    EXPECT_EQ(c.vision.heads, 3);
    EXPECT_EQ(c.vision.patch_size, 32);
    EXPECT_EQ(c.vision.image_size, 224);
    EXPECT_EQ(c.vision.layers, 2);
    EXPECT_EQ(c.text.width, 128);
    EXPECT_EQ(c.text.heads, 2);
    EXPECT_EQ(c.embed_dim, 48);
    EXPECT_EQ(c.vision.activation, Activation::kQuickGelu);
    EXPECT_EQ((*openai)->converted_bytes(), 0u) << "F32 weights must be used in place, not copied";

    auto hf = ClipModel::load(testing::fixture("models/tiny-hf"));
    ASSERT_TRUE(hf.ok()) << hf.status().to_string();
    EXPECT_EQ((*hf)->config().layout, CheckpointLayout::kHuggingFace);
    EXPECT_TRUE((*hf)->vision().projection.stored_transposed);

    auto gelu = ClipModel::load(testing::fixture("models/tiny-openclip-gelu-p16"));
    ASSERT_TRUE(gelu.ok()) << gelu.status().to_string();
    EXPECT_EQ((*gelu)->config().vision.activation, Activation::kGelu);
    EXPECT_EQ((*gelu)->config().vision.patch_size, 16);
    EXPECT_EQ((*gelu)->config().vision.num_tokens(), 197);
    EXPECT_EQ((*gelu)->config().vision.heads, 2);

    auto bf16 = ClipModel::load(testing::fixture("models/tiny-hf-bf16"));
    ASSERT_TRUE(bf16.ok()) << bf16.status().to_string();
    EXPECT_EQ((*bf16)->stored_dtype(), "BF16");
}

TEST(ModelLoad, InfersResNetGeometryFromTensors) {
    auto r = ClipModel::load(testing::fixture("models/tiny-openai-resnet"));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const ClipConfig& c = (*r)->config();
    EXPECT_EQ(c.vision.kind, VisionKind::kResNet);
    EXPECT_EQ(c.vision.width, 16);
    EXPECT_EQ(c.vision.resnet.stage_layers, (std::array<int, 4>{1, 1, 1, 1}));
    EXPECT_EQ(c.vision.image_size, 96);  // 32 x the attention pool's 3x3 grid
    EXPECT_EQ(c.vision.attnpool_width(), 512);
    EXPECT_EQ(c.vision.heads, 8);  // width * 32 / 64
    EXPECT_EQ(c.text.width, 128);
    EXPECT_EQ(c.text.heads, 2);
    EXPECT_EQ(c.embed_dim, 48);
    EXPECT_EQ(c.text.activation, Activation::kQuickGelu);
    EXPECT_EQ((*r)->resnet().blocks.size(), 4u);
    EXPECT_NE(c.summary().find("ResNet width 16, layers (1,1,1,1)"), std::string::npos) << c.summary();
}

TEST(TextTowerInput, RejectsIdsWithoutEotOrOutOfVocabulary) {
    auto model = ClipModel::load(testing::fixture("models/tiny-openai"));
    ASSERT_TRUE(model.ok());
    TextTower text(*model, 2);
    std::vector<float> out(48);
    std::vector<std::vector<std::int32_t>> no_eot = {{49406, 320, 1929}};
    EXPECT_EQ(text.encode(no_eot, out).code(), StatusCode::kInvalidArgument);
    std::vector<std::vector<std::int32_t>> bad_id = {{49406, 60000, 49407}};
    EXPECT_EQ(text.encode(bad_id, out).code(), StatusCode::kInvalidArgument);
}

// Computing only up to the EOT must give the same embedding as the full 77-token pass would: the padding after
// the EOT must not matter (whatever it contains). Each text in a pass of its own, so that both are computed as
// the same rows of the same products and must agree bit for bit: in one batch the second text's rows sit lower
// in each product, and a GEMM library may sum a row differently by where it falls in its row blocks (oneDNN's
// AVX2 kernel does: last-digit differences).
TEST(TextTowerInput, PaddingAfterEotIsIrrelevant) {
    auto model = ClipModel::load(testing::fixture("models/tiny-openai"));
    ASSERT_TRUE(model.ok());
    TextTower text(*model, 2);
    const std::vector<std::vector<std::int32_t>> bare = {{49406, 320, 1929, 49407}};
    const std::vector<std::vector<std::int32_t>> padded = {{49406, 320, 1929, 49407, 500, 7, 9}};
    std::vector<float> a(48), b(48);
    ASSERT_TRUE(text.encode(bare, a).ok());
    ASSERT_TRUE(text.encode(padded, b).ok());
    for (std::size_t i = 0; i < a.size(); ++i)
        EXPECT_EQ(a[i], b[i]) << i;
}

}  // namespace
}  // namespace hclip
