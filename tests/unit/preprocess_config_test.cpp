// Model-specific preprocessing: OpenCLIP's preprocess_cfg (and Hugging Face's preprocessor_config.json) parsed into
// the engine's preprocessing, Pillow's BILINEAR, and the `squash` / `longest` resize modes. The MobileCLIP fixture's
// own inputs (`pixel_values`) are the reference for bilinear + mean 0 / std 1.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "engine/clip_engine.h"
#include "image/decode.h"
#include "image/pillow_resize.h"
#include "image/preprocess.h"
#include "io/safetensors.h"
#include "model/clip_model.h"
#include "model/preprocess_config.h"
#include "support/fixtures.h"

namespace hclip {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const char* const kMobileClip = "models/tiny-mobileclip2-s0/";

Json read_json(const std::string& path) {
    auto text = read_file(path);
    EXPECT_TRUE(text.ok()) << path << ": " << text.status().to_string();
    return text.ok() ? Json::parse(*text) : Json::object();
}

Image decode_fixture(const std::string& file) {
    auto bytes = read_file(testing::fixture("images/" + file));
    EXPECT_TRUE(bytes.ok()) << file;
    if (!bytes.ok()) return {};
    auto image = decode_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
    EXPECT_TRUE(image.ok()) << file << ": " << image.status().to_string();
    return image.ok() ? std::move(image).value() : Image{};
}

Image make_image(int width, int height, PixelMode mode, std::uint8_t value) {
    Image image;
    image.width = width;
    image.height = height;
    image.mode = mode;
    image.pixels.assign(image.byte_size(), value);
    return image;
}

// The fixtures README's acceptance for preprocessing: 99.9% of values within 1e-5, every value within one 8-bit
// step divided by std. With MobileCLIP's std of 1 that step is 1/255 (the README's 0.016 is the step for OpenAI's
// std of ~0.27); a float32 rounding of slack on top.
struct Agreement {
    double max_diff = 0.0;
    double fraction_close = 0.0;
    bool acceptable(double step) const { return fraction_close >= 0.999 && max_diff <= step + 1e-6; }
};

Agreement compare(std::span<const float> got, std::span<const float> want) {
    Agreement a;
    std::size_t close = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double diff = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
        a.max_diff = std::max(a.max_diff, diff);
        if (diff <= 1e-5) ++close;
    }
    a.fraction_close = static_cast<double>(close) / static_cast<double>(got.size());
    return a;
}

class MobileClipInputs : public ::testing::Test {
  protected:
    void SetUp() override {
        config_ = read_json(testing::fixture(std::string(kMobileClip) + "open_clip_config.json"));
        expected_json_ = read_json(testing::fixture(std::string(kMobileClip) + "expected.json"));
        auto expected = SafetensorsFile::open(testing::fixture(std::string(kMobileClip) + "expected.safetensors"));
        ASSERT_TRUE(expected.ok()) << expected.status().to_string();
        const TensorView* pv = expected->find("pixel_values");
        ASSERT_NE(pv, nullptr);
        ASSERT_EQ(pv->shape.size(), 4u);
        image_size_ = static_cast<int>(pv->shape[3]);
        // The size comes from the model: the tower's configured input, which the reference's inputs have.
        ASSERT_EQ(config_.at("model_cfg").at("vision_cfg").at("image_size").get<int>(), image_size_);
        pixel_values_ = expected->read_f32("pixel_values").value();
        images_ = expected_json_.at("images").get<std::vector<std::string>>();
        ASSERT_EQ(static_cast<std::size_t>(pv->shape[0]), images_.size());
    }

    PreprocessSpec fixture_spec() const {
        auto parsed = parse_preprocess_config(&config_, nullptr, image_size_);
        EXPECT_TRUE(parsed.ok()) << parsed.status().to_string();
        return PreprocessSpec{parsed.ok() ? *parsed : PreprocessConfig{}, image_size_};
    }

