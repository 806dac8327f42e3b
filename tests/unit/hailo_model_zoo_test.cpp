// The Model Zoo table (hailo_model_zoo.h) and the start-up check that names the zoo HEF whose shapes a wrong HEF
// has. The HEFs are played by a fake NPU device that only reports tensor shapes: nothing runs.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "backends/hailo/hailo_backend.h"
#include "backends/hailo/hailo_model_zoo.h"
#include "backends/hailo/npu_session.h"
#include "backends/hailo/support_files.h"
#include "model/clip_model.h"
#include "support/fixtures.h"

namespace hclip::hailo {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(HailoModelZoo, TableHasTheClipFamilyForTheH10) {
    std::set<std::string> names;
    for (const ZooHef& h : model_zoo_hefs())
        names.insert(h.name);
    for (const char* family :
         {"clip_vit_b_32", "clip_vit_b_16", "clip_vit_l_14_laion2B", "clip_resnet_50", "clip_resnet_50x4"}) {
        EXPECT_TRUE(names.count(std::string(family) + "_image_encoder")) << family;
        EXPECT_TRUE(names.count(std::string(family) + "_text_encoder")) << family;
    }
    EXPECT_EQ(names.size(), model_zoo_hefs().size()) << "names are unique";
    const ZooHef* b32 = find_zoo_hef("clip_vit_b_32_image_encoder");
    ASSERT_NE(b32, nullptr);
    EXPECT_EQ(b32->output_features, 512);
    EXPECT_DOUBLE_EQ(b32->fps_batch1, 71.8);
    const ZooHef* rn50x4 = find_zoo_hef("clip_resnet_50x4_image_encoder");
    ASSERT_NE(rn50x4, nullptr);
    EXPECT_EQ(rn50x4->input_height, 288);
    EXPECT_EQ(find_zoo_hef("clip_text_encoder_vit_b_32"), nullptr) << "not the zoo's name";
    // Image and text encoders of one family agree on the embedding width only through the text projection, but
    // every text encoder keeps 77 positions.
    for (const ZooHef& h : model_zoo_hefs()) {
        if (h.kind == EncoderKind::kText) {
            EXPECT_EQ(h.input_width, 77) << h.name;
        }
    }
}

TEST(HailoModelZoo, UrlIsTheOneHailoAppsBuilds) {
    EXPECT_EQ(zoo_hef_url("clip_vit_b_32_image_encoder"),
              "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/v5.2.0/hailo10h/"
              "clip_vit_b_32_image_encoder.hef");
}

// A device whose HEFs have the shapes given per file name; configuring succeeds, running is never asked for.
class ShapeOnlyModel final : public NpuModel {
  public:
    ShapeOnlyModel(std::vector<NpuTensorInfo> in, std::vector<NpuTensorInfo> out)
        : in_(std::move(in)), out_(std::move(out)) {}
    const std::vector<NpuTensorInfo>& inputs() const override { return in_; }
    const std::vector<NpuTensorInfo>& outputs() const override { return out_; }
    NpuStatus run(std::span<const std::uint8_t>, std::span<float>, std::chrono::milliseconds) override {
        return {6, "this fake device only reports shapes"};
    }

  private:
    std::vector<NpuTensorInfo> in_, out_;
};

NpuTensorInfo tensor(std::vector<std::size_t> shape, HostFormat f) {
    std::size_t n = f == HostFormat::kFloat32 ? 4 : 1;
    for (std::size_t d : shape)
        n *= d;
    return {"t", shape, f, n};
}

struct Shapes {
    std::vector<std::size_t> in, out;
};

class ShapeOnlyDevice final : public NpuDevice {
  public:
    explicit ShapeOnlyDevice(std::map<std::string, Shapes> hefs) : hefs_(std::move(hefs)) {}
    NpuStatus open_model(const std::string& hef, const NpuModelRequest& r, std::unique_ptr<NpuModel>& out) override {
        const Shapes& s = hefs_.at(fs::path(hef).filename().string());
        out =
            std::make_unique<ShapeOnlyModel>(std::vector{tensor(s.in, r.input)}, std::vector{tensor(s.out, r.output)});
        return {};
    }
    std::string description() const override { return "shapes only"; }
    bool emulated() const override { return true; }

