// ResNet CLIP (OpenAI's ModifiedResNet) beyond the golden fixture test in model_golden_test and engine_golden_test:
// the OpenCLIP Hub layout, malformed checkpoints, the geometries of the published models, and mutants of the
// tower that the golden test must catch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "core/mapped_file.h"
#include "engine/zero_shot.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "io/safetensors.h"
#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/packed_conv.h"
#include "kernels/packed_gemm.h"
#include "kernels/pooling.h"
#include "model/clip_model.h"
#include "model/image_tower.h"
#include "model/text_tower.h"
#include "random_checkpoint.h"
#include "support/fixtures.h"
#include "support/golden.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;

constexpr double kEmbeddingTolerance = 5e-5;  // fixtures README: float32 engine acceptance
const char* const kFixture = "models/tiny-openai-resnet";

struct Oracle {
    std::vector<std::string> images;
    std::vector<float> pixels, image_normalized, text_normalized;
    std::vector<std::vector<std::int32_t>> ids;
};

Oracle load_oracle() {
    Oracle o;
    auto expected = SafetensorsFile::open(testing::fixture(std::string(kFixture) + "/expected.safetensors"));
    EXPECT_TRUE(expected.ok()) << expected.status().to_string();
    if (!expected.ok()) return o;
    auto json = nlohmann::json::parse(read_file(testing::fixture(std::string(kFixture) + "/expected.json")).value());
    o.images = json.at("images").get<std::vector<std::string>>();
    o.pixels = expected->read_f32("pixel_values").value();
    o.image_normalized = expected->read_f32("image_embeds_normalized").value();
    o.text_normalized = expected->read_f32("text_embeds_normalized").value();
    const auto flat = expected->read_i64("text_ids").value();
    for (std::size_t t = 0; t < flat.size() / 77; ++t) {
        o.ids.emplace_back();
        for (std::size_t i = 0; i < 77; ++i)
            o.ids.back().push_back(static_cast<std::int32_t>(flat[t * 77 + i]));
    }
    return o;
}

void normalize_rows(std::vector<float>& m, int dim) {
    for (std::size_t r = 0; r < m.size() / static_cast<std::size_t>(dim); ++r)
        l2_normalize(std::span<float>(m).subspan(r * static_cast<std::size_t>(dim), static_cast<std::size_t>(dim)));
}

std::vector<float> normalized_image_embeddings(const std::shared_ptr<const ClipModel>& model,
                                               std::span<const float> pixels, int n) {
    const int e = model->config().embed_dim;
    auto tower = make_image_tower(model, 4);
    std::vector<float> out(static_cast<std::size_t>(n * e));
    const Status s = tower->encode(pixels, n, out);
    EXPECT_TRUE(s.ok()) << s.to_string();
    normalize_rows(out, e);
    return out;
}

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("hclip_resnet_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// Rewrites the fixture's F32 tensors into `path` (num_batches_tracked, an I64 counter nothing reads, is left out),
// after `edit` may change or drop each one.
using TensorEdit = std::function<bool(const std::string& name, std::vector<float>& values)>;  // false: drop it
void rewrite_fixture(const fs::path& path, const TensorEdit& edit = {}) {
    auto src = SafetensorsFile::open(testing::fixture(std::string(kFixture) + "/model.safetensors"));
    ASSERT_TRUE(src.ok()) << src.status().to_string();
    std::vector<std::vector<float>> data;
    std::vector<TensorView> kept;
    for (const TensorView& t : src->tensors()) {
        if (t.dtype != DType::kF32) continue;
        auto values = src->read_f32(t.name);
        ASSERT_TRUE(values.ok());
        if (edit && !edit(t.name, *values)) continue;
        data.push_back(std::move(values).value());
        kept.push_back(t);
    }
    std::vector<TensorToWrite> out;
    for (std::size_t i = 0; i < kept.size(); ++i)
        out.push_back({kept[i].name, kept[i].shape, data[i]});
    ASSERT_TRUE(write_safetensors(path.string(), out).ok());
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// OpenCLIP's open_clip_config.json for the fixture's architecture, as the Hub repositories of the OpenAI ResNet
// weights carry it; `layers` and `image_size` can be made to contradict the tensors.
void write_open_clip_config(const fs::path& dir, const std::string& layers = "[1, 1, 1, 1]", int image_size = 96) {
    std::ofstream(dir / "open_clip_config.json")
        << R"({"model_cfg": {"embed_dim": 48, "quick_gelu": true, "vision_cfg": {"image_size": )" << image_size
        << R"(, "layers": )" << layers
        << R"(, "width": 16, "patch_size": null}, "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 128,)"
        << R"( "heads": 2, "layers": 2}}, "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],)"
        << R"( "std": [0.26862954, 0.26130258, 0.27577711]}})";
}

