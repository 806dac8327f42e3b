// The whole engine path, as the service and the CLI use it: image bytes through our decoder and Pillow-exact
// preprocessing, prompts through our tokenizer, then the CPU encoders. Compared with the oracle outputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "engine/clip_engine.h"
#include "engine/embedding.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "support/golden.h"

namespace hclip {
namespace {

// Embeddings from our own decode + resize. The fixtures README allows preprocessing to differ from Pillow by up to
// one 8-bit step on 0.1% of values; the embedding bound stays the engine's 5e-5 because in practice the
// preprocessing is bit-exact (see image_preprocess_test) and any real drift should be seen, not absorbed.
constexpr double kEmbeddingTolerance = 5e-5;
constexpr double kProbabilityTolerance = 1e-3;

class EngineGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineGolden, DecodedImagesAndTokenizedTextsMatchOracle) {
    const std::string name = GetParam();
    EngineOptions options;
    options.model_dir = testing::fixture("models/" + name);
    options.max_batch = 5;
    options.backend = "cpu";
    auto engine = ClipEngine::open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    auto expected_json =
        nlohmann::json::parse(read_file(testing::fixture("models/" + name + "/expected.json")).value());
    auto expected = SafetensorsFile::open(testing::fixture("models/" + name + "/expected.safetensors"));
    ASSERT_TRUE(expected.ok());
    const int e = (*engine)->embed_dim();

    // Texts through our tokenizer: the ids must be the oracle's, then the embeddings.
    const auto texts = expected_json.at("texts").get<std::vector<std::string>>();
    const auto golden_ids = expected->read_i64("text_ids").value();
    std::vector<std::vector<std::int32_t>> ids;
    for (std::size_t t = 0; t < texts.size(); ++t) {
        ids.push_back((*engine)->tokenize(texts[t]).ids);
        for (std::size_t i = 0; i < 77; ++i) {
            const std::int64_t want = golden_ids[t * 77 + i];
            const std::int64_t got = i < ids[t].size() ? ids[t][i] : 0;
            ASSERT_EQ(got, want) << "text " << t << " '" << texts[t] << "' differs at token " << i;
        }
    }
    auto text_encoder = (*engine)->create_text_encoder();
    ASSERT_TRUE(text_encoder.ok()) << text_encoder.status().to_string();
    auto text_embeds = embed_texts(**text_encoder, ids, e, true);
    ASSERT_TRUE(text_embeds.ok()) << text_embeds.status().to_string();
    testing::expect_close(name + " text embeddings via tokenizer", *text_embeds,
                          expected->read_f32("text_embeds_normalized").value(), static_cast<std::size_t>(e),
                          kEmbeddingTolerance);

    // Images through our decoder and preprocessing.
    std::vector<PreparedImage> images;
    for (const auto& file : expected_json.at("images").get<std::vector<std::string>>()) {
        auto bytes = read_file(testing::fixture("images/" + file));
        ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
        auto prepared =
            (*engine)->prepare_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
        ASSERT_TRUE(prepared.ok()) << file << ": " << prepared.status().to_string();
        images.push_back(std::move(prepared).value());
    }
    auto image_encoder = (*engine)->create_image_encoder();
    ASSERT_TRUE(image_encoder.ok()) << image_encoder.status().to_string();
    auto image_embeds = embed_images(**image_encoder, images, e, true);
    ASSERT_TRUE(image_embeds.ok()) << image_embeds.status().to_string();
    testing::expect_close(name + " image embeddings via decoder", *image_embeds,
                          expected->read_f32("image_embeds_normalized").value(), static_cast<std::size_t>(e),
                          kEmbeddingTolerance);

    std::vector<float> probs;
    for (std::size_t i = 0; i < images.size(); ++i) {
        const auto cos = cosine_similarities(
            std::span<const float>(*image_embeds).subspan(i * static_cast<std::size_t>(e), static_cast<std::size_t>(e)),
            *text_embeds, e);
        const auto p = scaled_softmax(cos, kDefaultLogitScale);
        probs.insert(probs.end(), p.begin(), p.end());
    }
    testing::expect_close(name + " probabilities end to end", probs, expected->read_f32("probs_scale100").value(),
                          texts.size(), kProbabilityTolerance);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EngineGolden,
                         ::testing::Values("tiny-openai", "tiny-hf", "tiny-openclip-gelu-p16", "tiny-openai-resnet"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                             return testing::fixture_test_name(param_info.param);
                         });

TEST(ZeroShot, RankingTopKAndThreshold) {
    const std::vector<float> cos = {0.21f, 0.26f, 0.20f, 0.26f};
    auto all = rank_labels(cos, 100.0f, 10, 0.0f);
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].index, 1);  // tie with index 3: prompt order kept
    EXPECT_EQ(all[1].index, 3);
    EXPECT_EQ(all[0].rank, 1);
    EXPECT_EQ(all[3].rank, 4);
    double sum = 0;
    for (const auto& r : all)
        sum += static_cast<double>(r.score);
    EXPECT_NEAR(sum, 1.0, 1e-6);
    EXPECT_EQ(rank_labels(cos, 100.0f, 1, 0.0f).size(), 1u);
    auto above = rank_labels(cos, 100.0f, 10, 0.3f);
    EXPECT_EQ(above.size(), 2u);  // the two tied at ~0.4966
    // Stable at any scale: huge logits must not overflow.
    auto p = scaled_softmax(std::vector<float>{1.0f, -1.0f}, 1e6f);
    EXPECT_EQ(p[0], 1.0f);
    EXPECT_EQ(p[1], 0.0f);
}

}  // namespace
}  // namespace hclip
