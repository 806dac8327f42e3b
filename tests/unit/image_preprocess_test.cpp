// CLIP preprocessing against the reference goldens (Pillow 9.4 + torchvision 0.14), plus unit tests of the
// Pillow-exact resize, the crop arithmetic, the conversions and the normalisation, and timings.
#include <gtest/gtest.h>

#include <random>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/timer.h"
#include "image/convert.h"
#include "image/decode.h"
#include "image/pillow_resize.h"
#include "image/preprocess.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

namespace hclip {
namespace {

std::vector<std::uint8_t> read_fixture(const std::string& relative) {
    std::ifstream in(testing::fixture(relative), std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture " << testing::fixture(relative);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> manifest_files() {
    std::ifstream in(testing::fixture("preprocess/manifest.json"));
    EXPECT_TRUE(in.good()) << "missing fixture preprocess/manifest.json";
    std::vector<std::string> files;
    if (!in.good()) return files;
    for (const auto& entry : nlohmann::json::parse(in))
        files.push_back(entry.at("file").get<std::string>());
    return files;
}

Image decode_fixture(const std::string& file) {
    auto image = decode_image(read_fixture("images/" + file));
    EXPECT_TRUE(image.ok()) << file << ": " << image.status().to_string();
    return image.ok() ? std::move(image).value() : Image{};
}

Image make_image(int width, int height, PixelMode mode, unsigned seed) {
    Image image;
    image.width = width;
    image.height = height;
    image.mode = mode;
    image.pixels.resize(image.byte_size());
    unsigned state = seed;
    for (auto& v : image.pixels) {
        state = state * 1664525u + 1013904223u;
        v = static_cast<std::uint8_t>(state >> 24);
    }
    return image;
}

Image make_image(int width, int height, PixelMode mode, std::vector<std::uint8_t> pixels) {
    Image image;
    image.width = width;
    image.height = height;
    image.mode = mode;
    image.pixels = std::move(pixels);
    return image;
}

Image crop(const Image& image, PixelWindow w) {
    Image out;
    out.width = w.width;
    out.height = w.height;
    out.mode = image.mode;
    const std::size_t px = static_cast<std::size_t>(channels(image.mode));
    for (int y = 0; y < w.height; ++y) {
        const auto* row = image.pixels.data() + (static_cast<std::size_t>(w.y + y) * image.width + w.x) * px;
        out.pixels.insert(out.pixels.end(), row, row + static_cast<std::size_t>(w.width) * px);
    }
    return out;
}

// ------------------------------------------------------------------------------------------------------- goldens

TEST(ImagePreprocessGolden, MatchesReferenceTensorsForEveryImage) {
    auto expected = SafetensorsFile::open(testing::fixture("preprocess/expected.safetensors"));
    ASSERT_TRUE(expected.ok()) << expected.status().to_string();
    const auto files = manifest_files();
    ASSERT_EQ(files.size(), 32u);
    const PreprocessSpec spec;
    std::vector<float> tensor(3 * 224 * 224);
    std::size_t bit_identical = 0;
    for (const auto& file : files) {
        SCOPED_TRACE(file);
        const Image image = decode_fixture(file);
        ASSERT_TRUE(image.valid());
        const Status status = preprocess_image(image, spec, tensor);
        ASSERT_TRUE(status.ok()) << status.to_string();
        auto reference = expected->read_f32(file);
        ASSERT_TRUE(reference.ok()) << reference.status().to_string();
        ASSERT_EQ(reference->size(), tensor.size());
        double max_diff = 0.0;
        std::size_t close = 0;
        for (std::size_t i = 0; i < tensor.size(); ++i) {
            const double diff = std::fabs(static_cast<double>(tensor[i]) - static_cast<double>((*reference)[i]));
            max_diff = std::max(max_diff, diff);
            if (diff <= 1e-5) ++close;
        }
        const double fraction = static_cast<double>(close) / static_cast<double>(tensor.size());
        std::printf("[preprocess] %-32s max |diff| %-9.3g within 1e-5: %.6f\n", file.c_str(), max_diff, fraction);
        if (max_diff == 0.0) ++bit_identical;
        EXPECT_GE(fraction, 0.999);
        EXPECT_LE(max_diff, 0.016);
    }
    std::printf("[preprocess] bit-identical tensors: %zu / %zu\n", bit_identical, files.size());
}

// -------------------------------------------------------------------------------------------- resize arithmetic

TEST(ImageResize, ClipResizeSizeFollowsTorchvision) {
    const auto size = [](int w, int h) {
        auto r = clip_resize_size(w, h, 224);
        EXPECT_TRUE(r.ok());
        return std::pair{r->width, r->height};
    };
    EXPECT_EQ(size(640, 480), (std::pair{298, 224}));  // int(224 * 640 / 480) = int(298.67)
    EXPECT_EQ(size(224, 224), (std::pair{224, 224}));
    EXPECT_EQ(size(50, 900), (std::pair{224, 4032}));
    EXPECT_EQ(size(1000, 50), (std::pair{4480, 224}));
    EXPECT_EQ(size(223, 331), (std::pair{224, 332}));
    EXPECT_EQ(size(1, 1), (std::pair{224, 224}));
    EXPECT_EQ(size(4000, 3000), (std::pair{298, 224}));
    EXPECT_EQ(clip_resize_size(0, 10, 224).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(clip_resize_size(10, 10, 0).status().code(), StatusCode::kInvalidArgument);
    // An aspect ratio whose resized long side would be absurd is refused instead of attempted.
    EXPECT_EQ(clip_resize_size(1, 100000, 224).status().code(), StatusCode::kInvalidArgument);
}

TEST(ImageResize, CenterCropRoundsHalfToEven) {
    // torchvision: int(round((size - crop) / 2)) with Python's banker's rounding.
    EXPECT_EQ(center_crop_offset(224, 224), 0);
    EXPECT_EQ(center_crop_offset(225, 224), 0);  // round(0.5) = 0
    EXPECT_EQ(center_crop_offset(226, 224), 1);
    EXPECT_EQ(center_crop_offset(227, 224), 2);  // round(1.5) = 2
    EXPECT_EQ(center_crop_offset(229, 224), 2);  // round(2.5) = 2
    EXPECT_EQ(center_crop_offset(231, 224), 4);  // round(3.5) = 4
    EXPECT_EQ(center_crop_offset(298, 224), 37);
    EXPECT_EQ(center_crop_offset(4032, 224), 1904);
    EXPECT_EQ(center_crop_offset(332, 224), 54);
}

TEST(ImageResize, IdentityWhenSizeUnchanged) {
    // Image.resize returns a copy: not even the RGBA premultiplication round trip (which would turn (200, a=1) into
    // (255, a=1)) may touch the pixels.
    for (PixelMode mode : {PixelMode::kL, PixelMode::kLA, PixelMode::kRGB, PixelMode::kRGBA, PixelMode::kCMYK}) {
        const Image image = make_image(37, 23, mode, 7);
        auto out = resize_bicubic(image, 37, 23);
        ASSERT_TRUE(out.ok());
        EXPECT_EQ(out->pixels, image.pixels);
        EXPECT_EQ(out->mode, mode);
    }
    const Image faint = make_image(1, 1, PixelMode::kRGBA, std::vector<std::uint8_t>{200, 100, 50, 1});
    EXPECT_EQ(resize_bicubic(faint, 1, 1)->pixels, faint.pixels);
}

TEST(ImageResize, KnownAnswerUpscale) {
    // 2 -> 4 pixels by hand from Pillow's formulas: output 1 has centre 0.75, taps at distances 0.25 and 0.75
    // (weights 0.8671875 and 0.2265625, normalised to 0.79286 and 0.20714): 255 * 0.20714 = 52.8 -> 53 after the
    // fixed-point rounding. Outputs 0 and 3 undershoot/overshoot and clip.
    const Image image = make_image(2, 1, PixelMode::kL, std::vector<std::uint8_t>{0, 255});
    auto out = resize_bicubic(image, 4, 1);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->pixels, (std::vector<std::uint8_t>{0, 53, 202, 255}));
    // The same along the vertical axis (horizontal pass skipped).
    const Image column = make_image(1, 2, PixelMode::kL, std::vector<std::uint8_t>{0, 255});
    EXPECT_EQ(resize_bicubic(column, 1, 4)->pixels, (std::vector<std::uint8_t>{0, 53, 202, 255}));
}

TEST(ImageResize, AlphaIsPremultiplied) {
    // A transparent red pixel next to an opaque blue one: premultiplied, the red never bleeds into the result
    // (straight-alpha resampling would give red 202 where alpha is 53).
    const Image image = make_image(2, 1, PixelMode::kRGBA, std::vector<std::uint8_t>{255, 0, 0, 0, 0, 0, 255, 255});
    auto out = resize_bicubic(image, 4, 1);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->pixels, (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 0, 255, 53, 0, 0, 255, 202, 0, 0, 255, 255}));
    const Image la = make_image(2, 1, PixelMode::kLA, std::vector<std::uint8_t>{255, 0, 100, 255});
    // Grey 100 at alpha 255 beside nothing: 21/53 and 79/202 premultiplied, divided back to 101 and 99 (integer
    // division); the last pixel overshoots to 109 (bicubic ringing) while alpha clips at 255.
    EXPECT_EQ(resize_bicubic(la, 4, 1)->pixels, (std::vector<std::uint8_t>{0, 0, 101, 53, 99, 202, 109, 255}));
}

TEST(ImageResize, OnePixelInput) {
    for (PixelMode mode : {PixelMode::kL, PixelMode::kRGB, PixelMode::kRGBA}) {
        const Image image = make_image(1, 1, mode, 3);
        auto out = resize_bicubic(image, 224, 224);
        ASSERT_TRUE(out.ok());
        ASSERT_EQ(out->pixels.size(), 224u * 224u * image.pixels.size());
        for (std::size_t i = 0; i < out->pixels.size(); ++i) {
            // RGBA goes through premultiplication, which may round the colour; constant alpha must survive.
            const std::size_t c = i % image.pixels.size();
            if (mode != PixelMode::kRGBA || c == 3) {
                ASSERT_EQ(out->pixels[i], image.pixels[c]);
            }
        }
    }
    std::vector<std::uint8_t> rgb(224 * 224 * 3);
    const Image one = make_image(1, 1, PixelMode::kRGB, std::vector<std::uint8_t>{12, 34, 56});
    ASSERT_TRUE(resize_crop_to_rgb8(one, PreprocessSpec{}, rgb).ok());
    for (std::size_t i = 0; i < rgb.size(); i += 3) {
        ASSERT_EQ(rgb[i], 12);
        ASSERT_EQ(rgb[i + 1], 34);
        ASSERT_EQ(rgb[i + 2], 56);
    }
}

TEST(ImageResize, ConstantImagesStayConstant) {
    for (auto [w, h, nw, nh] : {std::array{640, 480, 298, 224}, std::array{7, 5, 300, 2}, std::array{1000, 3, 17, 9}}) {
        Image image = make_image(w, h, PixelMode::kRGB, 0);
        std::fill(image.pixels.begin(), image.pixels.end(), std::uint8_t{77});
        auto out = resize_bicubic(image, nw, nh);
        ASSERT_TRUE(out.ok());
        EXPECT_TRUE(std::all_of(out->pixels.begin(), out->pixels.end(), [](std::uint8_t v) { return v == 77; }));
    }
}

TEST(ImageResize, WindowEqualsCropOfFullResize) {
    struct Case {
        int w, h, nw, nh;
        PixelMode mode;
    };
    const std::vector<Case> cases = {
        {640, 480, 298, 224, PixelMode::kRGB},   {50, 900, 224, 4032, PixelMode::kL},
        {1000, 50, 4480, 224, PixelMode::kRGBA}, {223, 331, 224, 332, PixelMode::kLA},
        {31, 17, 31, 40, PixelMode::kCMYK},      {31, 17, 5, 17, PixelMode::kRGBA},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::to_string(c.w) + "x" + std::to_string(c.h) + " -> " + std::to_string(c.nw) + "x" +
                     std::to_string(c.nh));
        const Image image = make_image(c.w, c.h, c.mode, 11);
        auto full = resize_bicubic(image, c.nw, c.nh);
        ASSERT_TRUE(full.ok());
        for (PixelWindow w : {PixelWindow{0, 0, c.nw, c.nh}, PixelWindow{c.nw / 3, c.nh / 4, c.nw / 2, c.nh / 2},
                              PixelWindow{c.nw - 1, c.nh - 1, 1, 1}, PixelWindow{0, c.nh / 2, c.nw, 1}}) {
            auto part = resize_bicubic_window(image, c.nw, c.nh, w);
            ASSERT_TRUE(part.ok());
            EXPECT_EQ(part->pixels, crop(*full, w).pixels);
        }
    }
}