    // Every fixture image through our decoder and `spec`, compared with the reference's inputs.
    std::vector<Agreement> agreements(const PreprocessSpec& spec, const char* label) const {
        const std::size_t per_image = 3u * static_cast<std::size_t>(image_size_) * image_size_;
        std::vector<float> tensor(per_image);
        std::vector<Agreement> out;
        for (std::size_t i = 0; i < images_.size(); ++i) {
            const Image image = decode_fixture(images_[i]);
            const Status status = preprocess_image(image, spec, tensor);
            EXPECT_TRUE(status.ok()) << images_[i] << ": " << status.to_string();
            out.push_back(compare(tensor, std::span(pixel_values_).subspan(i * per_image, per_image)));
            std::printf("[%s] %-24s max |diff| %-9.3g within 1e-5: %.6f\n", label, images_[i].c_str(),
                        out.back().max_diff, out.back().fraction_close);
        }
        return out;
    }

    Json config_, expected_json_;
    int image_size_ = 0;
    std::vector<float> pixel_values_;
    std::vector<std::string> images_;
};

TEST_F(MobileClipInputs, ConfigSaysBilinearMeanZeroStdOne) {
    const PreprocessSpec spec = fixture_spec();
    EXPECT_EQ(spec.interpolation, ResampleFilter::kBilinear);
    EXPECT_EQ(spec.resize_mode, ResizeMode::kShortest);
    EXPECT_EQ(spec.mean, (std::array<float, 3>{0.0f, 0.0f, 0.0f}));
    EXPECT_EQ(spec.std, (std::array<float, 3>{1.0f, 1.0f, 1.0f}));
    EXPECT_EQ(spec.image_size, 256);
}

TEST_F(MobileClipInputs, OurDecoderAndBilinearResizeGiveTheReferenceInputs) {
    const double step = 1.0 / 255.0;
    std::size_t identical = 0;
    const auto results = agreements(fixture_spec(), "mobileclip bilinear");
    for (std::size_t i = 0; i < results.size(); ++i) {
        EXPECT_TRUE(results[i].acceptable(step))
            << images_[i] << ": max " << results[i].max_diff << ", within 1e-5 " << results[i].fraction_close;
        if (results[i].max_diff == 0.0) ++identical;
    }
    std::printf("[mobileclip bilinear] bit-identical tensors: %zu / %zu\n", identical, results.size());
}

// The same comparison must fail when the pipeline is wrong in either of the ways a loader could get it wrong.
TEST_F(MobileClipInputs, BicubicInsteadOfBilinearFails) {
    PreprocessSpec spec = fixture_spec();
    spec.interpolation = ResampleFilter::kBicubic;
    const auto results = agreements(spec, "mutation: bicubic");
    for (std::size_t i = 0; i < results.size(); ++i)
        EXPECT_FALSE(results[i].acceptable(1.0 / 255.0)) << images_[i] << " passes with the wrong filter";
}

TEST_F(MobileClipInputs, OpenAiMeanAndStdInsteadOfTheConfigsFail) {
    PreprocessSpec spec = fixture_spec();
    spec.mean = PreprocessConfig{}.mean;
    spec.std = PreprocessConfig{}.std;
    const auto results = agreements(spec, "mutation: OpenAI mean/std");
    for (std::size_t i = 0; i < results.size(); ++i)
        EXPECT_FALSE(results[i].acceptable(1.0 / 255.0)) << images_[i] << " passes with OpenAI's normalization";
}

// ------------------------------------------------------------------------------------------- Pillow's BILINEAR

