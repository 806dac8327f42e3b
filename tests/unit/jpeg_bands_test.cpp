// JPEGs decoded in bands of rows by several decoders (DecodeOptions::jpeg_bands, src/image/decode_jpeg.cpp) give
// exactly the pixels of one decoder: every chroma subsampling libjpeg writes, grey and CMYK, restart markers, DCT
// scaling, sizes that are not whole blocks, and the fixture photos; broken files get the one-decoder verdict.
#include <gtest/gtest.h>

#include <cstdio>  // jpeglib.h needs FILE and size_t declared before it
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "image/decode.h"
#include "support/fixtures.h"

namespace hclip {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Encoding {
    int width = 0, height = 0;
    int components = 3;                  // 1 grey, 3 YCbCr, 4 CMYK (stored as YCCK by libjpeg's defaults)
    int h_sampling = 2, v_sampling = 2;  // of the first component; the others 1
    int restart_rows = 0;                // restart marker every N MCU rows
    bool progressive = false;
};

// Gradients, texture and noise, so that every block has coefficients to decode.
Bytes encode(const Encoding& e, unsigned seed) {
    std::mt19937 rng(seed);
    const auto samples = static_cast<std::size_t>(e.width) * static_cast<std::size_t>(e.components);
    std::vector<std::uint8_t> pixels(samples * static_cast<std::size_t>(e.height));
    for (int y = 0; y < e.height; ++y) {
        for (std::size_t i = 0; i < samples; ++i) {
            const auto x = static_cast<int>(i) / e.components, c = static_cast<int>(i) % e.components;
            const int v = (x * 255 / e.width + y * 3 * (c + 1) + ((x ^ y) & 31) + static_cast<int>(rng() % 24)) & 0xff;
            pixels[static_cast<std::size_t>(y) * samples + i] = static_cast<std::uint8_t>(v);
        }
    }
    jpeg_compress_struct cinfo{};
    jpeg_error_mgr errors{};
    cinfo.err = jpeg_std_error(&errors);
    jpeg_create_compress(&cinfo);
    unsigned char* out = nullptr;
    unsigned long out_size = 0;
    jpeg_mem_dest(&cinfo, &out, &out_size);
    cinfo.image_width = static_cast<JDIMENSION>(e.width);
    cinfo.image_height = static_cast<JDIMENSION>(e.height);
    cinfo.input_components = e.components;
    cinfo.in_color_space = e.components == 1 ? JCS_GRAYSCALE : (e.components == 3 ? JCS_RGB : JCS_CMYK);
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 85, TRUE);
    if (e.components >= 3) {
        cinfo.comp_info[0].h_samp_factor = e.h_sampling;
        cinfo.comp_info[0].v_samp_factor = e.v_sampling;
        for (int c = 1; c < e.components; ++c)
            cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
    }
    cinfo.restart_in_rows = e.restart_rows;
    if (e.progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = &pixels[static_cast<std::size_t>(cinfo.next_scanline) * samples];
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    Bytes jpeg(out, out + out_size);
    jpeg_destroy_compress(&cinfo);
    std::free(out);
    return jpeg;
}

Bytes read_fixture_image(const std::string& file) {
    std::ifstream in(testing::fixture("images/" + file), std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture images/" << file;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Result<Image> decode_in_bands(const Bytes& jpeg, int bands, int scaled_min_side = 0) {
    DecodeOptions options;
    options.jpeg_bands = bands;
    options.jpeg_scaled_min_side = scaled_min_side;
    return decode_image(jpeg, options);
}

void expect_every_band_count_same(const Bytes& jpeg, const std::string& what, int scaled_min_side = 0) {
    SCOPED_TRACE(what);
    const Result<Image> one = decode_in_bands(jpeg, 1, scaled_min_side);
    ASSERT_TRUE(one.ok()) << one.status().to_string();
    for (int bands : {0, 2, 3, 4, 7}) {
        const Result<Image> banded = decode_in_bands(jpeg, bands, scaled_min_side);
        ASSERT_TRUE(banded.ok()) << bands << " bands: " << banded.status().to_string();
        EXPECT_EQ(banded->width, one->width);
        EXPECT_EQ(banded->height, one->height);
        EXPECT_EQ(banded->mode, one->mode);
        EXPECT_TRUE(banded->pixels == one->pixels) << bands << " bands give other pixels";
    }
}

TEST(JpegBands, EverySubsamplingAndLayoutGivesTheOneDecoderPixels) {
    const Encoding cases[] = {
        {.width = 640, .height = 480},                                                     // 4:2:0
        {.width = 333, .height = 517, .h_sampling = 2, .v_sampling = 1},                   // 4:2:2, not whole blocks
        {.width = 301, .height = 263, .h_sampling = 1, .v_sampling = 1},                   // 4:4:4
        {.width = 250, .height = 390, .h_sampling = 1, .v_sampling = 2},                   // 4:4:0
        {.width = 256, .height = 300, .h_sampling = 4, .v_sampling = 1},                   // 4:1:1
        {.width = 200, .height = 333, .components = 1},                                    // grey
        {.width = 210, .height = 190, .components = 4, .h_sampling = 1, .v_sampling = 1},  // CMYK
        {.width = 480, .height = 640, .restart_rows = 3},                                  // restart markers
        {.width = 320, .height = 700, .progressive = true},                                // progressive: one decoder
        {.width = 64, .height = 33},  // fewer rows than bands asked for
    };
    unsigned seed = 1;
    for (const Encoding& e : cases) {
        const Bytes jpeg = encode(e, seed++);
        expect_every_band_count_same(
            jpeg, std::to_string(e.width) + "x" + std::to_string(e.height) + ", " + std::to_string(e.components) +
                      " components, sampling " + std::to_string(e.h_sampling) + "x" + std::to_string(e.v_sampling) +
                      (e.restart_rows > 0 ? ", restarts" : "") + (e.progressive ? ", progressive" : ""));
    }
}

TEST(JpegBands, FixturePhotosAndDctScaling) {
    for (const char* file : {"large_4000x3000.jpg", "subsampling_420.jpg", "subsampling_444.jpg", "cmyk.jpg",
                             "gray.jpg", "odd_225x224.jpg", "wide_1000x50.jpg", "rocket.jpg"}) {
        expect_every_band_count_same(read_fixture_image(file), file);
    }
    // At 1/2, 1/4 and 1/8 scale the bands are counted in scaled rows.
    const Bytes large = read_fixture_image("large_4000x3000.jpg");
    for (int min_side : {1500, 700, 224})
        expect_every_band_count_same(large, "large_4000x3000.jpg scaled for " + std::to_string(min_side), min_side);
}

// A band that fails (here the last, whose data is cut off) sends the picture back to one decoder, whose verdict
// stands: the same error for every band count, never a partly decoded picture.
TEST(JpegBands, BrokenDataGetsTheOneDecoderVerdict) {
    const Bytes jpeg = encode({.width = 800, .height = 600}, 7);
    for (double keep : {0.5, 0.9, 0.99}) {
        const Bytes cut(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * keep));
        const Result<Image> one = decode_in_bands(cut, 1);
        ASSERT_FALSE(one.ok());
        for (int bands : {0, 2, 4}) {
            const Result<Image> banded = decode_in_bands(cut, bands);
            ASSERT_FALSE(banded.ok()) << bands << " bands decoded a truncated picture";
            EXPECT_EQ(banded.status().to_string(), one.status().to_string());
        }
    }
}

}  // namespace
}  // namespace hclip