TEST(ResNetLayouts, OpenClipHubCopyGivesTheSameResults) {
    const Oracle o = load_oracle();
    const int n = static_cast<int>(o.images.size());
    auto openai = ClipModel::load(testing::fixture(kFixture));
    ASSERT_TRUE(openai.ok()) << openai.status().to_string();

    const fs::path dir = fresh_dir("openclip");
    rewrite_fixture(dir / "open_clip_model.safetensors");
    write_open_clip_config(dir);
    auto openclip = ClipModel::load(dir.string());
    ASSERT_TRUE(openclip.ok()) << openclip.status().to_string();
    EXPECT_EQ((*openclip)->config().vision.kind, VisionKind::kResNet);
    EXPECT_EQ((*openclip)->config().vision.heads, 8);

    const auto from_openai = normalized_image_embeddings(*openai, o.pixels, n);
    const auto from_openclip = normalized_image_embeddings(*openclip, o.pixels, n);
    testing::expect_close("OpenCLIP layout image embeddings", from_openclip, o.image_normalized, 48,
                          kEmbeddingTolerance);
    EXPECT_EQ(from_openclip, from_openai) << "the same weights must give bit-identical embeddings";

    TextTower text(*openclip, 8);
    std::vector<float> t(o.ids.size() * 48u);
    ASSERT_TRUE(text.encode(o.ids, t).ok());
    normalize_rows(t, 48);
    testing::expect_close("OpenCLIP layout text embeddings", t, o.text_normalized, 48, kEmbeddingTolerance);
    fs::remove_all(dir);
}

// Under clip.compute bf16 a convolution whose output goes straight into another bf16 direct convolution writes bf16
// for it (no rounding pass, half the traffic); a residual sum, a pooled output and the tower's float32 readers keep
// float32. The criterion tests (model_half_weights_test) hold the results to bf16 products' criterion.
TEST(ResNetBf16, ConvolutionsHandBf16ToTheirDirectReaders) {
    if (!packed_conv_available()) GTEST_SKIP() << "this build has no direct convolution";
    if (Status s = packed_bf16_support(); !s.ok()) GTEST_SKIP() << "no bf16 products here: " << s.message();
    auto model = ClipModel::load(testing::fixture("models/tiny-openai-resnet"), {.compute = ComputePrecision::kBf16});
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const ResNetWeights& r = (*model)->resnet();
    const auto writes_bf16 = [](const FoldedConv& c) { return c.direct != nullptr && c.direct->spec().bf16_output; };
    const auto reads_bf16 = [](const FoldedConv& c) {
        return c.direct != nullptr && c.direct->spec().type == PackedType::kBf16;
    };
    int handed = 0;
    EXPECT_EQ(writes_bf16(r.stem[0]), reads_bf16(r.stem[1]));
    EXPECT_EQ(writes_bf16(r.stem[1]), reads_bf16(r.stem[2]));
    EXPECT_FALSE(writes_bf16(r.stem[2])) << "the stem's average pooling reads float32";
    handed += writes_bf16(r.stem[0]) + writes_bf16(r.stem[1]);
    for (const BottleneckWeights& b : r.blocks) {
        EXPECT_EQ(writes_bf16(b.conv1), reads_bf16(b.conv2));
        EXPECT_EQ(writes_bf16(b.conv2), b.stride == 1 && reads_bf16(b.conv3)) << "stride " << b.stride;
        EXPECT_FALSE(writes_bf16(b.conv3)) << "a block's output is a float32 residual sum";
        EXPECT_FALSE(writes_bf16(b.downsample));
        handed += writes_bf16(b.conv1) + writes_bf16(b.conv2);
    }
    EXPECT_GT(handed, 0);
}