  private:
    std::map<std::string, Shapes> hefs_;
};

Status start_with(std::map<std::string, Shapes> hefs, bool text_on_npu) {
    const std::string model_dir = testing::fixture("models/tiny-openai");  // 224 px, text width 128, embed 48
    auto model = ClipModel::load(model_dir).value();
    const fs::path dir = fs::temp_directory_path() /
                         ("hclip-zoo-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    auto plain = ClipModel::load(model_dir, {.pack_weights = false});
    EXPECT_TRUE(write_text_support_files(**plain, dir.string()).ok());
    HailoBackendOptions o;
    o.image_hef = (dir / "image.hef").string();
    o.text_hef = (dir / "text.hef").string();
    o.token_embedding_lut = (dir / kLutFileName).string();
    o.text_projection = (dir / kProjectionFileName).string();
    o.text_on_npu = text_on_npu;
    NpuDeviceFactory factory = [&](const NpuDeviceOptions&, std::unique_ptr<NpuDevice>& d) {
        d = std::make_unique<ShapeOnlyDevice>(hefs);
        return NpuStatus{};
    };
    Status s = HailoBackend::start(o, model, factory).status();
    fs::remove_all(dir);
    return s;
}

TEST(HailoHefShapes, MatchingShapesStart) {
    EXPECT_TRUE(
        start_with({{"image.hef", {{224, 224, 3}, {1, 1, 48}}}, {"text.hef", {{1, 77, 128}, {1, 77, 128}}}}, true)
            .ok());
}

TEST(HailoHefShapes, ImageHefOfAnotherModelIsNamed) {
    const Status s = start_with({{"image.hef", {{224, 224, 3}, {1, 1, 768}}}}, false);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(has(s.message(), "1x1x768 float32")) << s.message();
    EXPECT_TRUE(has(s.message(), "the embeddings of the checkpoint in " + testing::fixture("models/tiny-openai") +
                                     " are 48 float32"))
        << s.message();
    EXPECT_TRUE(has(s.message(),
                    "clip_vit_l_14_laion2B_image_encoder, compiled from "
                    "laion/CLIP-ViT-L-14-laion2B-s32B-b82K"))
        << s.message();
}

TEST(HailoHefShapes, ImageInputSizeMismatchIsNamed) {
    const Status s = start_with({{"image.hef", {{288, 288, 3}, {1, 1, 640}}}}, false);
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(has(s.message(), "288x288x3 uint8")) << s.message();
    EXPECT_TRUE(has(s.message(), "takes 224x224x3 uint8 RGB")) << s.message();
    EXPECT_TRUE(has(s.message(), "clip_resnet_50x4_image_encoder")) << s.message();
}

TEST(HailoHefShapes, TextHefOfAnotherModelIsNamed) {
    const Status s =
        start_with({{"image.hef", {{224, 224, 3}, {1, 1, 48}}}, {"text.hef", {{1, 77, 640}, {1, 77, 640}}}}, true);
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(has(s.message(), "1x77x640 float32")) << s.message();
    EXPECT_TRUE(has(s.message(), "clip_resnet_50x4_text_encoder")) << s.message();
}

TEST(HailoHefShapes, UnknownShapesNameNoZooModel) {
    const Status s = start_with({{"image.hef", {{224, 224, 3}, {1, 1, 100}}}}, false);
    ASSERT_FALSE(s.ok());
    EXPECT_FALSE(has(s.message(), "Model Zoo")) << s.message();
}

}  // namespace
}  // namespace hclip::hailo
