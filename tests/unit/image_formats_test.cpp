// Format variants the fixture photos do not cover, encoded in memory with the same libraries (libpng, giflib,
// libwebp) or by hand (BMP): interlacing, bit depths, palettes with transparency, GIF frame geometry, BMP layouts.
// Each test decodes and checks every pixel against what Pillow would hold after palette expansion.
#include <gif_lib.h>
#include <gtest/gtest.h>
#include <png.h>
#include <webp/encode.h>

#include <array>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "image/decode.h"
#include "support/fixtures.h"

namespace hclip {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_fixture(const std::string& relative) {
    std::ifstream in(testing::fixture(relative), std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture " << testing::fixture(relative);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Image decode_ok(const Bytes& bytes) {
    auto image = decode_image(bytes);
    EXPECT_TRUE(image.ok()) << image.status().to_string();
    return image.ok() ? std::move(image).value() : Image{};
}

// --------------------------------------------------------------------------------------------------------- PNG

struct PngSpec {
    int width = 0;
    int height = 0;
    int color_type = PNG_COLOR_TYPE_RGB;
    int bit_depth = 8;
    bool interlaced = false;
    std::vector<png_color> palette;
    Bytes palette_alpha;            // tRNS for palette images
    bool grey_or_rgb_trns = false;  // a tRNS colour key on a grey / RGB image
};

void append_png_bytes(png_structp png, png_bytep data, std::size_t size) {
    auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
    out->insert(out->end(), data, data + size);
}

// `rows` holds packed PNG rows (big-endian 16-bit samples, MSB-first sub-byte pixels).
Bytes encode_png(const PngSpec& spec, std::vector<Bytes>& rows) {
    Bytes out;
    std::vector<png_bytep> pointers;
    for (auto& row : rows)
        pointers.push_back(row.data());
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png)) != 0) {
        png_destroy_write_struct(&png, &info);
        ADD_FAILURE() << "libpng could not encode the test image";
        return {};
    }
    png_set_write_fn(png, &out, append_png_bytes, nullptr);
    png_set_IHDR(png, info, static_cast<png_uint_32>(spec.width), static_cast<png_uint_32>(spec.height), spec.bit_depth,
                 spec.color_type, spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (!spec.palette.empty()) {
        png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
    }
    if (!spec.palette_alpha.empty()) {
        png_set_tRNS(png, info, spec.palette_alpha.data(), static_cast<int>(spec.palette_alpha.size()), nullptr);
    }
    png_color_16 key{};
    if (spec.grey_or_rgb_trns) png_set_tRNS(png, info, nullptr, 0, &key);
    png_set_rows(png, info, pointers.data());
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

TEST(ImagePngVariants, InterlacedMatchesNonInterlaced) {
    const Image reference = decode_ok(read_fixture("images/chelsea.png"));
    ASSERT_EQ(reference.mode, PixelMode::kRGB);
    PngSpec spec{reference.width, reference.height, PNG_COLOR_TYPE_RGB, 8, true, {}, {}, false};
    std::vector<Bytes> rows;
    for (int y = 0; y < reference.height; ++y) {
        const auto* row = reference.pixels.data() + static_cast<std::size_t>(y) * reference.row_bytes();
        rows.emplace_back(row, row + reference.row_bytes());
    }
    const Image decoded = decode_ok(encode_png(spec, rows));
    EXPECT_EQ(decoded.mode, PixelMode::kRGB);
    EXPECT_EQ(decoded.pixels, reference.pixels);
}

TEST(ImagePngVariants, SixteenBitKeepsHighByte) {
    // RGBA, grey and grey+alpha at 16 bits: sample = high * 256 + low, decoded as `high`.
    struct Case {
        int color_type;
        int samples;
        PixelMode mode;
    };
    for (const Case c :
         {Case{PNG_COLOR_TYPE_RGB_ALPHA, 4, PixelMode::kRGBA}, Case{PNG_COLOR_TYPE_GRAY, 1, PixelMode::kL},
          Case{PNG_COLOR_TYPE_GRAY_ALPHA, 2, PixelMode::kLA}}) {
        SCOPED_TRACE(c.color_type);
        const int w = 5;
        const int h = 3;
        std::vector<Bytes> rows;
        Bytes expected;
        for (int y = 0; y < h; ++y) {
            Bytes row;
            for (int i = 0; i < w * c.samples; ++i) {
                const auto high = static_cast<std::uint8_t>(37 * y + 11 * i);
                row.push_back(high);
                row.push_back(static_cast<std::uint8_t>(255 - high));
                expected.push_back(high);
            }
            rows.push_back(row);
        }
        const Image decoded = decode_ok(encode_png(PngSpec{w, h, c.color_type, 16, false, {}, {}, false}, rows));
        EXPECT_EQ(decoded.mode, c.mode);
        EXPECT_EQ(decoded.pixels, expected);
    }
}

TEST(ImagePngVariants, LowBitDepthGreyIsScaled) {
    // 1, 2, 4 bits: Pillow's L;1 (0/255), L;2 (x85), L;4 (x17) raw modes.
    for (int depth : {1, 2, 4}) {
        SCOPED_TRACE(depth);
        const int w = 11;
        const int levels = 1 << depth;
        Bytes row((static_cast<std::size_t>(w) * depth + 7) / 8, 0);
        Bytes expected;
        for (int x = 0; x < w; ++x) {
            const int v = (x * 3) % levels;
            const int bit = x * depth;
            row[static_cast<std::size_t>(bit / 8)] |= static_cast<std::uint8_t>(v << (8 - depth - bit % 8));
            expected.push_back(static_cast<std::uint8_t>(v * 255 / (levels - 1)));
        }
        std::vector<Bytes> rows = {row};
        const Image decoded =
            decode_ok(encode_png(PngSpec{w, 1, PNG_COLOR_TYPE_GRAY, depth, false, {}, {}, false}, rows));
        EXPECT_EQ(decoded.mode, PixelMode::kL);
        EXPECT_EQ(decoded.pixels, expected);
    }
}

TEST(ImagePngVariants, PaletteWithTransparencyBecomesRgba) {
    // 4-bit palette, tRNS for the first 3 entries: entries past tRNS are opaque.
    PngSpec spec{8, 2, PNG_COLOR_TYPE_PALETTE, 4, false, {}, {0, 128, 255}, false};
    for (int i = 0; i < 6; ++i) {
        spec.palette.push_back(png_color{static_cast<png_byte>(40 * i), static_cast<png_byte>(255 - 40 * i), 7});
    }
    std::vector<Bytes> rows = {{0x01, 0x23, 0x45, 0x01}, {0x54, 0x32, 0x10, 0x22}};
    const Image decoded = decode_ok(encode_png(spec, rows));
    EXPECT_EQ(decoded.mode, PixelMode::kRGBA);
    const int indices[16] = {0, 1, 2, 3, 4, 5, 0, 1, 5, 4, 3, 2, 1, 0, 2, 2};
    Bytes expected;
    for (int index : indices) {
        const auto& c = spec.palette[static_cast<std::size_t>(index)];
        expected.insert(expected.end(), {c.red, c.green, c.blue,
                                         index < 3 ? spec.palette_alpha[static_cast<std::size_t>(index)]
                                                   : static_cast<std::uint8_t>(255)});
    }
    EXPECT_EQ(decoded.pixels, expected);

    spec.palette_alpha.clear();  // no tRNS: plain RGB
    const Image opaque = decode_ok(encode_png(spec, rows));
    EXPECT_EQ(opaque.mode, PixelMode::kRGB);
    EXPECT_EQ(opaque.pixels.size(), 16u * 3u);
}

TEST(ImagePngVariants, ColourKeyOnGreyOrRgbIsIgnored) {
    // Pillow keeps L / RGB images with a tRNS colour key in their own mode; the CLIP pipeline never uses it.
    std::vector<Bytes> grey_rows = {{0, 10, 20}};
    const Image grey = decode_ok(encode_png(PngSpec{3, 1, PNG_COLOR_TYPE_GRAY, 8, false, {}, {}, true}, grey_rows));
    EXPECT_EQ(grey.mode, PixelMode::kL);
    EXPECT_EQ(grey.pixels, (Bytes{0, 10, 20}));
    std::vector<Bytes> rgb_rows = {{0, 0, 0, 1, 2, 3}};
    const Image rgb = decode_ok(encode_png(PngSpec{2, 1, PNG_COLOR_TYPE_RGB, 8, false, {}, {}, true}, rgb_rows));
    EXPECT_EQ(rgb.mode, PixelMode::kRGB);
    EXPECT_EQ(rgb.pixels, (Bytes{0, 0, 0, 1, 2, 3}));
}

// --------------------------------------------------------------------------------------------------------- GIF

int append_gif_bytes(GifFileType* gif, const GifByteType* data, int size) {
    auto* out = static_cast<Bytes*>(gif->UserData);
    out->insert(out->end(), data, data + size);
    return size;
}

struct GifSpec {
    int screen_width = 0;
    int screen_height = 0;
    int left = 0;
    int top = 0;
    int width = 0;
    int height = 0;
    bool interlaced = false;
    int transparent = -1;
    std::vector<GifColorType> colors;  // 2^n entries
};

// `indices` is the frame, row by row.
Bytes encode_gif(const GifSpec& spec, const Bytes& indices) {
    Bytes out;
    int error = 0;
    GifFileType* gif = EGifOpen(&out, append_gif_bytes, &error);
    EXPECT_NE(gif, nullptr);
    if (gif == nullptr) return {};
    EGifSetGifVersion(gif, true);
    ColorMapObject* map = GifMakeMapObject(static_cast<int>(spec.colors.size()), spec.colors.data());
    EXPECT_EQ(EGifPutScreenDesc(gif, spec.screen_width, spec.screen_height, 8, 0, map), GIF_OK);
    if (spec.transparent >= 0) {
        GraphicsControlBlock control{DISPOSAL_UNSPECIFIED, false, 0, spec.transparent};
        GifByteType extension[4];
        const std::size_t size = EGifGCBToExtension(&control, extension);
        EXPECT_EQ(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(size), extension), GIF_OK);
    }
    EXPECT_EQ(EGifPutImageDesc(gif, spec.left, spec.top, spec.width, spec.height, spec.interlaced, nullptr), GIF_OK);
    std::vector<int> order;
    if (spec.interlaced) {
        for (auto [start, step] : {std::pair{0, 8}, std::pair{4, 8}, std::pair{2, 4}, std::pair{1, 2}}) {
            for (int y = start; y < spec.height; y += step)
                order.push_back(y);
        }
    } else {
        for (int y = 0; y < spec.height; ++y)
            order.push_back(y);
    }
    Bytes line(static_cast<std::size_t>(spec.width));
    for (int y : order) {
        std::memcpy(line.data(), indices.data() + static_cast<std::size_t>(y) * spec.width, line.size());
        EXPECT_EQ(EGifPutLine(gif, line.data(), spec.width), GIF_OK);
    }
    EXPECT_EQ(EGifCloseFile(gif, &error), GIF_OK);
    GifFreeMapObject(map);
    return out;
}

