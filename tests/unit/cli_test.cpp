// The hailo-clip binary as a script would use it: JSON on stdout, errors on stderr, exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/mapped_file.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "support/run_cli.h"

namespace hclip {
namespace {

using testing::CliRun;
using testing::run_cli;

const std::string kModel = testing::fixture("models/tiny-openai");

TEST(Cli, VersionPrintsTheProjectVersion) {
    CliRun r = run_cli({"--version"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, std::string("hailo-clip ") + HCLIP_VERSION + "\n");
}

TEST(Cli, TokenizePrintsPublishedIds) {
    CliRun r = run_cli({"tokenize", "a photo of a cat", "Hello World!"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tokens"][0]["ids"], (std::vector<int>{49406, 320, 1125, 539, 320, 2368, 49407}));
    EXPECT_EQ(j["tokens"][1]["ids"], (std::vector<int>{49406, 3306, 1002, 256, 49407}));
    EXPECT_EQ(j["tokens"][0]["truncated"], false);
}

TEST(Cli, ClassifyMatchesGoldenProbabilitiesInApiShape) {
    // CLIP.png against texts 5..7 of the fixture ("a diagram", "a dog", "a cat").
    CliRun r = run_cli({"classify", "--model-dir", kModel, "--image", testing::fixture("images/CLIP.png"), "--prompt",
                        "a diagram", "--prompt", "a dog", "--prompt", "a cat", "--top-k", "3", "--model-name",
                        "clip-vit-b-32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["classifications"].size(), 3u);
    EXPECT_EQ(j["model"], "clip-vit-b-32");
    EXPECT_TRUE(j["inference_time_ms"].is_number());

    // The oracle: cosines of image 0 with texts 5, 6, 7 -> softmax(100 x cosine) over these three prompts.
    auto expected = SafetensorsFile::open(testing::fixture("models/tiny-openai/expected.safetensors"));
    ASSERT_TRUE(expected.ok());
    const auto cosine = expected->read_f32("cosine").value();
    std::map<std::string, double> want_cos = {{"a diagram", cosine[5]}, {"a dog", cosine[6]}, {"a cat", cosine[7]}};
    double mx = -1e9, sum = 0;
    for (auto& [k, v] : want_cos)
        mx = std::max(mx, v);
    for (auto& [k, v] : want_cos)
        sum += std::exp(100.0 * (v - mx));
    double previous = 2.0;
    int rank = 1;
    for (const auto& c : j["classifications"]) {
        const std::string text = c["text"];
        const double want = std::exp(100.0 * (want_cos[text] - mx)) / sum;
        EXPECT_NEAR(c["score"].get<double>(), want, 1e-3) << text;
        EXPECT_NEAR(c["similarity"].get<double>(), want_cos[text], 5e-5) << text;
        EXPECT_EQ(c["rank"], rank++);
        EXPECT_LE(c["score"].get<double>(), previous);
        previous = c["score"].get<double>();
    }
}

TEST(Cli, EmbedTextAndImageAreUnitVectorsMatchingGolden) {
    CliRun r = run_cli({"embed-text", "--model-dir", kModel, "a photo of a cat"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["dimension"], 48);
    const auto got = j["embeddings"][0]["embedding"].get<std::vector<float>>();
    auto expected = SafetensorsFile::open(testing::fixture("models/tiny-openai/expected.safetensors"));
    const auto want = expected->read_f32("text_embeds_normalized").value();  // text 1 is "a photo of a cat"
    ASSERT_EQ(got.size(), 48u);
    for (std::size_t i = 0; i < 48; ++i)
        EXPECT_NEAR(got[i], want[48 + i], 5e-5);

    r = run_cli({"embed-image", "--model-dir", kModel, testing::fixture("images/CLIP.png")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    j = nlohmann::json::parse(r.out);
    const auto img = j["embeddings"][0]["embedding"].get<std::vector<float>>();
    const auto want_img = expected->read_f32("image_embeds_normalized").value();  // image 0 is CLIP.png
    for (std::size_t i = 0; i < 48; ++i)
        EXPECT_NEAR(img[i], want_img[i], 5e-5);
}

TEST(Cli, FailuresGoToStderrWithNonZeroExit) {
    CliRun r = run_cli({"classify", "--model-dir", "/nonexistent/model", "--image", "x.jpg", "--prompt", "a"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(r.out.empty());
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;

    r = run_cli({"embed-image", "--model-dir", kModel, testing::fixture("README.md")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("README.md"), std::string::npos) << r.err;

    r = run_cli({"classify", "--model-dir", kModel, "--image", testing::fixture("images/CLIP.png")});
    EXPECT_EQ(r.exit_code, 2) << "missing --prompt is a usage error";
    r = run_cli({"frobnicate"});
    EXPECT_EQ(r.exit_code, 2);
    r = run_cli({"classify", "--model-dir", kModel, "--image", "x", "--prompt", "a", "--top-k", "0"});
    EXPECT_EQ(r.exit_code, 2);
    r = run_cli({"classify", "--model-dir", kModel, "--image", "x", "--prompt", "a", "--threshold", "1.5"});
    EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, ResNetModelClassifies) {
    CliRun r = run_cli({"classify", "--model-dir", testing::fixture("models/tiny-openai-resnet"), "--image",
                        testing::fixture("images/chelsea.png"), "--prompt", "a cat", "--prompt", "a dog"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("a cat"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace hclip

namespace hclip {
namespace {

// --config FILE: the model commands use the service's model directory and name.
TEST(Cli, ConfigFileSelectsTheServiceModel) {
    const std::string config = ::testing::TempDir() + "hclip_cli_config.yaml";
    {
        std::ofstream out(config);
        out << "clip:\n  model: tiny-from-config\n  model_dir: " << kModel << "\n  embedding_dimension: 48\n";
    }
    CliRun r = run_cli({"embed-text", "--config", config, "a photo of a cat"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["model"], "tiny-from-config");
    EXPECT_EQ(j["dimension"], 48);
    r = run_cli({"embed-text", "--config", "/nonexistent/hailo-clip.yaml", "a"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("/nonexistent/hailo-clip.yaml"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hclip