TEST(BilinearResize, KnownAnswers) {
    // 2 -> 4 (enlarging, support 1): centres 0.25, 0.75, 1.25, 1.75; the middle outputs weigh the two inputs
    // 0.75 / 0.25: 255 * 0.25 = 63.75 -> 64 and 191.25 -> 191 after the fixed-point rounding. The edges see one
    // input only. (Pillow's BICUBIC gives 0, 53, 202, 255.)
    const Image up = [] {
        Image i = make_image(2, 1, PixelMode::kL, 0);
        i.pixels = {0, 255};
        return i;
    }();
    auto out = resize_pillow(up, 4, 1, ResampleFilter::kBilinear);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->pixels, (std::vector<std::uint8_t>{0, 64, 191, 255}));

    // 4 -> 2 (shrinking by 2: the triangle widened to support 2, antialiasing): output 0 has centre 1 and reads
    // inputs 0..2 with weights 0.75, 0.75, 0.25 (normalised 3/7, 3/7, 1/7): 500 / 7 = 71.4 -> 71; output 1 reads
    // inputs 1..3 with 1/7, 3/7, 3/7: 1465 / 7 = 209.3 -> 209. Without the widening it would be 50 and 228.
    Image down = make_image(4, 1, PixelMode::kL, 0);
    down.pixels = {0, 100, 200, 255};
    out = resize_pillow(down, 2, 1, ResampleFilter::kBilinear);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->pixels, (std::vector<std::uint8_t>{71, 209}));

    // The vertical pass uses the same filter (horizontal pass skipped).
    Image column = make_image(1, 4, PixelMode::kL, 0);
    column.pixels = {0, 100, 200, 255};
    EXPECT_EQ(resize_pillow(column, 1, 2, ResampleFilter::kBilinear)->pixels, (std::vector<std::uint8_t>{71, 209}));
}

TEST(BilinearResize, WindowEqualsCropOfFullResize) {
    Image image = make_image(97, 61, PixelMode::kRGBA, 0);
    for (std::size_t i = 0; i < image.pixels.size(); ++i)
        image.pixels[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 24);
    auto full = resize_pillow(image, 40, 150, ResampleFilter::kBilinear);
    ASSERT_TRUE(full.ok());
    const PixelWindow w{7, 33, 20, 50};
    auto part = resize_pillow_window(image, 40, 150, w, ResampleFilter::kBilinear);
    ASSERT_TRUE(part.ok());
    for (int y = 0; y < w.height; ++y) {
        for (int x = 0; x < w.width * 4; ++x) {
            ASSERT_EQ(part->pixels[static_cast<std::size_t>(y * w.width * 4 + x)],
                      full->pixels[static_cast<std::size_t>((y + w.y) * 40 * 4 + w.x * 4 + x)]);
        }
    }
}

// ------------------------------------------------------------------------------------------ squash and longest

// A 40 x 10 grey picture whose first four columns are green: which resize mode keeps the left edge, and where the
// picture lands in the 16 x 16 input.
Image marked_strip() {
    Image image = make_image(40, 10, PixelMode::kRGB, 128);
    for (int y = 0; y < 10; ++y) {
        for (int x = 0; x < 4; ++x) {
            std::uint8_t* p = &image.pixels[static_cast<std::size_t>((y * 40 + x) * 3)];
            p[0] = 0;
            p[1] = 255;
            p[2] = 0;
        }
    }
    return image;
}

std::vector<std::uint8_t> fit(const Image& image, ResizeMode mode, int size = 16) {
    PreprocessSpec spec;
    spec.image_size = size;
    spec.resize_mode = mode;
    spec.interpolation = ResampleFilter::kBilinear;
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(size) * size * 3);
    const Status status = resize_crop_to_rgb8(image, spec, rgb);
    EXPECT_TRUE(status.ok()) << status.to_string();
    return rgb;
}

const std::uint8_t* pixel(const std::vector<std::uint8_t>& rgb, int x, int y, int size = 16) {
    return &rgb[static_cast<std::size_t>((y * size + x) * 3)];
}

TEST(ResizeModes, SquashResizesBothSidesAndCropsNothing) {
    const Image image = marked_strip();
    const auto rgb = fit(image, ResizeMode::kSquash);
    auto direct = resize_pillow(image, 16, 16, ResampleFilter::kBilinear);
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(rgb, direct->pixels);
    // 40 -> 16 columns: the green band (columns 0..3 = 1.6 output columns) is still at the left on every row.
    for (int y = 0; y < 16; ++y) {
        EXPECT_GT(pixel(rgb, 0, y)[1], 200) << "row " << y;
        EXPECT_LT(pixel(rgb, 0, y)[0], 60) << "row " << y;
        EXPECT_EQ(pixel(rgb, 15, y)[0], 128) << "row " << y;
    }
    // The short side is not the one that decides: shortest would have cut the green edge away.
    const auto shortest = fit(image, ResizeMode::kShortest);
    for (int y = 0; y < 16; ++y)
        EXPECT_EQ(pixel(shortest, 0, y)[1], 128) << "row " << y;
}