std::vector<GifColorType> colour_palette(int count) {
    std::vector<GifColorType> colors;
    for (int i = 0; i < count; ++i) {
        colors.push_back(GifColorType{static_cast<GifByteType>(16 * i + 5), static_cast<GifByteType>(200 - 9 * i),
                                      static_cast<GifByteType>(i * i)});
    }
    return colors;
}

TEST(ImageGifVariants, InterlacedFrameWithTransparencyInsideTheScreen) {
    GifSpec spec{16, 12, 3, 2, 10, 9, true, 3, colour_palette(16)};
    Bytes frame(static_cast<std::size_t>(spec.width * spec.height));
    for (std::size_t i = 0; i < frame.size(); ++i)
        frame[i] = static_cast<std::uint8_t>((i * 7) % 16);
    const Image decoded = decode_ok(encode_gif(spec, frame));
    ASSERT_EQ(decoded.mode, PixelMode::kRGBA);
    ASSERT_EQ(decoded.width, 16);
    ASSERT_EQ(decoded.height, 12);
    for (int y = 0; y < 12; ++y) {
        for (int x = 0; x < 16; ++x) {
            const bool inside = x >= 3 && x < 13 && y >= 2 && y < 11;
            // Outside the frame Pillow's canvas holds the transparent index.
            const int index = inside ? frame[static_cast<std::size_t>((y - 2) * 10 + (x - 3))] : 3;
            const auto& c = spec.colors[static_cast<std::size_t>(index)];
            const std::uint8_t* p = decoded.pixels.data() + (static_cast<std::size_t>(y) * 16 + x) * 4;
            ASSERT_EQ(p[0], c.Red) << x << "," << y;
            ASSERT_EQ(p[1], c.Green);
            ASSERT_EQ(p[2], c.Blue);
            ASSERT_EQ(p[3], index == 3 ? 0 : 255);
        }
    }
}