TEST(ImageResize, ExtremeAspectRatios) {
    // A 1 x 20000 strip: the resized image would be 224 x 4,480,000; only the crop is computed.
    const Image strip = make_image(1, 20000, PixelMode::kRGB, 5);
    std::vector<float> tensor(3 * 224 * 224);
    Stopwatch watch;
    EXPECT_TRUE(preprocess_image(strip, PreprocessSpec{}, tensor).ok());
    EXPECT_LT(watch.elapsed_ms(), 2000.0);
    const Image wide = make_image(30000, 2, PixelMode::kL, 6);
    EXPECT_TRUE(preprocess_image(wide, PreprocessSpec{}, tensor).ok());
    // Beyond ~75000:1 the resized side no longer fits: refused with a clear error.
    const Image absurd = make_image(1, 100000, PixelMode::kL, 6);
    const Status status = preprocess_image(absurd, PreprocessSpec{}, tensor);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("aspect ratio"), std::string::npos) << status.to_string();
}

// The fast paths (the best horizontal pass of this CPU, SSE2 where that is AVX2, and the portable vectors that
// aarch64 runs; passes split across the compute pool) against the scalar loops, bit for bit: every pixel mode, noise
// and full-contrast stripes (the bicubic kernel's negative lobes push sums below 0 and above 255, where clipping and
// SSE2's exact 32-bit recombination matter), up- and downscales down to one pixel, both filters, and a photo-sized
// picture that is split across the pool.
TEST(ImageResize, FastPathMatchesScalarLoopsBitForBit) {
    std::mt19937 rng(2024);
    const PixelMode modes[] = {PixelMode::kL, PixelMode::kLA, PixelMode::kRGB, PixelMode::kRGBA};
    for (int i = 0; i < 400; ++i) {
        Image image;
        const bool photo = i == 0;
        image.width = photo ? 640 : 1 + static_cast<int>(rng() % 300);
        image.height = photo ? 480 : 1 + static_cast<int>(rng() % 40);
        image.mode = photo ? PixelMode::kRGB : modes[rng() % 4];
        image.pixels.resize(image.byte_size());
        const bool stripes = rng() % 2 == 0;
        const auto channel_count = static_cast<std::size_t>(channels(image.mode));
        for (std::size_t b = 0; b < image.pixels.size(); ++b) {
            image.pixels[b] = stripes ? static_cast<std::uint8_t>((b / channel_count) % 2 == 0 ? 255 : 0)
                                      : static_cast<std::uint8_t>(rng());
        }
        const int width = photo ? 384 : 1 + static_cast<int>(rng() % 400);
        const int height = photo ? 288 : 1 + static_cast<int>(rng() % 40);
        const ResampleFilter filter = rng() % 2 == 0 ? ResampleFilter::kBicubic : ResampleFilter::kBilinear;
        SCOPED_TRACE(std::to_string(image.width) + "x" + std::to_string(image.height) + " " +
                     std::string(pixel_mode_name(image.mode)) + " -> " + std::to_string(width) + "x" +
                     std::to_string(height) + " " + std::string(resample_filter_name(filter)));
        auto fast = resize_pillow(image, width, height, filter);
        auto sse2 = resize_pillow_using(image, width, height, filter, ResizeKernel::kSse2);
        auto vectors = resize_pillow_using(image, width, height, filter, ResizeKernel::kPortableVectors);
        auto scalar = resize_pillow_scalar(image, width, height, filter);
        ASSERT_TRUE(fast.ok() && sse2.ok() && vectors.ok() && scalar.ok());
        ASSERT_EQ(fast->pixels, scalar->pixels);
        ASSERT_EQ(sse2->pixels, scalar->pixels);
        ASSERT_EQ(vectors->pixels, scalar->pixels);
    }
}