TEST(ResNetMalformed, TruncatedFileIsDataLoss) {
    const fs::path dir = fresh_dir("truncated");
    auto bytes = read_file(testing::fixture(std::string(kFixture) + "/model.safetensors"));
    ASSERT_TRUE(bytes.ok());
    std::ofstream(dir / "model.safetensors", std::ios::binary)
        .write(bytes->data(), static_cast<std::streamsize>(bytes->size() / 2));
    auto r = ClipModel::load(dir.string());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().to_string();
    fs::remove_all(dir);
}

TEST(ResNetMalformed, MissingBatchNormStatisticIsNamed) {
    const fs::path dir = fresh_dir("missing_bn");
    rewrite_fixture(dir / "model.safetensors", [](const std::string& name, std::vector<float>&) {
        return name != "visual.layer2.0.bn2.running_var";
    });
    auto r = ClipModel::load(dir.string());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_NE(r.status().message().find("'visual.layer2.0.bn2.running_var'"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("BatchNorm"), std::string::npos) << r.status().message();
    fs::remove_all(dir);
}

TEST(ResNetMalformed, ConfigContradictingTheTensorsIsRefused) {
    const fs::path dir = fresh_dir("contradiction");
    rewrite_fixture(dir / "open_clip_model.safetensors");
    write_open_clip_config(dir, "[1, 2, 1, 1]");
    auto layers = ClipModel::load(dir.string());
    ASSERT_FALSE(layers.ok());
    EXPECT_EQ(layers.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(layers.status().message().find("vision_cfg.layers[1] = 2"), std::string::npos)
        << layers.status().message();

    write_open_clip_config(dir, "[1, 1, 1, 1]", 224);
    auto size = ClipModel::load(dir.string());
    ASSERT_FALSE(size.ok());
    EXPECT_NE(size.status().message().find("image_size = 224 but the checkpoint's tensors give 96"), std::string::npos)
        << size.status().message();
    fs::remove_all(dir);
}

// The published geometries, with their real depths and resolutions; the width is cut to 8 (attention pool 256
// wide, 4 heads) and the text tower to one small layer so the test stays fast.
struct ResNetCase {
    const char* name;
    std::array<int, 4> layers;
    int image_size;
};

class ResNetGeometry : public ::testing::TestWithParam<ResNetCase> {};

TEST_P(ResNetGeometry, LoadsInfersArchitectureAndRuns) {
    const ResNetCase& g = GetParam();
    namespace rc = random_checkpoint;
    const fs::path dir = fresh_dir(std::string("geometry_") + g.name);
    rc::Writer w(5);
    rc::add_resnet_vision(w, {.width = 8, .layers = g.layers, .image_size = g.image_size}, 32);
    rc::add_text(w, {.width = 64, .layers = 1}, 32);
    ASSERT_TRUE(w.write((dir / "model.safetensors").string()).ok());

    auto model = ClipModel::load(dir.string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const VisionConfig& v = (*model)->config().vision;
    EXPECT_EQ(v.kind, VisionKind::kResNet);
    EXPECT_EQ(v.resnet.stage_layers, g.layers);
    EXPECT_EQ(v.image_size, g.image_size);
    EXPECT_EQ(v.width, 8);
    EXPECT_EQ(v.heads, 4);
    EXPECT_EQ((*model)->config().embed_dim, 32);

    // Two images in one batch equal the images one by one; outputs finite.
    const std::size_t per = 3u * static_cast<std::size_t>(g.image_size * g.image_size);
    std::vector<float> pixels(2 * per);
    for (std::size_t i = 0; i < pixels.size(); ++i)
        pixels[i] = std::sin(static_cast<float>(i) * 0.001f) * 1.5f;
    auto tower = make_image_tower(*model, 2);
    std::vector<float> both(64), one(32);
    ASSERT_TRUE(tower->encode(pixels, 2, both).ok());
    ASSERT_TRUE(tower->encode(std::span<const float>(pixels).subspan(per, per), 1, one).ok());
    for (std::size_t i = 0; i < one.size(); ++i) {
        ASSERT_TRUE(std::isfinite(both[i]));
        // The GEMMs see 2 images' rows or 1: the summation order may differ, not the result. Relative, since
        // these raw outputs reach about 80 in the deepest geometry: there an absolute 1e-4 is 1.2e-6 relative, a
        // few float32 steps, and on an AVX2 CPU (oneDNN's AVX2 kernels, whose row blocking puts a row in
        // another block in a batch of two) rn50x64's 56 blocks moved a value by 1.4e-4 (1.7e-6 relative).
        EXPECT_NEAR(both[32 + i], one[i], 1e-5f * std::max(1.0f, std::fabs(one[i])));
    }
    fs::remove_all(dir);
}

const ResNetCase kResNets[] = {
    {"rn50", {3, 4, 6, 3}, 224},     {"rn101", {3, 4, 23, 3}, 224},     {"rn50x4", {4, 6, 10, 6}, 288},
    {"rn50x16", {6, 8, 18, 8}, 384}, {"rn50x64", {3, 15, 36, 10}, 448},
};

INSTANTIATE_TEST_SUITE_P(Published, ResNetGeometry, ::testing::ValuesIn(kResNets),
                         [](const ::testing::TestParamInfo<ResNetCase>& param_info) {
                             return std::string(param_info.param.name);
                         });

// ---- Mutants: what a plausible wrong implementation computes must miss the reference by more than the tolerance.
//
// The tiny-openai-resnet fixture cannot show this for the image side: its twelve oracle image embeddings are equal
// to within 1.8e-7 (a trunk whose output barely reaches the attention pool), so the oracle pins the attention
// pool's constant part and the text tower, not the convolutions. The mutants are therefore measured on a
// checkpoint written here whose embeddings do depend on the image, against a test-side tower: a second
// implementation (direct convolutions in double, written from OpenAI's clip/model.py) that itself matches the
// oracle on the fixture. Mutated towers live here, never as switches in the production tower.

struct Mutation {
    bool strided_instead_of_antialiased = false;  // torchvision-style: stride on the 3x3 and the shortcut convs
    bool all_tokens_as_queries = false;           // full self-attention over the tokens, then their mean
};

// One image through a test-side copy of the tower (NHWC, direct convolutions in double), optionally mutated.
// `m` must be loaded without packing: the test-side tower reads the plain folded weights.
std::vector<float> test_side_tower(const ClipModel& m, const float* chw, const Mutation& mu) {
    const VisionConfig& c = m.config().vision;
    const ResNetWeights& r = m.resnet();
    const int s = c.image_size;
    std::vector<float> x(static_cast<std::size_t>(s * s * 3));
    for (int i = 0; i < s * s; ++i) {
        for (int ch = 0; ch < 3; ++ch)
            x[static_cast<std::size_t>(i * 3 + ch)] = chw[ch * s * s + i];
    }
    int h = s;
    const auto conv = [&](const FoldedConv& fc, const std::vector<float>& in, int stride, bool relu) {
        Conv2dShape shape = fc.shape(h, h);
        shape.stride = stride;
        std::vector<float> out(static_cast<std::size_t>(shape.out_height() * shape.out_width() * fc.out));
        conv2d_nhwc_reference({.shape = shape,
                               .input = in.data(),
                               .weight = fc.weight.data(),
                               .bias = fc.bias.data(),
                               .relu = relu,
                               .output = out.data()});
        return out;
    };
    const auto pool = [&](const std::vector<float>& in, int channels, int k) {
        std::vector<float> out(in.size() / static_cast<std::size_t>(k * k));
        avg_pool_nhwc(in.data(), 1, h, h, channels, k, out.data());
        return out;
    };
    x = conv(r.stem[0], x, 2, true);
    h /= 2;
    x = conv(r.stem[1], x, 1, true);
    x = conv(r.stem[2], x, 1, true);
    x = pool(x, r.stem[2].out, 2);
    h /= 2;
    for (const BottleneckWeights& b : r.blocks) {
        const bool strided = mu.strided_instead_of_antialiased && b.stride > 1;
        auto y = conv(b.conv1, x, 1, true);
        y = conv(b.conv2, y, strided ? b.stride : 1, true);
        if (b.stride > 1 && !strided) y = pool(y, b.conv2.out, b.stride);
        std::vector<float> shortcut = x;
        if (b.has_downsample) {
            if (b.stride > 1 && !strided) shortcut = pool(x, b.conv1.in, b.stride);
            const int full = h;
            if (b.stride > 1 && !strided) h /= b.stride;
            shortcut = conv(b.downsample, shortcut, strided ? b.stride : 1, false);
            h = full;
        }
        h /= b.stride;
        y = conv(b.conv3, y, 1, false);
        add_relu_inplace(y.data(), shortcut.data(), y.size());
        x = std::move(y);
    }
    // Attention pool: tokens = [mean; grid] + positional embedding.
    const AttentionPoolWeights& ap = r.attnpool;
    const int cells = h * h, tokens = cells + 1, w = c.attnpool_width(), heads = c.heads, hd = w / heads;
    std::vector<float> t(static_cast<std::size_t>(tokens * w));
    mean_pool_rows(x.data(), 1, cells, w, t.data(), w);
    std::copy(x.begin(), x.end(), t.begin() + w);
    add_inplace(t.data(), ap.positional_embedding, t.size());
    const auto project = [&](const LinearWeights& l, int rows, const float* in) {
        std::vector<float> out(static_cast<std::size_t>(rows * l.out));
        gemm_f32_reference({.m = rows,
                            .n = l.out,
                            .k = l.in,
                            .a = in,
                            .lda = l.in,
                            .b = l.weight,
                            .ldb = l.in,
                            .b_transposed = true,
                            .c = out.data(),
                            .ldc = l.out});
        add_bias_rows(out.data(), l.out, rows, l.out, l.bias);
        return out;
    };
    const int queries = mu.all_tokens_as_queries ? tokens : 1;
    const auto q = project(ap.q, queries, t.data()), k = project(ap.k, tokens, t.data()),
               v = project(ap.v, tokens, t.data());
    std::vector<float> pooled(static_cast<std::size_t>(w), 0.0f), scores(static_cast<std::size_t>(tokens));
    for (int qi = 0; qi < queries; ++qi) {
        for (int hh = 0; hh < heads; ++hh) {
            for (int j = 0; j < tokens; ++j) {
                double dot = 0.0;
                for (int i = 0; i < hd; ++i)
                    dot += static_cast<double>(q[static_cast<std::size_t>(qi * w + hh * hd + i)]) *
                           static_cast<double>(k[static_cast<std::size_t>(j * w + hh * hd + i)]);
                scores[static_cast<std::size_t>(j)] = static_cast<float>(dot / std::sqrt(static_cast<double>(hd)));
            }
            softmax_rows(scores.data(), tokens, 1, tokens, false);
            for (int j = 0; j < tokens; ++j) {
                for (int i = 0; i < hd; ++i)
                    pooled[static_cast<std::size_t>(hh * hd + i)] += scores[static_cast<std::size_t>(j)] *
                                                                     v[static_cast<std::size_t>(j * w + hh * hd + i)] /
                                                                     static_cast<float>(queries);
            }
        }
    }
    return project(ap.c_proj, 1, pooled.data());
}

std::vector<float> normalized_test_side(const ClipModel& m, std::span<const float> pixels, int n,
                                        const Mutation& mu = {}) {
    const int s = m.config().vision.image_size, e = m.config().embed_dim;
    std::vector<float> out;
    for (int i = 0; i < n; ++i) {
        const auto one =
            test_side_tower(m, pixels.data() + static_cast<std::size_t>(i) * 3u * static_cast<std::size_t>(s * s), mu);
        out.insert(out.end(), one.begin(), one.end());
    }
    normalize_rows(out, e);
    return out;
}

double max_diff(std::span<const float> a, std::span<const float> b) {
    return testing::max_abs_difference(a, b).max_abs;
}

// The fixture's 96 px images through our own decoder and preprocessing at `resize_to`, centre-cropped to 96.
std::vector<float> fixture_pixels_via_decoder(const Oracle& o, const ClipConfig& c, int resize_to) {
    const int s = c.vision.image_size, off = (resize_to - s) / 2;
    std::vector<float> pixels;
    for (const auto& file : o.images) {
        auto bytes = read_file(testing::fixture("images/" + file));
        EXPECT_TRUE(bytes.ok());
        if (!bytes.ok()) return {};
        auto image = decode_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
        EXPECT_TRUE(image.ok()) << image.status().to_string();
        if (!image.ok()) return {};
        std::vector<std::uint8_t> big(static_cast<std::size_t>(resize_to * resize_to * 3)), crop;
        EXPECT_TRUE(resize_crop_to_rgb8(*image, PreprocessSpec{c.preprocess, resize_to}, big).ok());
        for (int y = 0; y < s; ++y) {
            const auto row = big.begin() + ((y + off) * resize_to + off) * 3;
            crop.insert(crop.end(), row, row + s * 3);
        }
        std::vector<float> chw(static_cast<std::size_t>(3 * s * s));
        normalize_rgb8_to_chw(crop, s, c.preprocess_spec(), chw);
        pixels.insert(pixels.end(), chw.begin(), chw.end());
    }
    return pixels;
}

// An input-sensitive checkpoint of the fixture's geometry (96 px, width 16) with two blocks in the first two
// stages, so identity shortcuts are covered too.
class SensitiveResNet : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(fresh_dir("sensitive"));
        random_checkpoint::Writer w(17);
        random_checkpoint::add_resnet_vision(w, {.width = 16, .layers = {2, 2, 1, 1}, .image_size = 96}, 48);
        random_checkpoint::add_text(w, {.width = 64, .layers = 1}, 48);
        ASSERT_TRUE(w.write((*dir_ / "model.safetensors").string()).ok());
    }
    static void TearDownTestSuite() {
        fs::remove_all(*dir_);
        delete dir_;
    }
    void SetUp() override {
        oracle_ = load_oracle();
        auto m = ClipModel::load(dir_->string());
        ASSERT_TRUE(m.ok()) << m.status().to_string();
        model_ = *m;
        auto plain = ClipModel::load(dir_->string(), {.pack_weights = false});
        ASSERT_TRUE(plain.ok()) << plain.status().to_string();
        plain_ = *plain;
        n_ = static_cast<int>(oracle_.images.size());
        reference_ = normalized_test_side(*plain_, oracle_.pixels, n_);
    }

    static fs::path* dir_;
    Oracle oracle_;
    std::shared_ptr<const ClipModel> model_;  // as the engine loads it (packed where the build packs)
    std::shared_ptr<const ClipModel> plain_;  // for the test-side tower
    int n_ = 0;
    std::vector<float> reference_;
};
fs::path* SensitiveResNet::dir_ = nullptr;

TEST(ResNetMutants, TestSideTowerMatchesOracle) {
    const Oracle o = load_oracle();
    auto model = ClipModel::load(testing::fixture(kFixture), {.pack_weights = false});
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    testing::expect_close("test-side tower", normalized_test_side(**model, o.pixels, static_cast<int>(o.images.size())),
                          o.image_normalized, 48, kEmbeddingTolerance);
}

TEST_F(SensitiveResNet, ImagesGiveDifferentEmbeddingsAndTheEngineMatchesTheReference) {
    // The checkpoint is sensitive to its input (else nothing below could fail): two images differ clearly.
    EXPECT_GT(
        max_diff(std::span<const float>(reference_).first(48), std::span<const float>(reference_).subspan(48, 48)),
        1e-2);
    testing::expect_close("engine vs test-side tower", normalized_image_embeddings(model_, oracle_.pixels, n_),
                          reference_, 48, kEmbeddingTolerance);
}

TEST_F(SensitiveResNet, StridedConvolutionInsteadOfAntiAliasingIsCaught) {
    const double d = max_diff(
        normalized_test_side(*plain_, oracle_.pixels, n_, {.strided_instead_of_antialiased = true}), reference_);
    std::cout << "  anti-aliasing pool skipped: max |diff| " << d << "\n";
    EXPECT_GT(d, kEmbeddingTolerance);
}

TEST_F(SensitiveResNet, AllTokensAsQueriesIsCaught) {
    const double d =
        max_diff(normalized_test_side(*plain_, oracle_.pixels, n_, {.all_tokens_as_queries = true}), reference_);
    std::cout << "  attention pool over all tokens: max |diff| " << d << "\n";
    EXPECT_GT(d, kEmbeddingTolerance);
}

// Preprocessing for another resolution (short side to 112, then the model's 96 px centre crop) instead of the
// model's own, through our decoder as the engine would; the right resolution through the same path matches.
TEST_F(SensitiveResNet, WrongResolutionIsCaught) {
    const ClipConfig& c = model_->config();
    const auto right = normalized_image_embeddings(model_, fixture_pixels_via_decoder(oracle_, c, 96), n_);
    testing::expect_close("decoder at 96 px vs the oracle's pixel_values", right, reference_, 48, kEmbeddingTolerance);
    const double d =
        max_diff(normalized_image_embeddings(model_, fixture_pixels_via_decoder(oracle_, c, 112), n_), reference_);
    std::cout << "  wrong resolution: max |diff| " << d << "\n";
    EXPECT_GT(d, kEmbeddingTolerance);
}

// BatchNorm left out = every BatchNorm the identity (gamma 1, beta 0, mean 0, var 1 - eps): the engine on that
// copy computes what an engine ignoring BatchNorm computes on the original. The fixture's oracle catches it.
// (eps ignored is caught by BatchNormFold.EqualsConvolutionThenBatchNorm, with variances of 1e-6 and 0: the
// fixture's variances, 0.5 to 1.5, move its embeddings by 1.6e-7 when eps is dropped.)
TEST(ResNetMutants, BatchNormNotFoldedIsCaught) {
    const Oracle o = load_oracle();
    const fs::path dir = fresh_dir("mutant_no_bn");
    rewrite_fixture(dir / "model.safetensors", [](const std::string& name, std::vector<float>& values) {
        const bool bn = name.find(".bn") != std::string::npos || name.find("downsample.1.") != std::string::npos;
        if (!bn) return true;
        float fill = 0.0f;
        if (ends_with(name, ".weight")) fill = 1.0f;
        if (ends_with(name, ".running_var")) fill = static_cast<float>(1.0 - 1e-5);
        std::fill(values.begin(), values.end(), fill);
        return true;
    });
    auto model = ClipModel::load(dir.string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const double d =
        max_diff(normalized_image_embeddings(*model, o.pixels, static_cast<int>(o.images.size())), o.image_normalized);
    std::cout << "  BatchNorm not folded: max |diff| " << d << "\n";
    EXPECT_GT(d, kEmbeddingTolerance);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace hclip