TEST(ImageGifVariants, FrameBeyondTheScreenEnlargesTheCanvas) {
    GifSpec spec{8, 8, 4, 4, 8, 8, false, -1, colour_palette(4)};
    Bytes frame(64, 2);
    const Bytes bytes = encode_gif(spec, frame);
    const Image decoded = decode_ok(bytes);
    EXPECT_EQ(decoded.mode, PixelMode::kRGB);
    EXPECT_EQ(decoded.width, 12);
    EXPECT_EQ(decoded.height, 12);
    auto info = probe_image(bytes);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->width, 12);
    // Outside the frame: index 0.
    EXPECT_EQ(decoded.pixels[0], spec.colors[0].Red);
    EXPECT_EQ(decoded.pixels[(11 * 12 + 11) * 3], spec.colors[2].Red);
}

TEST(ImageGifVariants, GreyRampPaletteGivesL) {
    std::vector<GifColorType> ramp;
    for (int i = 0; i < 4; ++i)
        ramp.push_back(GifColorType{GifByteType(i), GifByteType(i), GifByteType(i)});
    const Bytes frame = {0, 1, 2, 3, 3, 2};
    const Image decoded = decode_ok(encode_gif(GifSpec{3, 2, 0, 0, 3, 2, false, 1, ramp}, frame));
    EXPECT_EQ(decoded.mode, PixelMode::kL);
    EXPECT_EQ(decoded.pixels, frame);
}