TEST(ImageResize, RejectsInvalidArguments) {
    const Image image = make_image(4, 4, PixelMode::kRGB, 1);
    EXPECT_EQ(resize_bicubic(image, 0, 4).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(resize_bicubic_window(image, 8, 8, PixelWindow{4, 4, 5, 1}).status().code(),
              StatusCode::kInvalidArgument);
    Image broken = image;
    broken.pixels.pop_back();
    EXPECT_EQ(resize_bicubic(broken, 2, 2).status().code(), StatusCode::kInvalidArgument);
}

// ------------------------------------------------------------------------------------------------- conversions

TEST(ImageConvert, PillowFormulas) {
    std::vector<std::uint8_t> rgba = {200, 100, 50, 1, 200, 100, 50, 0, 200, 100, 50, 255, 255, 255, 255, 128};
    premultiply_alpha(rgba, 4);
    // MULDIV255(c, a) = ((c * a + 128) >> 8 + c * a + 128) >> 8
    EXPECT_EQ(rgba, (std::vector<std::uint8_t>{1, 0, 0, 1, 0, 0, 0, 0, 200, 100, 50, 255, 128, 128, 128, 128}));
    unpremultiply_alpha(rgba, 4);
    // 255 * c / a with integer division, clipped; alpha 0 and 255 unchanged.
    EXPECT_EQ(rgba, (std::vector<std::uint8_t>{255, 0, 0, 1, 0, 0, 0, 0, 200, 100, 50, 255, 255, 255, 255, 128}));

    const std::vector<std::uint8_t> cmyk = {0,  0, 0, 0, 255, 255, 255, 255, 128, 0,
                                            64, 0, 0, 0, 0,   128, 100, 150, 200, 50};
    std::vector<std::uint8_t> rgb(15);
    ASSERT_TRUE(convert_pixels_to_rgb(cmyk, PixelMode::kCMYK, rgb).ok());
    // 255 - k - MULDIV255(c, 255 - k): (100,150,200,50) -> 205-80, 205-121, 205-161.
    EXPECT_EQ(rgb, (std::vector<std::uint8_t>{255, 255, 255, 0, 0, 0, 127, 255, 191, 127, 127, 127, 125, 84, 44}));

    std::vector<std::uint8_t> out(6);
    ASSERT_TRUE(convert_pixels_to_rgb(std::vector<std::uint8_t>{9, 200}, PixelMode::kL, out).ok());
    EXPECT_EQ(out, (std::vector<std::uint8_t>{9, 9, 9, 200, 200, 200}));
    ASSERT_TRUE(convert_pixels_to_rgb(std::vector<std::uint8_t>{9, 0, 200, 7}, PixelMode::kLA, out).ok());
    EXPECT_EQ(out, (std::vector<std::uint8_t>{9, 9, 9, 200, 200, 200}));
    EXPECT_EQ(convert_pixels_to_rgb(std::vector<std::uint8_t>{1, 2, 3}, PixelMode::kLA, out).code(),
              StatusCode::kInvalidArgument);
}

TEST(ImageNormalize, MatchesTorchvisionFloat32Steps) {
    const PreprocessSpec spec;
    std::vector<std::uint8_t> rgb = {0, 128, 255};  // a 1x1 image
    std::vector<float> chw(3);
    normalize_rgb8_to_chw(rgb, 1, spec, chw);
    for (int c = 0; c < 3; ++c) {
        const float v = static_cast<float>(rgb[static_cast<std::size_t>(c)]);
        const volatile float scaled = v / 255.0f;  // each step rounded to float32
        EXPECT_EQ(chw[static_cast<std::size_t>(c)],
                  (scaled - spec.mean[static_cast<std::size_t>(c)]) / spec.std[static_cast<std::size_t>(c)]);
    }
    EXPECT_NEAR(chw[0], -1.7922626f, 1e-6f);
    EXPECT_NEAR(chw[2], (1.0f - 0.40821073f) / 0.27577711f, 1e-6f);
    // Layout: HWC in, CHW out.
    std::vector<std::uint8_t> two = {1, 2, 3, 4, 5, 6};  // 2 pixels... as a 1x2 image it needs image_size 1
    std::vector<float> planes(3);
    normalize_rgb8_to_chw(std::span(two).first(3), 1, spec, planes);
    EXPECT_FLOAT_EQ(planes[1], (2.0f / 255.0f - spec.mean[1]) / spec.std[1]);
}

TEST(ImagePreprocess, RejectsBadBuffers) {
    const Image image = make_image(10, 10, PixelMode::kRGB, 1);
    std::vector<float> small(5);
    EXPECT_EQ(preprocess_image(image, PreprocessSpec{}, small).code(), StatusCode::kInvalidArgument);
    std::vector<std::uint8_t> rgb(10);
    EXPECT_EQ(resize_crop_to_rgb8(image, PreprocessSpec{}, rgb).code(), StatusCode::kInvalidArgument);
    Image empty;
    std::vector<float> tensor(3 * 224 * 224);
    EXPECT_EQ(preprocess_image(empty, PreprocessSpec{}, tensor).code(), StatusCode::kInvalidArgument);
    PreprocessSpec zero;
    zero.image_size = 0;
    EXPECT_EQ(preprocess_image(image, zero, {}).code(), StatusCode::kInvalidArgument);
}

TEST(ImagePreprocess, OtherImageSizes) {
    // The 96 px pipeline of the ResNet fixture, and an odd size: output layout and bounds only.
    const Image image = decode_fixture("chelsea.png");
    for (int size : {96, 33}) {
        std::vector<float> tensor(3 * static_cast<std::size_t>(size) * size);
        PreprocessSpec spec;
        spec.image_size = size;
        ASSERT_TRUE(preprocess_image(image, spec, tensor).ok());
        for (float v : tensor)
            ASSERT_TRUE(v > -2.0f && v < 2.2f);
    }
}

TEST(ImagePreprocess, ConcurrentCallsAgree) {
    const std::vector<std::string> files = {"CLIP.png", "gray_alpha_LA.png", "cmyk.jpg", "tall_50x900.png"};
    std::vector<Image> images;
    std::vector<std::vector<float>> serial;
    for (const auto& f : files) {
        images.push_back(decode_fixture(f));
        serial.emplace_back(3 * 224 * 224);
        ASSERT_TRUE(preprocess_image(images.back(), PreprocessSpec{}, serial.back()).ok());
    }
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::vector<float> tensor(3 * 224 * 224);
            for (int round = 0; round < 3; ++round) {
                for (std::size_t i = 0; i < images.size(); ++i) {
                    const std::size_t k = (i + static_cast<std::size_t>(t)) % images.size();
                    if (!preprocess_image(images[k], PreprocessSpec{}, tensor).ok() || tensor != serial[k]) {
                        ++failures[static_cast<std::size_t>(t)];
                    }
                }
            }
        });
    }
    for (auto& th : threads)
        th.join();
    for (int f : failures)
        EXPECT_EQ(f, 0);
}