TEST(ResizeModes, LongestKeepsTheRatioAndPadsWithZerosAroundTheCentre) {
    const Image image = marked_strip();
    // 40 x 10 -> 16 x 4, placed at rows (16 - 4) // 2 = 6 .. 9; rows 0..5 and 10..15 are padding.
    const auto rgb = fit(image, ResizeMode::kLongest);
    auto scaled = resize_pillow(image, 16, 4, ResampleFilter::kBilinear);
    ASSERT_TRUE(scaled.ok());
    for (int y = 0; y < 16; ++y) {
        for (int x = 0; x < 16; ++x) {
            const std::uint8_t* p = pixel(rgb, x, y);
            if (y >= 6 && y < 10) {
                const std::uint8_t* want = &scaled->pixels[static_cast<std::size_t>(((y - 6) * 16 + x) * 3)];
                ASSERT_TRUE(std::equal(p, p + 3, want)) << x << "," << y;
            } else {
                ASSERT_TRUE(p[0] == 0 && p[1] == 0 && p[2] == 0) << "padding at " << x << "," << y;
            }
        }
    }
    EXPECT_GT(pixel(rgb, 0, 7)[1], 200);  // the green edge is kept

    // An odd amount of padding puts the extra row at the bottom (torchvision's pad: top = (S - h) // 2): 30 x 17
    // -> 16 x round(9.07) = 9 rows at 3..11.
    const auto odd = fit(make_image(30, 17, PixelMode::kRGB, 200), ResizeMode::kLongest);
    for (int y = 0; y < 16; ++y)
        EXPECT_EQ(pixel(odd, 5, y)[0], (y >= 3 && y < 12) ? 200 : 0) << "row " << y;
    // Tall pictures pad left and right.
    const auto tall = fit(make_image(10, 40, PixelMode::kL, 90), ResizeMode::kLongest);
    for (int x = 0; x < 16; ++x)
        EXPECT_EQ(pixel(tall, x, 8)[2], (x >= 6 && x < 10) ? 90 : 0) << "column " << x;
}

TEST(ResizeModes, LongestSizesRoundHalfToEven) {
    const auto size = [](int w, int h) {
        auto r = keep_ratio_longest_size(w, h, 16);
        EXPECT_TRUE(r.ok());
        return std::pair{r->width, r->height};
    };
    EXPECT_EQ(size(32, 5), (std::pair{16, 2}));  // round(2.5) = 2
    EXPECT_EQ(size(32, 7), (std::pair{16, 4}));  // round(3.5) = 4
    EXPECT_EQ(size(7, 32), (std::pair{4, 16}));
    EXPECT_EQ(size(30, 17), (std::pair{16, 9}));
    EXPECT_EQ(size(8, 8), (std::pair{16, 16}));     // enlarged
    EXPECT_EQ(size(1, 20000), (std::pair{1, 16}));  // round(0.0008) = 0: kept at one pixel
    EXPECT_EQ(keep_ratio_longest_size(0, 4, 16).status().code(), StatusCode::kInvalidArgument);
}

TEST(ResizeModes, LongestPadsInTheImagesOwnMode) {
    // torchvision pads with 0 in every band of the image before convert("RGB"): transparent black for RGBA, but
    // CMYK (0, 0, 0, 0) is white.
    const auto rgba = fit(make_image(32, 8, PixelMode::kRGBA, 255), ResizeMode::kLongest);
    EXPECT_EQ(pixel(rgba, 3, 0)[0], 0);
    EXPECT_EQ(pixel(rgba, 3, 8)[0], 255);
    const auto cmyk = fit(make_image(32, 8, PixelMode::kCMYK, 0), ResizeMode::kLongest);
    for (int y : {0, 5, 6, 9, 10, 15})
        EXPECT_EQ(pixel(cmyk, 3, y)[1], 255) << "row " << y;  // white everywhere: picture and padding alike
    Image dark_cmyk = make_image(32, 8, PixelMode::kCMYK, 0);
    for (std::size_t i = 3; i < dark_cmyk.pixels.size(); i += 4)
        dark_cmyk.pixels[i] = 255;  // K = 255: black picture, white padding
    const auto padded = fit(dark_cmyk, ResizeMode::kLongest);
    EXPECT_EQ(pixel(padded, 3, 0)[0], 255);
    EXPECT_EQ(pixel(padded, 3, 8)[0], 0);
}