// -------------------------------------------------------------------------------------------------------- WebP

TEST(ImageWebpVariants, LosslessWithAlphaIsExact) {
    const int w = 13;
    const int h = 7;
    Bytes rgba;
    for (int i = 0; i < w * h; ++i) {
        rgba.insert(rgba.end(), {static_cast<std::uint8_t>(i * 3), static_cast<std::uint8_t>(255 - i),
                                 static_cast<std::uint8_t>(i * 7), static_cast<std::uint8_t>(i % 5 == 0 ? 0 : 40 + i)});
    }
    std::uint8_t* encoded = nullptr;
    const std::size_t size = WebPEncodeLosslessRGBA(rgba.data(), w, h, w * 4, &encoded);
    ASSERT_GT(size, 0u);
    const Bytes bytes(encoded, encoded + size);
    WebPFree(encoded);
    const Image decoded = decode_ok(bytes);
    EXPECT_EQ(decoded.mode, PixelMode::kRGBA);
    ASSERT_EQ(decoded.pixels.size(), rgba.size());
    for (std::size_t i = 0; i < rgba.size(); i += 4) {
        EXPECT_EQ(decoded.pixels[i + 3], rgba[i + 3]);
        if (rgba[i + 3] != 0) {  // the encoder may rewrite the colour of fully transparent pixels
            EXPECT_EQ(decoded.pixels[i], rgba[i]);
            EXPECT_EQ(decoded.pixels[i + 1], rgba[i + 1]);
            EXPECT_EQ(decoded.pixels[i + 2], rgba[i + 2]);
        }
    }
}

