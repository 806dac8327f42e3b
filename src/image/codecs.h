// Internal interface between decode.cpp (format detection, limits, EXIF) and the per-format decoders.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "image/decode.h"
#include "image/image.h"

namespace hclip::image_codecs {

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kGif, kBmp };

ImageFormat sniff_format(std::span<const std::uint8_t> bytes);
std::string_view format_name(ImageFormat format);

// What a cheap header walk finds: the stored size and the orientation from the metadata.
struct HeaderInfo {
    std::int64_t width = 0;
    std::int64_t height = 0;
    int orientation = 1;
};

// Zero or absurd sizes -> kInvalidArgument, more than max_pixels -> kResourceExhausted. Called on the header
// before any decoding, and again on the size the library reports before pixel memory is allocated.
Status check_dimensions(std::string_view format, std::int64_t width, std::int64_t height, std::uint64_t max_pixels);

// "the PNG data is truncated", "the PNG data is corrupt (detail)".
Status truncated_error(std::string_view format);
Status corrupt_error(std::string_view format, std::string_view detail);

Result<HeaderInfo> probe_jpeg(std::span<const std::uint8_t> bytes);
Result<HeaderInfo> probe_png(std::span<const std::uint8_t> bytes);
Result<HeaderInfo> probe_webp(std::span<const std::uint8_t> bytes);
Result<HeaderInfo> probe_gif(std::span<const std::uint8_t> bytes);
Result<HeaderInfo> probe_bmp(std::span<const std::uint8_t> bytes);

// The DCT scale denominator (1, 2, 4 or 8) decode_jpeg uses for a width x height JPEG under
// DecodeOptions::jpeg_scaled_min_side, and the size that gives (libjpeg rounds scaled sizes up).
int jpeg_scale_denominator(int width, int height, int min_side);
inline int jpeg_scaled_size(int size, int denominator) {
    return (size + denominator - 1) / denominator;
}

// Pixels as stored (no orientation applied), palette images expanded. Each decoder re-checks the dimensions
// with check_dimensions before allocating.
Result<Image> decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeOptions& options);
Result<Image> decode_png(std::span<const std::uint8_t> bytes, const DecodeOptions& options);
Result<Image> decode_webp(std::span<const std::uint8_t> bytes, const DecodeOptions& options);
Result<Image> decode_gif(std::span<const std::uint8_t> bytes, const DecodeOptions& options);
Result<Image> decode_bmp(std::span<const std::uint8_t> bytes, const DecodeOptions& options);

// Little/big-endian readers for header parsing; callers check bounds first.
inline std::uint32_t read_u16_le(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8);
}
inline std::uint32_t read_u16_be(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 8) | std::uint32_t{p[1]};
}
inline std::uint32_t read_u32_le(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}
inline std::uint32_t read_u32_be(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

}  // namespace hclip::image_codecs