TEST(ResizeModes, ExtremeAspectRatiosInEveryMode) {
    for (ResizeMode mode : {ResizeMode::kSquash, ResizeMode::kLongest}) {
        const auto rgb = fit(make_image(1, 20000, PixelMode::kRGB, 77), mode, 64);
        EXPECT_EQ(rgb.size(), 64u * 64u * 3u);
    }
}

// ------------------------------------------------------------------------------------------------ the parser

Json parse(const char* text) {
    return Json::parse(text);
}

TEST(PreprocessConfigParse, DefaultsAreOpenAis) {
    const Json no_cfg = parse(R"({"model_cfg": {"embed_dim": 512}})");
    for (const Json* oc : {static_cast<const Json*>(nullptr), &no_cfg}) {
        auto c = parse_preprocess_config(oc, nullptr, 224);
        ASSERT_TRUE(c.ok()) << c.status().to_string();
        EXPECT_EQ(c->mean, (std::array<float, 3>{0.48145466f, 0.4578275f, 0.40821073f}));
        EXPECT_EQ(c->std, (std::array<float, 3>{0.26862954f, 0.26130258f, 0.27577711f}));
        EXPECT_EQ(c->interpolation, ResampleFilter::kBicubic);
        EXPECT_EQ(c->resize_mode, ResizeMode::kShortest);
    }
}

TEST(PreprocessConfigParse, ReadsEveryOpenClipKey) {
    const Json j = parse(R"({"preprocess_cfg": {"mean": 0.5, "std": [0.1, 0.2, 0.3], "interpolation": "bilinear",
                             "resize_mode": "squash", "size": 256, "mode": "RGB", "fill_color": 0}})");
    auto c = parse_preprocess_config(&j, nullptr, 256);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
    EXPECT_EQ(c->std, (std::array<float, 3>{0.1f, 0.2f, 0.3f}));
    EXPECT_EQ(c->interpolation, ResampleFilter::kBilinear);
    EXPECT_EQ(c->resize_mode, ResizeMode::kSquash);
    const Json longest = parse(R"({"preprocess_cfg": {"resize_mode": "longest", "interpolation": "random"}})");
    c = parse_preprocess_config(&longest, nullptr, 224);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->resize_mode, ResizeMode::kLongest);
    EXPECT_EQ(c->interpolation, ResampleFilter::kBicubic);  // OpenCLIP's inference transform: random = bicubic
}

TEST(PreprocessConfigParse, RefusesWhatItCannotReproduce) {
    struct Case {
        const char* json;
        StatusCode code;
        const char* says;
    };
    const Case cases[] = {
        {R"({"preprocess_cfg": {"interpolation": "lanczos"}})", StatusCode::kUnsupported, "interpolation 'lanczos'"},
        {R"({"preprocess_cfg": {"interpolation": "nearest"}})", StatusCode::kUnsupported, "bicubic and bilinear"},
        {R"({"preprocess_cfg": {"resize_mode": "crop"}})", StatusCode::kUnsupported, "resize_mode 'crop'"},
        {R"({"preprocess_cfg": {"interpolation": 3}})", StatusCode::kInvalidArgument, "interpolation"},
        {R"({"preprocess_cfg": {"size": 224}})", StatusCode::kInvalidArgument, "256 px"},
        {R"({"preprocess_cfg": {"size": [256, 320]}})", StatusCode::kInvalidArgument, "256x320"},
        {R"({"preprocess_cfg": {"std": [1, 0, 1]}})", StatusCode::kInvalidArgument, "positive"},
        {R"({"preprocess_cfg": {"mean": [0, 0]}})", StatusCode::kInvalidArgument, "3 numbers"},
        {R"({"preprocess_cfg": {"resize_mode": "longest", "fill_color": 255}})", StatusCode::kUnsupported,
         "fill_color"},
        {R"({"preprocess_cfg": "bilinear"})", StatusCode::kInvalidArgument, "object"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.json);
        const Json j = parse(c.json);
        auto r = parse_preprocess_config(&j, nullptr, 256);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.status().code(), c.code) << r.status().to_string();
        EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().to_string();
        EXPECT_NE(r.status().message().find("open_clip_config.json"), std::string::npos) << r.status().to_string();
    }
}