TEST(ImageWebpVariants, LossyRgbAndRgba) {
    const Image reference = decode_ok(read_fixture("images/chelsea.png"));
    std::uint8_t* encoded = nullptr;
    std::size_t size = WebPEncodeRGB(reference.pixels.data(), reference.width, reference.height,
                                     static_cast<int>(reference.row_bytes()), 90.0f, &encoded);
    ASSERT_GT(size, 0u);
    Bytes bytes(encoded, encoded + size);
    WebPFree(encoded);
    Image decoded = decode_ok(bytes);
    EXPECT_EQ(decoded.mode, PixelMode::kRGB);
    ASSERT_EQ(decoded.pixels.size(), reference.pixels.size());
    double total = 0;
    for (std::size_t i = 0; i < decoded.pixels.size(); ++i)
        total += std::abs(decoded.pixels[i] - reference.pixels[i]);
    EXPECT_LT(total / static_cast<double>(decoded.pixels.size()), 6.0);

    const Image rgba = decode_ok(read_fixture("images/alpha_gradient_rgba.png"));
    size = WebPEncodeRGBA(rgba.pixels.data(), rgba.width, rgba.height, static_cast<int>(rgba.row_bytes()), 90.0f,
                          &encoded);
    ASSERT_GT(size, 0u);
    bytes.assign(encoded, encoded + size);
    WebPFree(encoded);
    decoded = decode_ok(bytes);
    EXPECT_EQ(decoded.mode, PixelMode::kRGBA);
    ASSERT_EQ(decoded.pixels.size(), rgba.pixels.size());
    for (std::size_t i = 3; i < rgba.pixels.size(); i += 4)
        ASSERT_EQ(decoded.pixels[i], rgba.pixels[i]) << i;
}

// --------------------------------------------------------------------------------------------------------- BMP

struct BmpSpec {
    int width = 0;
    int height = 0;  // negative: top-down
    int bits = 24;
    std::uint32_t compression = 0;
    std::uint32_t header_size = 40;
    std::vector<std::uint32_t> masks;                  // BITFIELDS: R, G, B (, A)
    std::vector<std::array<std::uint8_t, 3>> palette;  // R, G, B
};

void put_le(Bytes& b, std::uint32_t v, int size) {
    for (int i = 0; i < size; ++i)
        b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

Bytes encode_bmp(const BmpSpec& spec, const Bytes& pixel_data) {
    Bytes info;
    put_le(info, spec.header_size, 4);
    put_le(info, static_cast<std::uint32_t>(spec.width), 4);
    put_le(info, static_cast<std::uint32_t>(spec.height), 4);
    put_le(info, 1, 2);
    put_le(info, static_cast<std::uint32_t>(spec.bits), 2);
    put_le(info, spec.compression, 4);
    put_le(info, static_cast<std::uint32_t>(pixel_data.size()), 4);
    put_le(info, 2835, 4);
    put_le(info, 2835, 4);
    put_le(info, static_cast<std::uint32_t>(spec.palette.size()), 4);
    put_le(info, 0, 4);
    Bytes masks;
    for (std::uint32_t m : spec.masks)
        put_le(masks, m, 4);
    if (spec.header_size > 40) {
        masks.resize(spec.header_size - 40, 0);  // V4/V5: masks at the start of the extension
        info.insert(info.end(), masks.begin(), masks.end());
        masks.clear();
    }
    Bytes palette;
    for (const auto& c : spec.palette)
        palette.insert(palette.end(), {c[2], c[1], c[0], 0});
    Bytes file = {'B', 'M'};
    const std::uint32_t offset = static_cast<std::uint32_t>(14 + info.size() + masks.size() + palette.size());
    put_le(file, static_cast<std::uint32_t>(offset + pixel_data.size()), 4);
    put_le(file, 0, 4);
    put_le(file, offset, 4);
    for (const Bytes* part : std::initializer_list<const Bytes*>{&info, &masks, &palette, &pixel_data})
        file.insert(file.end(), part->begin(), part->end());
    return file;
}

// Rows padded to 4 bytes, stored bottom-up unless `top_down`.
Bytes bmp_rows(const std::vector<Bytes>& rows, bool top_down) {
    Bytes data;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Bytes& row = rows[top_down ? i : rows.size() - 1 - i];
        data.insert(data.end(), row.begin(), row.end());
        data.resize((data.size() + 3) / 4 * 4, 0);
    }
    return data;
}

