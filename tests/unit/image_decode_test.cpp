// Decoding against the reference pixels (Pillow 9.4), probing, EXIF orientation, malformed inputs and bombs.
// Malformed inputs are made in memory from the fixture files; no broken file is committed.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/timer.h"
#include "image/decode.h"
#include "image/exif.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

namespace hclip {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_fixture(const std::string& relative) {
    std::ifstream in(testing::fixture(relative), std::ios::binary);
    EXPECT_TRUE(in.good()) << "missing fixture " << testing::fixture(relative);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

nlohmann::json read_manifest() {
    std::ifstream in(testing::fixture("preprocess/manifest.json"));
    EXPECT_TRUE(in.good()) << "missing fixture preprocess/manifest.json";
    if (!in.good()) return nlohmann::json::array();
    return nlohmann::json::parse(in);
}

Bytes prefix(const Bytes& bytes, std::size_t size) {
    return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(size, bytes.size())));
}

std::size_t read_be16(const Bytes& b, std::size_t at) {
    return (std::size_t{b[at]} << 8) | b[at + 1];
}

void put_u16_be(Bytes& b, std::size_t at, unsigned v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}
void put_u16_le(Bytes& b, std::size_t at, unsigned v) {
    b[at] = static_cast<std::uint8_t>(v);
    b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put_u32_be(Bytes& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void put_u32_le(Bytes& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::size_t find_bytes(const Bytes& haystack, std::initializer_list<std::uint8_t> needle, std::size_t from = 0) {
    const auto it =
        std::search(haystack.begin() + static_cast<std::ptrdiff_t>(from), haystack.end(), needle.begin(), needle.end());
    return it == haystack.end() ? std::string::npos : static_cast<std::size_t>(it - haystack.begin());
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

// A big-endian TIFF blob with IFD0 holding only the orientation tag.
Bytes exif_blob(int orientation, bool with_prefix = true) {
    Bytes b;
    if (with_prefix) b = {'E', 'x', 'i', 'f', 0, 0};
    const Bytes tiff = {'M',  'M',  0, 42, 0, 0, 0, 8, 0, 1,
                        0x01, 0x12, 0, 3,  0, 0, 0, 1, 0, static_cast<std::uint8_t>(orientation),
                        0,    0,    0, 0,  0, 0};
    b.insert(b.end(), tiff.begin(), tiff.end());
    return b;
}

// Where fixture geometry fields live, so tests can rewrite them.
std::size_t gif_descriptor_offset(const Bytes& gif) {
    std::size_t offset = 13;
    if (gif[10] & 0x80) offset += std::size_t{3} << ((gif[10] & 7) + 1);
    return offset;
}

struct FormatCase {
    std::string name;
    std::string file;
};

const std::vector<FormatCase>& format_cases() {
    static const std::vector<FormatCase> cases = {
        {"JPEG", "rocket.jpg"},    {"JPEG", "progressive.jpg"}, {"PNG", "chelsea.png"}, {"PNG", "palette_P.png"},
        {"WebP", "lossless.webp"}, {"GIF", "palette.gif"},      {"BMP", "plain.bmp"},
    };
    return cases;
}

// Copy of `bytes` with the header's width and height replaced (the same fields every test uses).
Bytes with_dimensions(const std::string& format, Bytes bytes, std::uint32_t width, std::uint32_t height) {
    if (format == "JPEG") {
        std::size_t sof = find_bytes(bytes, {0xFF, 0xC0});
        if (sof == std::string::npos) sof = find_bytes(bytes, {0xFF, 0xC2});
        put_u16_be(bytes, sof + 5, height);
        put_u16_be(bytes, sof + 7, width);
    } else if (format == "PNG") {
        put_u32_be(bytes, 16, width);
        put_u32_be(bytes, 20, height);
    } else if (format == "WebP") {  // VP8L: 14 bits width - 1, 14 bits height - 1 after the 0x2f signature
        const std::uint32_t packed = ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14);
        const std::uint32_t old = bytes[21] | (bytes[22] << 8) | (bytes[23] << 16) | (std::uint32_t{bytes[24]} << 24);
        put_u32_le(bytes, 21, (old & 0xF0000000u) | packed);
    } else if (format == "GIF") {
        put_u16_le(bytes, 6, width);
        put_u16_le(bytes, 8, height);
        const std::size_t desc = gif_descriptor_offset(bytes);
        put_u16_le(bytes, desc + 5, width);
        put_u16_le(bytes, desc + 7, height);
    } else if (format == "BMP") {
        put_u32_le(bytes, 18, width);
        put_u32_le(bytes, 22, height);
    }
    return bytes;
}

// Bytes up to and including the size fields: enough for the header, none of the pixel data.
std::size_t header_end(const std::string& format, const Bytes& bytes) {
    if (format == "JPEG") {
        std::size_t sof = find_bytes(bytes, {0xFF, 0xC0});
        if (sof == std::string::npos) sof = find_bytes(bytes, {0xFF, 0xC2});
        return sof + 2 + read_be16(bytes, sof + 2);
    }
    if (format == "PNG") return 33;
    if (format == "WebP") return 30;
    if (format == "GIF") return gif_descriptor_offset(bytes) + 10;
    return 54;
}

// ----------------------------------------------------------------------------------------------------------------

TEST(ImageDecodeGolden, ManifestCoversEveryFixtureImage) {
    const auto manifest = read_manifest();
    std::set<std::string> listed;
    for (const auto& entry : manifest)
        listed.insert(entry.at("file").get<std::string>());
    std::set<std::string> on_disk;
    for (const auto& entry : std::filesystem::directory_iterator(testing::fixture("images"))) {
        on_disk.insert(entry.path().filename().string());
    }
    EXPECT_EQ(listed.size(), 32u);
    EXPECT_EQ(listed, on_disk);
}

TEST(ImageDecodeGolden, MatchesReferencePixels) {
    auto golden = SafetensorsFile::open(testing::fixture("preprocess/decoded.safetensors"));
    ASSERT_TRUE(golden.ok()) << golden.status().to_string();
    ASSERT_EQ(golden->tensors().size(), 31u);  // every image but the 4000x3000 one
    std::size_t exact = 0;
    for (const auto& tensor : golden->tensors()) {
        SCOPED_TRACE(tensor.name);
        const auto bytes = read_fixture("images/" + tensor.name);
        auto image = decode_image(bytes);
        ASSERT_TRUE(image.ok()) << image.status().to_string();
        ASSERT_EQ(tensor.dtype, DType::kU8);
        ASSERT_EQ(tensor.shape.size(), 3u);
        EXPECT_EQ(image->height, tensor.shape[0]);
        EXPECT_EQ(image->width, tensor.shape[1]);
        EXPECT_EQ(channels(image->mode), tensor.shape[2]);
        ASSERT_EQ(image->pixels.size(), tensor.data.size());
        std::size_t mismatches = 0;
        int max_diff = 0;
        for (std::size_t i = 0; i < tensor.data.size(); ++i) {
            const int diff = std::abs(int{image->pixels[i]} - int{tensor.data[i]});
            if (diff != 0) ++mismatches;
            max_diff = std::max(max_diff, diff);
        }
        std::printf("[decode] %-32s %-4s %4dx%-4d mismatched bytes %zu, max |diff| %d\n", tensor.name.c_str(),
                    std::string(pixel_mode_name(image->mode)).c_str(), image->width, image->height, mismatches,
                    max_diff);
        if (mismatches == 0) ++exact;
        EXPECT_EQ(mismatches, 0u);
    }
    std::printf("[decode] exact matches: %zu / %zu\n", exact, golden->tensors().size());
    EXPECT_EQ(exact, golden->tensors().size());
}

TEST(ImageDecodeGolden, ModesMatchManifest) {
    // Palette images decode to RGB (or RGBA with transparency); every other mode is kept.
    for (const auto& entry : read_manifest()) {
        const std::string file = entry.at("file").get<std::string>();
        SCOPED_TRACE(file);
        std::string mode = entry.at("decoded_mode").get<std::string>();
        if (mode == "P") mode = "RGB";
        auto image = decode_image(read_fixture("images/" + file));
        ASSERT_TRUE(image.ok()) << image.status().to_string();
        EXPECT_EQ(pixel_mode_name(image->mode), mode);
        EXPECT_EQ(image->width, entry.at("after_exif")[0].get<int>());
        EXPECT_EQ(image->height, entry.at("after_exif")[1].get<int>());
    }
}

TEST(ImageProbe, ReportsFormatAndOrientedSizeOfEveryFixture) {
    for (const auto& entry : read_manifest()) {
        const std::string file = entry.at("file").get<std::string>();
        SCOPED_TRACE(file);
        auto info = probe_image(read_fixture("images/" + file));
        ASSERT_TRUE(info.ok()) << info.status().to_string();
        EXPECT_EQ(info->width, entry.at("after_exif")[0].get<int>());
        EXPECT_EQ(info->height, entry.at("after_exif")[1].get<int>());
        const std::string ext = std::filesystem::path(file).extension().string();
        const std::string expected_format = ext == ".jpg"    ? "JPEG"
                                            : ext == ".png"  ? "PNG"
                                            : ext == ".webp" ? "WebP"
                                            : ext == ".gif"  ? "GIF"
                                                             : "BMP";
        EXPECT_EQ(info->format, expected_format);
    }
}

TEST(ImageProbe, ReadsOnlyTheHeader) {
    // The first 2 KB of the 4000x3000 JPEG hold its header but almost none of its pixels: probing succeeds, decoding
    // reports the truncation.
    const Bytes large = read_fixture("images/large_4000x3000.jpg");
    const Bytes head = prefix(large, 2048);
    Stopwatch watch;
    auto info = probe_image(head);
    const double probe_ms = watch.elapsed_ms();
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(info->width, 4000);
    EXPECT_EQ(info->height, 3000);
    EXPECT_EQ(info->format, "JPEG");
    EXPECT_LT(probe_ms, 50.0);
    auto image = decode_image(head);
    ASSERT_FALSE(image.ok());
    EXPECT_EQ(image.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(image.status().message().find("truncated"), std::string::npos) << image.status().message();
}

TEST(ImageProbe, RejectsWhatDecodeRejects) {
    EXPECT_EQ(probe_image({}).status().code(), StatusCode::kInvalidArgument);
    const std::string text = "hello, world";
    auto info = probe_image(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument);
    Bytes zero = with_dimensions("PNG", read_fixture("images/chelsea.png"), 0, 0);
    EXPECT_EQ(probe_image(zero).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------- EXIF orientation

TEST(ImageExif, ParsesOrientationTag) {
    for (int o = 1; o <= 8; ++o) {
        EXPECT_EQ(exif_orientation(exif_blob(o)), o);
        EXPECT_EQ(exif_orientation(exif_blob(o, false)), o);
    }
    // Little-endian layout.
    const Bytes le = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(exif_orientation(le), 3);
    // Out-of-range values, wrong counts, truncation and garbage all mean "no orientation".
    EXPECT_EQ(exif_orientation(exif_blob(0)), 1);
    EXPECT_EQ(exif_orientation(exif_blob(9)), 1);
    Bytes two_values = exif_blob(6);
    two_values[6 + 17] = 2;
    EXPECT_EQ(exif_orientation(two_values), 1);
    for (std::size_t cut = 0; cut < exif_blob(6).size() - 6; ++cut) {
        const Bytes blob = prefix(exif_blob(6), cut);
        const int value = exif_orientation(blob);
        EXPECT_TRUE(value == 1 || value == 6);
    }
    EXPECT_EQ(exif_orientation(prefix(exif_blob(6), 6 + 19)), 1);
    const Bytes garbage(64, 0xAB);
    EXPECT_EQ(exif_orientation(garbage), 1);
    Bytes bad_offset = exif_blob(6);
    put_u32_be(bad_offset, 6 + 4, 0xFFFFFFF0u);
    EXPECT_EQ(exif_orientation(bad_offset), 1);
}

TEST(ImageExif, ParsesXmpOrientation) {
    EXPECT_EQ(xmp_orientation(R"(<rdf:Description tiff:Orientation="6"/>)"), 6);
    EXPECT_EQ(xmp_orientation("<tiff:Orientation>8</tiff:Orientation>"), 8);
    EXPECT_EQ(xmp_orientation("<x:xmpmeta/>"), 1);
    EXPECT_EQ(xmp_orientation("tiff:Orientation"), 1);
}

// A 3x2 RGB image whose pixel (x, y) holds the value 10 * y + x in every channel.
Image labelled_image() {
    Image image;
    image.width = 3;
    image.height = 2;
    image.mode = PixelMode::kRGB;
    for (int y = 0; y < 2; ++y) {
        for (int x = 0; x < 3; ++x) {
            for (int c = 0; c < 3; ++c)
                image.pixels.push_back(static_cast<std::uint8_t>(10 * y + x));
        }
    }
    return image;
}

std::vector<int> labels(const Image& image) {
    std::vector<int> out;
    for (std::size_t i = 0; i < image.pixels.size(); i += 3)
        out.push_back(image.pixels[i]);
    return out;
}

TEST(ImageExif, AppliesEachOrientationLikePillow) {
    // Source:  0  1  2
    //         10 11 12
    struct Case {
        int orientation;
        int width;
        int height;
        std::vector<int> expected;
    };
    const std::vector<Case> cases = {
        {1, 3, 2, {0, 1, 2, 10, 11, 12}},  // as stored
        {2, 3, 2, {2, 1, 0, 12, 11, 10}},  // mirrored left-right
        {3, 3, 2, {12, 11, 10, 2, 1, 0}},  // rotated 180
        {4, 3, 2, {10, 11, 12, 0, 1, 2}},  // flipped top-bottom
        {5, 2, 3, {0, 10, 1, 11, 2, 12}},  // transposed
        {6, 2, 3, {10, 0, 11, 1, 12, 2}},  // rotated 90 clockwise
        {7, 2, 3, {12, 2, 11, 1, 10, 0}},  // transversed
        {8, 2, 3, {2, 12, 1, 11, 0, 10}},  // rotated 90 counter-clockwise
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.orientation);
        const Image out = apply_exif_orientation(labelled_image(), c.orientation);
        EXPECT_EQ(out.width, c.width);
        EXPECT_EQ(out.height, c.height);
        EXPECT_EQ(labels(out), c.expected);
    }
    EXPECT_EQ(labels(apply_exif_orientation(labelled_image(), 0)), labels(labelled_image()));
    EXPECT_EQ(labels(apply_exif_orientation(labelled_image(), 42)), labels(labelled_image()));
}

// Pixel (x, y) of the oriented image comes from this pixel of the stored image (stored size w x h).
std::pair<int, int> oriented_source(int orientation, int x, int y, int w, int h) {
    switch (orientation) {
        case 2:
            return {w - 1 - x, y};
        case 3:
            return {w - 1 - x, h - 1 - y};
        case 4:
            return {x, h - 1 - y};
        case 5:
            return {y, x};
        case 6:
            return {y, h - 1 - x};
        case 7:
            return {w - 1 - y, h - 1 - x};
        case 8:
            return {w - 1 - y, x};
        default:
            return {x, y};
    }
}

void expect_oriented(const Image& stored, const Image& oriented, int orientation) {
    const bool swaps = orientation >= 5;
    ASSERT_EQ(oriented.width, swaps ? stored.height : stored.width);
    ASSERT_EQ(oriented.height, swaps ? stored.width : stored.height);
    const int c = channels(stored.mode);
    std::size_t mismatches = 0;
    for (int y = 0; y < oriented.height; ++y) {
        for (int x = 0; x < oriented.width; ++x) {
            const auto [sx, sy] = oriented_source(orientation, x, y, stored.width, stored.height);
            for (int k = 0; k < c; ++k) {
                if (oriented.pixels[(static_cast<std::size_t>(y) * oriented.width + x) * c + k] !=
                    stored.pixels[(static_cast<std::size_t>(sy) * stored.width + sx) * c + k]) {
                    ++mismatches;
                }
            }
        }
    }
    EXPECT_EQ(mismatches, 0u);
}

TEST(ImageExif, JpegOrientationSixIsAppliedByDefault) {
    const Bytes bytes = read_fixture("images/exif_orientation_6.jpg");
    auto oriented = decode_image(bytes);
    ASSERT_TRUE(oriented.ok()) << oriented.status().to_string();
    DecodeOptions raw_options;
    raw_options.apply_exif_orientation = false;
    auto stored = decode_image(bytes, raw_options);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->width, 300);
    EXPECT_EQ(stored->height, 200);
    EXPECT_EQ(oriented->width, 200);
    EXPECT_EQ(oriented->height, 300);
    expect_oriented(*stored, *oriented, 6);
    auto info = probe_image(bytes);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->orientation, 6);
}

TEST(ImageExif, EveryJpegOrientation) {
    // Rewrite the orientation value of the fixture's EXIF entry (tag 0x0112, SHORT, count 1, big-endian).
    const Bytes original = read_fixture("images/exif_orientation_6.jpg");
    const std::size_t entry = find_bytes(original, {0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01});
    ASSERT_NE(entry, std::string::npos);
    DecodeOptions raw_options;
    raw_options.apply_exif_orientation = false;
    auto stored = decode_image(original, raw_options);
    ASSERT_TRUE(stored.ok());
    for (int o = 1; o <= 8; ++o) {
        SCOPED_TRACE(o);
        Bytes bytes = original;
        put_u16_be(bytes, entry + 8, static_cast<unsigned>(o));
        auto oriented = decode_image(bytes);
        ASSERT_TRUE(oriented.ok()) << oriented.status().to_string();
        expect_oriented(*stored, *oriented, o);
    }
}

TEST(ImageExif, PngExifChunk) {
    // Insert an eXIf chunk (orientation 8) right after IHDR.
    const Bytes original = read_fixture("images/odd_223x331.png");
    const Bytes payload = exif_blob(8, false);
    Bytes chunk(8);
    put_u32_be(chunk, 0, static_cast<std::uint32_t>(payload.size()));
    std::memcpy(chunk.data() + 4, "eXIf", 4);
    chunk.insert(chunk.end(), payload.begin(), payload.end());
    chunk.resize(chunk.size() + 4);
    put_u32_be(chunk, chunk.size() - 4, crc32(chunk.data() + 4, chunk.size() - 8));
    Bytes bytes(original.begin(), original.begin() + 33);
    bytes.insert(bytes.end(), chunk.begin(), chunk.end());
    bytes.insert(bytes.end(), original.begin() + 33, original.end());

    auto stored = decode_image(original);
    auto oriented = decode_image(bytes);
    ASSERT_TRUE(stored.ok());
    ASSERT_TRUE(oriented.ok()) << oriented.status().to_string();
    expect_oriented(*stored, *oriented, 8);
    auto info = probe_image(bytes);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->width, 331);
    EXPECT_EQ(info->height, 223);
}

TEST(ImageExif, WebpExifChunk) {
    // Wrap the fixture's VP8L bitstream in the extended format: VP8X (EXIF flag, canvas size), VP8L, EXIF (3).
    const Bytes original = read_fixture("images/lossless.webp");
    ASSERT_EQ(std::string(original.begin() + 12, original.begin() + 16), "VP8L");
    const Bytes vp8l(original.begin() + 12, original.end());
    Bytes bytes = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0, 0x08, 0, 0, 0};
    const std::uint32_t w = 451 - 1;
    const std::uint32_t h = 300 - 1;
    for (std::uint32_t v : {w, h}) {
        for (int i = 0; i < 3; ++i)
            bytes.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    bytes.insert(bytes.end(), vp8l.begin(), vp8l.end());
    const Bytes payload = exif_blob(3);
    Bytes exif_chunk = {'E', 'X', 'I', 'F', 0, 0, 0, 0};
    put_u32_le(exif_chunk, 4, static_cast<std::uint32_t>(payload.size()));
    exif_chunk.insert(exif_chunk.end(), payload.begin(), payload.end());
    if (payload.size() % 2) exif_chunk.push_back(0);
    bytes.insert(bytes.end(), exif_chunk.begin(), exif_chunk.end());
    put_u32_le(bytes, 4, static_cast<std::uint32_t>(bytes.size() - 8));

    auto stored = decode_image(original);
    auto oriented = decode_image(bytes);
    ASSERT_TRUE(stored.ok());
    ASSERT_TRUE(oriented.ok()) << oriented.status().to_string();
    expect_oriented(*stored, *oriented, 3);
}

// ------------------------------------------------------------------------------------------------- malformed data

void expect_error(const Result<Image>& result, StatusCode code, const std::string& words) {
    ASSERT_FALSE(result.ok()) << "expected an error containing \"" << words << "\"";
    EXPECT_EQ(result.status().code(), code) << result.status().to_string();
    EXPECT_NE(result.status().message().find(words), std::string::npos) << result.status().to_string();
}

TEST(ImageMalformed, EmptyInput) {
    expect_error(decode_image({}), StatusCode::kInvalidArgument, "empty");
}

TEST(ImageMalformed, UnknownFormats) {
    const std::string text = "this is not an image, just some text";
    expect_error(decode_image(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())),
                 StatusCode::kInvalidArgument, "not a supported image format (JPEG, PNG, WebP, GIF, BMP)");
    const Bytes tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0};
    expect_error(decode_image(tiff), StatusCode::kInvalidArgument, "TIFF images are not supported");
    const Bytes one_byte = {0xFF};
    expect_error(decode_image(one_byte), StatusCode::kInvalidArgument, "not a supported image format");
}