// ------------------------------------------------------------------------------------------------------ timings

TEST(ImagePreprocessTiming, DecodeAndResize) {
    // Reported, not asserted tightly: shared CI machines vary. Best of 3 runs.
    for (const std::string file : {"coco_val2017_000000039769.png", "rocket.jpg", "large_4000x3000.jpg"}) {
        const auto bytes = read_fixture("images/" + file);
        double decode_ms = 1e9;
        double resize_ms = 1e9;
        double normalize_ms = 1e9;
        std::vector<std::uint8_t> rgb(224 * 224 * 3);
        std::vector<float> tensor(3 * 224 * 224);
        for (int run = 0; run < 3; ++run) {
            Stopwatch watch;
            auto image = decode_image(bytes);
            decode_ms = std::min(decode_ms, watch.elapsed_ms());
            ASSERT_TRUE(image.ok());
            watch.reset();
            ASSERT_TRUE(resize_crop_to_rgb8(*image, PreprocessSpec{}, rgb).ok());
            resize_ms = std::min(resize_ms, watch.elapsed_ms());
            watch.reset();
            normalize_rgb8_to_chw(rgb, 224, PreprocessSpec{}, tensor);
            normalize_ms = std::min(normalize_ms, watch.elapsed_ms());
        }
        std::printf("[timing] %-32s decode %7.2f ms  resize+crop+rgb %6.2f ms  normalize %5.2f ms\n", file.c_str(),
                    decode_ms, resize_ms, normalize_ms);
        EXPECT_LT(resize_ms, 2000.0);
    }
}

}  // namespace
}  // namespace hclip