TEST(ImageBmpVariants, PaletteDepths) {
    const std::vector<std::array<std::uint8_t, 3>> colours = {{255, 0, 0}, {0, 0, 255}, {9, 99, 199}, {1, 2, 3}};
    // 1-bit, colour palette: RGB.
    {
        const BmpSpec spec{10, 2, 1, 0, 40, {}, {colours[0], colours[1]}};
        const Image decoded =
            decode_ok(encode_bmp(spec, bmp_rows({{0b10110000, 0b01000000}, {0b00000000, 0b11000000}}, false)));
        ASSERT_EQ(decoded.mode, PixelMode::kRGB);
        const int expected[20] = {1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
        for (int i = 0; i < 20; ++i)
            EXPECT_EQ(decoded.pixels[static_cast<std::size_t>(i) * 3 + 2], expected[i] ? 255 : 0);
    }
    // 1-bit black and white: Pillow's mode "1", here L with 0 / 255.
    {
        const BmpSpec spec{3, 1, 1, 0, 40, {}, {{0, 0, 0}, {255, 255, 255}}};
        const Image decoded = decode_ok(encode_bmp(spec, bmp_rows({{0b10100000}}, false)));
        EXPECT_EQ(decoded.mode, PixelMode::kL);
        EXPECT_EQ(decoded.pixels, (Bytes{255, 0, 255}));
    }
    // 4-bit and 8-bit, top-down.
    {
        const BmpSpec spec{3, -2, 4, 0, 40, {}, colours};
        const Image decoded = decode_ok(encode_bmp(spec, bmp_rows({{0x01, 0x20}, {0x33, 0x10}}, true)));
        ASSERT_EQ(decoded.mode, PixelMode::kRGB);
        const int expected[6] = {0, 1, 2, 3, 3, 1};
        for (int i = 0; i < 6; ++i) {
            const auto& c = colours[static_cast<std::size_t>(expected[i])];
            EXPECT_EQ(decoded.pixels[static_cast<std::size_t>(i) * 3], c[0]);
            EXPECT_EQ(decoded.pixels[static_cast<std::size_t>(i) * 3 + 1], c[1]);
            EXPECT_EQ(decoded.pixels[static_cast<std::size_t>(i) * 3 + 2], c[2]);
        }
    }
    {
        const BmpSpec spec{2, 2, 8, 0, 40, {}, colours};
        const Image decoded = decode_ok(encode_bmp(spec, bmp_rows({{3, 2}, {1, 0}}, false)));
        EXPECT_EQ(decoded.pixels, (Bytes{1, 2, 3, 9, 99, 199, 0, 0, 255, 255, 0, 0}));
    }
}

TEST(ImageBmpVariants, DirectColourLayouts) {
    // 16-bit 5-5-5 (default) and 5-6-5 bit fields: v * 255 / max like Pillow's BGR;15 / BGR;16.
    {
        const BmpSpec spec{2, 1, 16, 0, 40, {}, {}};
        const std::uint16_t a = (31 << 10) | (16 << 5) | 1;  // r 31, g 16, b 1
        const Image decoded = decode_ok(encode_bmp(spec, bmp_rows({{a & 0xFF, a >> 8, 0, 0}}, false)));
        EXPECT_EQ(decoded.pixels, (Bytes{255, 131, 8, 0, 0, 0}));
    }
    {
        const BmpSpec spec{1, 1, 16, 3, 40, {0xF800, 0x07E0, 0x001F}, {}};
        const std::uint16_t a = (1 << 11) | (63 << 5) | 30;
        const Image decoded = decode_ok(encode_bmp(spec, bmp_rows({{a & 0xFF, a >> 8}}, false)));
        EXPECT_EQ(decoded.pixels, (Bytes{8, 255, 246}));
    }
    // 32-bit without bit fields: B, G, R, X (the fourth byte is not alpha).
    {
        const BmpSpec spec{1, 1, 32, 0, 40, {}, {}};
        const Image decoded = decode_ok(encode_bmp(spec, bmp_rows({{10, 20, 30, 0}}, false)));
        EXPECT_EQ(decoded.mode, PixelMode::kRGB);
        EXPECT_EQ(decoded.pixels, (Bytes{30, 20, 10}));
    }
    // 32-bit V4 header with an alpha mask: RGBA.
    {
        const BmpSpec spec{2, 1, 32, 3, 108, {0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000}, {}};
        const Image decoded = decode_ok(encode_bmp(spec, bmp_rows({{10, 20, 30, 40, 1, 2, 3, 255}}, false)));
        EXPECT_EQ(decoded.mode, PixelMode::kRGBA);
        EXPECT_EQ(decoded.pixels, (Bytes{30, 20, 10, 40, 3, 2, 1, 255}));
    }
}

TEST(ImageBmpVariants, RunLengthEncoded) {
    const std::vector<std::array<std::uint8_t, 3>> grey_free = {{5, 0, 0}, {0, 6, 0}, {0, 0, 7}, {8, 8, 0}};
    // RLE8, 5 x 3, stored bottom-up. Bottom row: runs 3 x 1, 1 x 2, 1 x 3, end of line. Middle row: delta (2, 0),
    // absolute [3, 3, 3] (padded to 16 bits), end of line. Top row: run 5 x 2, end of bitmap.
    const Bytes rle8 = {3, 1, 1, 2, 1, 3, 0, 0, 0, 2, 2, 0, 0, 3, 3, 3, 3, 0, 0, 0, 5, 2, 0, 1};
    const BmpSpec spec{5, 3, 8, 1, 40, {}, grey_free};
    const Image decoded = decode_ok(encode_bmp(spec, rle8));
    ASSERT_EQ(decoded.mode, PixelMode::kRGB);
    const int expected[15] = {2, 2, 2, 2, 2, 0, 0, 3, 3, 3, 1, 1, 1, 2, 3};  // top row first
    for (int i = 0; i < 15; ++i) {
        EXPECT_EQ(decoded.pixels[static_cast<std::size_t>(i) * 3], grey_free[static_cast<std::size_t>(expected[i])][0])
            << i;
    }
    // RLE4: 4 x 1, run of 3 alternating (1, 2), then absolute [3] (padded), end of bitmap.
    const Bytes rle4 = {3, 0x12, 0, 3, 0x30, 0, 0, 1};  // absolute run of 3 nibbles: 3, 0, (pad)
    const BmpSpec spec4{4, 1, 4, 2, 40, {}, grey_free};
    const Image decoded4 = decode_ok(encode_bmp(spec4, rle4));
    const int expected4[4] = {1, 2, 1, 3};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(decoded4.pixels[static_cast<std::size_t>(i) * 3 + 1],
                  grey_free[static_cast<std::size_t>(expected4[i])][1])
            << i;
    }
    // A stream that ends before the image is complete is an error (Pillow: "not enough image data").
    const Bytes short_rle = {3, 1, 0, 1};
    const auto failed = decode_image(encode_bmp(spec, short_rle));
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
    // Truncated in the middle of a run.
    const auto truncated = decode_image(encode_bmp(spec, Bytes{3, 1, 0}));
    ASSERT_FALSE(truncated.ok());
    EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos);
}

}  // namespace
}  // namespace hclip