TEST(PreprocessConfigParse, HuggingFacePreprocessorConfig) {
    const Json oc = parse(R"({"preprocess_cfg": {"mean": [0, 0, 0], "interpolation": "bilinear"}})");
    const Json hf = parse(R"({"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
                              "resample": 3, "size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224}})");
    auto c = parse_preprocess_config(&oc, &hf, 224);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->mean, (std::array<float, 3>{0.485f, 0.456f, 0.406f}));  // read after open_clip_config.json
    EXPECT_EQ(c->interpolation, ResampleFilter::kBicubic);
    const Json bilinear = parse(R"({"resample": 2, "crop_size": 224, "size": 224})");
    c = parse_preprocess_config(nullptr, &bilinear, 224);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->interpolation, ResampleFilter::kBilinear);
    for (const char* bad : {R"({"resample": 1})", R"({"crop_size": 256})", R"({"size": {"shortest_edge": 256}})"}) {
        SCOPED_TRACE(bad);
        const Json j = parse(bad);
        auto r = parse_preprocess_config(nullptr, &j, 224);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.status().message().find("preprocessor_config.json"), std::string::npos) << r.status().to_string();
    }
}

// ------------------------------------------------------------------- from the model directory to the engine

class ModelDirectory : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "hclip-preprocess-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        const fs::path source = testing::fixture("models/tiny-openclip-gelu-p16");
        fs::create_symlink(fs::absolute(source / "model.safetensors"), dir_ / "model.safetensors");
        config_ = read_json((source / "open_clip_config.json").string());
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void write_config(const Json& preprocess_cfg) {
        Json j = config_;
        j["preprocess_cfg"] = preprocess_cfg;
        std::ofstream(dir_ / "open_clip_config.json") << j.dump();
    }

    fs::path dir_;
    Json config_;
};

TEST_F(ModelDirectory, TheEnginePreparesImagesAsTheConfigSays) {
    write_config(Json::parse(R"({"mean": [0, 0, 0], "std": [1, 1, 1], "interpolation": "bilinear",
                                 "resize_mode": "longest"})"));
    auto model = ClipModel::load(dir_.string());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const PreprocessSpec spec = (*model)->config().preprocess_spec();
    EXPECT_EQ(spec.interpolation, ResampleFilter::kBilinear);
    EXPECT_EQ(spec.resize_mode, ResizeMode::kLongest);
    EXPECT_EQ(spec.std, (std::array<float, 3>{1.0f, 1.0f, 1.0f}));
    EXPECT_EQ(spec.image_size, 224);  // the tower's size, from the tensors

    EngineOptions options;
    options.model_dir = dir_.string();
    options.backend = "cpu";
    auto engine = ClipEngine::open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    auto bytes = read_file(testing::fixture("images/chelsea.png"));
    ASSERT_TRUE(bytes.ok());
    auto prepared =
        (*engine)->prepare_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
    ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
    std::vector<std::uint8_t> want(224 * 224 * 3), openai(224 * 224 * 3);
    const Image image = decode_fixture("chelsea.png");
    ASSERT_TRUE(resize_crop_to_rgb8(image, spec, want).ok());
    ASSERT_TRUE(resize_crop_to_rgb8(image, PreprocessSpec{}, openai).ok());
    EXPECT_EQ(prepared->rgb, want);
    EXPECT_NE(prepared->rgb, openai);
}

TEST_F(ModelDirectory, AnUnknownInterpolationStopsLoading) {
    write_config(Json::parse(R"({"interpolation": "lanczos"})"));
    auto model = ClipModel::load(dir_.string());
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(model.status().message().find("preprocess_cfg.interpolation"), std::string::npos)
        << model.status().to_string();
}

}  // namespace
}  // namespace hclip