TEST(ImageMalformed, TruncatedAtSeveralPoints) {
    for (const auto& format : format_cases()) {
        const Bytes bytes = read_fixture("images/" + format.file);
        const std::size_t header = header_end(format.name, bytes);
        std::vector<std::size_t> cuts = {header / 2, header, header + 7};
        for (double f : {0.1, 0.25, 0.5, 0.75, 0.9, 0.97})
            cuts.push_back(static_cast<std::size_t>(bytes.size() * f));
        for (std::size_t cut : cuts) {
            SCOPED_TRACE(format.file + " cut at " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
            const auto result = decode_image(prefix(bytes, cut));
            expect_error(result, StatusCode::kInvalidArgument, "the " + format.name + " data is truncated");
        }
    }
}

TEST(ImageMalformed, GarbageAfterValidMagic) {
    for (const auto& format : format_cases()) {
        const Bytes original = read_fixture("images/" + format.file);
        const std::size_t magic = format.name == "WebP" ? 16 : format.name == "GIF" ? 6 : format.name == "PNG" ? 8 : 2;
        for (unsigned seed : {1u, 2u, 3u}) {
            SCOPED_TRACE(format.file + " seed " + std::to_string(seed));
            Bytes bytes = prefix(original, magic);
            unsigned state = seed;
            for (int i = 0; i < 4096; ++i) {
                state = state * 1103515245u + 12345u;
                bytes.push_back(static_cast<std::uint8_t>(state >> 16));
            }
            const auto result = decode_image(bytes);
            ASSERT_FALSE(result.ok());
            EXPECT_TRUE(result.status().code() == StatusCode::kInvalidArgument ||
                        result.status().code() == StatusCode::kUnsupported)
                << result.status().to_string();
            EXPECT_NE(result.status().message().find(format.name), std::string::npos) << result.status().to_string();
        }
    }
}

TEST(ImageMalformed, CorruptedPixelDataNeverCrashes) {
    // Scribbling over the middle of the compressed data either still decodes (JPEG resynchronises, as in Pillow) or
    // fails cleanly; it must never crash or return an inconsistent image.
    for (const auto& format : format_cases()) {
        const Bytes original = read_fixture("images/" + format.file);
        for (double at : {0.3, 0.6}) {
            SCOPED_TRACE(format.file + " corrupted at " + std::to_string(at));
            Bytes bytes = original;
            const std::size_t begin = static_cast<std::size_t>(bytes.size() * at);
            for (std::size_t i = begin; i < std::min(bytes.size(), begin + 512); ++i)
                bytes[i] ^= 0x5A;
            const auto result = decode_image(bytes);
            if (result.ok()) {
                EXPECT_TRUE(result->valid());
            } else {
                EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().to_string();
            }
        }
    }
}

TEST(ImageMalformed, ZeroSizeHeader) {
    for (const auto& format : format_cases()) {
        if (format.name == "WebP") continue;  // VP8L stores size - 1: zero is not expressible
        SCOPED_TRACE(format.file);
        const Bytes bytes = with_dimensions(format.name, read_fixture("images/" + format.file), 0, 0);
        expect_error(decode_image(bytes), StatusCode::kInvalidArgument, "invalid size (0x0)");
    }
}

TEST(ImageMalformed, DecompressionBombRefusedBeforeDecoding) {
    for (const auto& format : format_cases()) {
        SCOPED_TRACE(format.file);
        // JPEG and GIF store 16-bit sizes, WebP 14-bit ones: use the largest they can hold.
        const std::uint32_t side = format.name == "JPEG" || format.name == "GIF" ? 65535
                                   : format.name == "WebP"                       ? 16384
                                                                                 : 100000;
        const Bytes full = with_dimensions(format.name, read_fixture("images/" + format.file), side, side);
        const std::string size = std::to_string(side) + "x" + std::to_string(side);
        Stopwatch watch;
        expect_error(decode_image(full), StatusCode::kResourceExhausted, size);
        EXPECT_LT(watch.elapsed_ms(), 50.0);
        // Only the header: no pixel data at all. Were the size not refused first, this would be "truncated".
        const Bytes header_only = prefix(full, header_end(format.name, full));
        expect_error(decode_image(header_only), StatusCode::kResourceExhausted, "limit of 67108864 pixels");
    }
}

TEST(ImageMalformed, PixelLimitIsConfigurable) {
    const Bytes bytes = read_fixture("images/coffee.png");  // 600 x 400 = 240000 pixels
    DecodeOptions options;
    options.max_pixels = 239999;
    expect_error(decode_image(bytes, options), StatusCode::kResourceExhausted, "600x400 = 240000 pixels");
    options.max_pixels = 240000;
    EXPECT_TRUE(decode_image(bytes, options).ok());
}

TEST(ImageMalformed, AbsurdDimensions) {
    // A 2,000,000 x 1 strip is under the pixel limit but not an image anyone should send.
    const Bytes strip = with_dimensions("BMP", read_fixture("images/plain.bmp"), 2000000, 1);
    expect_error(decode_image(strip), StatusCode::kInvalidArgument, "no side may exceed");
    // PNG sizes above 2^31 - 1 are invalid by the specification.
    const Bytes huge = with_dimensions("PNG", read_fixture("images/chelsea.png"), 0x80000000u, 1);
    expect_error(decode_image(huge), StatusCode::kInvalidArgument, "impossible size");
    // A negative BMP width.
    const Bytes negative = with_dimensions("BMP", read_fixture("images/plain.bmp"), 0xFFFFFF00u, 300);
    expect_error(decode_image(negative), StatusCode::kInvalidArgument, "negative width");
}

TEST(ImageMalformed, AnimatedWebpIsUnsupported) {
    // VP8X with the animation flag: refused from the header.
    Bytes bytes = {'R', 'I', 'F', 'F', 0,    0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X',
                   10,  0,   0,   0,   0x02, 0, 0, 0, 9,   0,   0,   9,   0,   0,   0,   0};
    put_u32_le(bytes, 4, static_cast<std::uint32_t>(bytes.size() - 8));
    expect_error(decode_image(bytes), StatusCode::kUnsupported, "animated WebP");
}

TEST(ImageMalformed, TwelveBitJpegIsUnsupported) {
    Bytes bytes = read_fixture("images/rocket.jpg");
    const std::size_t sof = find_bytes(bytes, {0xFF, 0xC0});
    ASSERT_NE(sof, std::string::npos);
    bytes[sof + 4] = 12;
    expect_error(decode_image(bytes), StatusCode::kUnsupported, "12-bit JPEG");
}

// ------------------------------------------------------------------------------------------------------ threading

TEST(ImageDecodeThreads, ConcurrentDecodesAgree) {
    const std::vector<std::string> files = {"rocket.jpg",    "progressive.jpg", "horse.png", "palette.gif",
                                            "lossless.webp", "plain.bmp",       "cmyk.jpg",  "gray_alpha_LA.png"};
    std::vector<Bytes> inputs;
    std::vector<Image> serial;
    for (const auto& f : files) {
        inputs.push_back(read_fixture("images/" + f));
        auto image = decode_image(inputs.back());
        ASSERT_TRUE(image.ok());
        serial.push_back(std::move(image).value());
    }
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 3; ++round) {
                for (std::size_t i = 0; i < inputs.size(); ++i) {
                    auto image = decode_image(inputs[(i + static_cast<std::size_t>(t)) % inputs.size()]);
                    if (!image.ok() ||
                        image->pixels != serial[(i + static_cast<std::size_t>(t)) % inputs.size()].pixels) {
                        ++failures[static_cast<std::size_t>(t)];
                    }
                    // Errors on other threads must not disturb anything either.
                    if (decode_image(prefix(inputs[i], inputs[i].size() / 2)).ok())
                        ++failures[static_cast<std::size_t>(t)];
                }
            }
        });
    }
    for (auto& th : threads)
        th.join();
    for (int f : failures)
        EXPECT_EQ(f, 0);
}

// Found by fuzzing (tests/fuzz/corpus/fuzz_image/regression-gif-empty-frame.gif): a 6x5 GIF whose first frame is
// 0 pixels wide reached the row copy with no row buffer.
TEST(ImageDecodeMalformed, GifWithAnEmptyFirstFrameIsRefused) {
    const Bytes gif = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x06, 0x00, 0x05, 0x00, 0x91, 0x00, 0x00, 0x00, 0x00, 0x00,
                       0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                       0x00, 0x2f, 0x00, 0x02, 0x08, 0x44, 0x34, 0x86, 0x9a, 0xd7, 0xeb, 0x98, 0x29, 0x00, 0x3b};
    auto image = decode_image(gif);
    ASSERT_FALSE(image.ok());
    EXPECT_EQ(image.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(image.status().message().find("empty"), std::string::npos) << image.status().message();
}

}  // namespace
}  // namespace hclip
