// Broken model directories must give a clear Status naming the problem, never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/mapped_file.h"
#include "io/safetensors.h"
#include "model/clip_model.h"
#include "support/fixtures.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;

class MalformedModel : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("hclip_malformed_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Rewrites the tiny-openai weights into dir_, letting `edit` drop or reshape tensors.
    void write_edited(const std::function<void(std::vector<TensorToWrite>&)>& edit) {
        auto st = SafetensorsFile::open(testing::fixture("models/tiny-openai/model.safetensors"));
        ASSERT_TRUE(st.ok()) << st.status().to_string();
        for (const auto& t : st->tensors())
            storage_.push_back(st->read_f32(t.name).value());
        std::vector<TensorToWrite> tensors;
        for (std::size_t i = 0; i < st->tensors().size(); ++i) {
            tensors.push_back({st->tensors()[i].name, st->tensors()[i].shape, storage_[i]});
        }
        edit(tensors);
        ASSERT_TRUE(write_safetensors((dir_ / "model.safetensors").string(), tensors).ok());
    }

    Status load_status() { return ClipModel::load(dir_.string()).status(); }

    fs::path dir_;
    std::vector<std::vector<float>> storage_;
};

TEST_F(MalformedModel, MissingDirectoryAndMissingWeights) {
    auto s = ClipModel::load((dir_ / "nope").string()).status();
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    s = load_status();  // empty directory
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_NE(s.message().find("model.safetensors"), std::string::npos) << s.message();
}

TEST_F(MalformedModel, TruncatedFile) {
    auto bytes = read_file(testing::fixture("models/tiny-openai/model.safetensors"));
    ASSERT_TRUE(bytes.ok());
    std::ofstream(dir_ / "model.safetensors", std::ios::binary).write(bytes->data(), 100000);
    auto s = load_status();
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.to_string();
    EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
}

TEST_F(MalformedModel, WrongHeader) {
    std::ofstream(dir_ / "model.safetensors", std::ios::binary) << "this is not a safetensors file at all";
    EXPECT_EQ(load_status().code(), StatusCode::kDataLoss);
}

TEST_F(MalformedModel, MissingTensorIsNamed) {
    write_edited([](std::vector<TensorToWrite>& t) {
        std::erase_if(t, [](const TensorToWrite& x) { return x.name == "transformer.resblocks.1.mlp.c_fc.bias"; });
    });
    auto s = load_status();
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.to_string();
    EXPECT_NE(s.message().find("transformer.resblocks.1.mlp.c_fc.bias"), std::string::npos) << s.message();
}

TEST_F(MalformedModel, ShapeThatDisagreesWithArchitectureIsNamed) {
    write_edited([](std::vector<TensorToWrite>& t) {
        for (auto& x : t) {
            if (x.name == "visual.transformer.resblocks.0.attn.out_proj.weight") {
                x.shape = {96, 384};  // same element count, wrong shape
            }
        }
    });
    auto s = load_status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
    EXPECT_NE(s.message().find("out_proj.weight"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("[96, 384]"), std::string::npos) << s.message();
}

TEST_F(MalformedModel, NotAClipCheckpoint) {
    write_edited([](std::vector<TensorToWrite>& t) {
        std::erase_if(t, [](const TensorToWrite& x) { return x.name == "visual.conv1.weight"; });
    });
    EXPECT_EQ(load_status().code(), StatusCode::kInvalidArgument);
}

TEST_F(MalformedModel, ConfigThatContradictsTensors) {
    write_edited([](std::vector<TensorToWrite>&) {});
    std::ofstream(dir_ / "open_clip_config.json")
        << R"({"model_cfg": {"embed_dim": 512, "vision_cfg": {"width": 192}}})";
    auto s = load_status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
    EXPECT_NE(s.message().find("embed_dim"), std::string::npos) << s.message();
}

// head_width 0 used to divide by zero (SIGFPE); a head width that does not divide the width would truncate.
TEST_F(MalformedModel, OpenClipHeadWidthThatIsNotAPositiveDivisorIsRefused) {
    write_edited([](std::vector<TensorToWrite>&) {});
    for (const char* head_width : {"0", "-8", "7"}) {
        std::ofstream(dir_ / "open_clip_config.json")
            << R"({"model_cfg": {"vision_cfg": {"head_width": )" << head_width << "}}}";
        auto s = load_status();
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << head_width << ": " << s.to_string();
        EXPECT_NE(s.message().find("head_width is " + std::string(head_width)), std::string::npos) << s.message();
    }
}

TEST_F(MalformedModel, HuggingFaceCheckpointWithoutConfig) {
    fs::copy_file(testing::fixture("models/tiny-hf/model.safetensors"), dir_ / "model.safetensors");
    auto s = load_status();
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_NE(s.message().find("config.json"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace hclip
