// MobileCLIP (OpenCLIP CustomTextCLIP with timm's FastViT image tower and a non-causal text tower) against the
// tiny-mobileclip2-s0 fixture: the real MobileCLIP2-S0 image geometry with random weights in the multi-branch
// training form. Image embeddings from the fixture's own pixel_values (the bilinear preprocessing is tested apart),
// texts from the fixture's ids, probabilities through the engine's zero-shot functions; then mutants of the folding
// and of the text mask that these comparisons must catch.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "core/mapped_file.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "io/safetensors.h"
#include "model/clip_model.h"
#include "model/image_tower.h"
#include "model/text_tower.h"
#include "support/fixtures.h"
#include "support/golden.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;

constexpr double kEmbeddingTolerance = 5e-5;  // fixtures README: float32 engine acceptance
constexpr double kProbabilityTolerance = 1e-3;
const char* const kFixture = "models/tiny-mobileclip2-s0";

struct Oracle {
    std::vector<float> pixels, image_normalized, text_normalized, probs;
    std::vector<std::vector<std::int32_t>> ids;
    int images = 0;
};

const Oracle& oracle() {
    static const Oracle o = [] {
        Oracle r;
        auto expected = SafetensorsFile::open(testing::fixture(std::string(kFixture) + "/expected.safetensors"));
        EXPECT_TRUE(expected.ok()) << expected.status().to_string();
        if (!expected.ok()) return r;
        r.pixels = expected->read_f32("pixel_values").value();
        r.image_normalized = expected->read_f32("image_embeds_normalized").value();
        r.text_normalized = expected->read_f32("text_embeds_normalized").value();
        r.probs = expected->read_f32("probs_scale100").value();
        r.images = static_cast<int>(r.pixels.size() / (3u * 256u * 256u));
        const auto flat = expected->read_i64("text_ids").value();
        for (std::size_t t = 0; t < flat.size() / 77; ++t) {
            r.ids.emplace_back();
            for (std::size_t i = 0; i < 77; ++i)
                r.ids.back().push_back(static_cast<std::int32_t>(flat[t * 77 + i]));
        }
        return r;
    }();
    return o;
}

std::vector<float> image_embeddings(const std::shared_ptr<const ClipModel>& model, int n) {
    const int e = model->config().embed_dim;
    auto tower = make_image_tower(model, 4);
    std::vector<float> out(static_cast<std::size_t>(n * e));
    const Status s = tower->encode(
        std::span<const float>(oracle().pixels).first(3u * 256u * 256u * static_cast<std::size_t>(n)), n, out);
    EXPECT_TRUE(s.ok()) << s.to_string();
    l2_normalize_rows(out, static_cast<std::size_t>(e));
    return out;
}

std::vector<float> text_embeddings(const std::shared_ptr<const ClipModel>& model) {
    const int e = model->config().embed_dim;
    TextTower tower(model, 4);
    std::vector<float> out(oracle().ids.size() * static_cast<std::size_t>(e));
    const Status s = tower.encode(oracle().ids, out);
    EXPECT_TRUE(s.ok()) << s.to_string();
    l2_normalize_rows(out, static_cast<std::size_t>(e));
    return out;
}

std::shared_ptr<const ClipModel> load_fixture() {
    auto model = ClipModel::load(testing::fixture(kFixture));
    EXPECT_TRUE(model.ok()) << model.status().to_string();
    return model.ok() ? *model : nullptr;
}

TEST(MobileClip, LoadsTheFastVitGeometryAndTheNonCausalText) {
    auto model = load_fixture();
    ASSERT_NE(model, nullptr);
    const ClipConfig& c = model->config();
    EXPECT_EQ(c.vision.kind, VisionKind::kFastVit);
    EXPECT_EQ(c.vision.fastvit.timm_name, "fastvit_mci0");
    ASSERT_EQ(c.vision.fastvit.stages.size(), 4u);
    const int layers[] = {2, 6, 10, 2}, widths[] = {64, 128, 256, 512};
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(c.vision.fastvit.stages[i].layers, layers[i]);
        EXPECT_EQ(c.vision.fastvit.stages[i].width, widths[i]);
        EXPECT_EQ(c.vision.fastvit.stages[i].attention, i == 3);
    }
    EXPECT_EQ(c.vision.fastvit.final_width, 1024);
    EXPECT_EQ(c.vision.image_size, 256);
    EXPECT_EQ(c.embed_dim, 48);
    EXPECT_FALSE(c.text.causal);
    EXPECT_EQ(c.text.heads, 2);
    EXPECT_EQ(c.text.activation, Activation::kGelu);
    EXPECT_EQ(c.image_mean[0], 0.0f);
    EXPECT_EQ(c.image_std[0], 1.0f);
}

TEST(MobileClip, ImageEmbeddingsFromPixelValuesMatchOracle) {
    auto model = load_fixture();
    ASSERT_NE(model, nullptr);
    testing::expect_close("mobileclip image embeddings", image_embeddings(model, oracle().images),
                          oracle().image_normalized, 48, kEmbeddingTolerance);
}

TEST(MobileClip, UnpackedWeightsGiveTheSameEmbeddings) {
    auto model = ClipModel::load(testing::fixture(kFixture), {.pack_weights = false});
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    testing::expect_close("mobileclip image embeddings, plain GEMM", image_embeddings(*model, 2),
                          std::span<const float>(oracle().image_normalized).first(96), 48, kEmbeddingTolerance);
}

TEST(MobileClip, TextEmbeddingsOverTheWholeContextMatchOracle) {
    auto model = load_fixture();
    ASSERT_NE(model, nullptr);
    testing::expect_close("mobileclip text embeddings", text_embeddings(model), oracle().text_normalized, 48,
                          kEmbeddingTolerance);
    // The ids without their zero padding are the same texts: the tower pads them itself.
    std::vector<std::vector<std::int32_t>> trimmed = oracle().ids;
    for (auto& ids : trimmed) {
        while (!ids.empty() && ids.back() == 0)
            ids.pop_back();
    }
    TextTower tower(model, 3);
    std::vector<float> out(trimmed.size() * 48u);
    ASSERT_TRUE(tower.encode(trimmed, out).ok());
    l2_normalize_rows(out, 48);
    testing::expect_close("mobileclip text embeddings, unpadded ids", out, oracle().text_normalized, 48,
                          kEmbeddingTolerance);
}

TEST(MobileClip, ZeroShotProbabilitiesMatchOracle) {
    auto model = load_fixture();
    ASSERT_NE(model, nullptr);
    const auto images = image_embeddings(model, oracle().images);
    const auto texts = text_embeddings(model);
    std::vector<float> probs;
    for (int i = 0; i < oracle().images; ++i) {
        const auto cos = cosine_similarities(
            std::span<const float>(images).subspan(static_cast<std::size_t>(i) * 48u, 48u), texts, 48);
        const auto p = scaled_softmax(cos, kDefaultLogitScale);
        probs.insert(probs.end(), p.begin(), p.end());
    }
    testing::expect_close("mobileclip probabilities", probs, oracle().probs, oracle().ids.size(),
                          kProbabilityTolerance);
}

}  // namespace
}  // namespace hclip
