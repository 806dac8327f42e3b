#include "image/decode.h"

#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "image/codecs.h"
#include "image/exif.h"

namespace hclip {

using namespace std::string_view_literals;

namespace image_codecs {

ImageFormat sniff_format(std::span<const std::uint8_t> bytes) {
    const auto starts_with = [&](std::string_view magic, std::size_t offset = 0) {
        return bytes.size() >= offset + magic.size() &&
               std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
    };
    if (starts_with("\xFF\xD8\xFF"sv)) return ImageFormat::kJpeg;
    if (starts_with("\x89PNG\r\n\x1A\n"sv)) return ImageFormat::kPng;
    if (starts_with("RIFF"sv) && starts_with("WEBP"sv, 8)) return ImageFormat::kWebp;
    if (starts_with("GIF87a"sv) || starts_with("GIF89a"sv)) return ImageFormat::kGif;
    if (starts_with("BM"sv)) return ImageFormat::kBmp;
    return ImageFormat::kUnknown;
}

std::string_view format_name(ImageFormat format) {
    switch (format) {
        case ImageFormat::kJpeg:
            return "JPEG";
        case ImageFormat::kPng:
            return "PNG";
        case ImageFormat::kWebp:
            return "WebP";
        case ImageFormat::kGif:
            return "GIF";
        case ImageFormat::kBmp:
            return "BMP";
        case ImageFormat::kUnknown:
            break;
    }
    return "unknown";
}

Status check_dimensions(std::string_view format, std::int64_t width, std::int64_t height, std::uint64_t max_pixels) {
    const std::string size = std::to_string(width) + "x" + std::to_string(height);
    if (width <= 0 || height <= 0) {
        return invalid_argument("the " + std::string(format) + " image has an invalid size (" + size +
                                "); width and height must be at least 1 pixel");
    }
    const std::uint64_t pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
    if (pixels > max_pixels) {
        return resource_exhausted("the " + std::string(format) + " image is " + size + " = " + std::to_string(pixels) +
                                  " pixels, more than the limit of " + std::to_string(max_pixels) +
                                  " pixels (decompression bomb guard); send a smaller image");
    }
    if (width > kMaxImageSide || height > kMaxImageSide) {
        return invalid_argument("the " + std::string(format) + " image is " + size + "; no side may exceed " +
                                std::to_string(kMaxImageSide) + " pixels");
    }
    return Status::ok_status();
}

Status truncated_error(std::string_view format) {
    return invalid_argument("the " + std::string(format) +
                            " data is truncated (the file ends before the image is complete)");
}

Status corrupt_error(std::string_view format, std::string_view detail) {
    return invalid_argument("the " + std::string(format) + " data is corrupt (" + std::string(detail) + ")");
}

}  // namespace image_codecs

namespace {

using image_codecs::HeaderInfo;
using image_codecs::ImageFormat;

// Names formats we recognise but do not decode, for a message the user can act on.
std::string unsupported_format_hint(std::span<const std::uint8_t> bytes) {
    const auto starts_with = [&](std::string_view magic, std::size_t offset = 0) {
        return bytes.size() >= offset + magic.size() &&
               std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
    };
    if (starts_with("II*\0"sv, 0) || starts_with("MM\0*"sv, 0)) return "TIFF";
    if (starts_with("ftypheic"sv, 4) || starts_with("ftypheix"sv, 4) || starts_with("ftypmif1"sv, 4)) return "HEIC";
    if (starts_with("ftypavif"sv, 4)) return "AVIF";
    if (starts_with("\0\0\0\x0CjP  "sv, 0) || starts_with("\xFF\x4F\xFF\x51"sv, 0)) return "JPEG 2000";
    if (starts_with("%PDF"sv)) return "PDF";
    if (starts_with("<svg"sv) || starts_with("<?xml"sv)) return "SVG";
    return "";
}

Result<HeaderInfo> probe_format(ImageFormat format, std::span<const std::uint8_t> bytes) {
    switch (format) {
        case ImageFormat::kJpeg:
            return image_codecs::probe_jpeg(bytes);
        case ImageFormat::kPng:
            return image_codecs::probe_png(bytes);
        case ImageFormat::kWebp:
            return image_codecs::probe_webp(bytes);
        case ImageFormat::kGif:
            return image_codecs::probe_gif(bytes);
        case ImageFormat::kBmp:
            return image_codecs::probe_bmp(bytes);
        case ImageFormat::kUnknown:
            break;
    }
    return internal_error("probe_format called without a format");
}

Result<Image> decode_format(ImageFormat format, std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
    switch (format) {
        case ImageFormat::kJpeg:
            return image_codecs::decode_jpeg(bytes, options);
        case ImageFormat::kPng:
            return image_codecs::decode_png(bytes, options);
        case ImageFormat::kWebp:
            return image_codecs::decode_webp(bytes, options);
        case ImageFormat::kGif:
            return image_codecs::decode_gif(bytes, options);
        case ImageFormat::kBmp:
            return image_codecs::decode_bmp(bytes, options);
        case ImageFormat::kUnknown:
            break;
    }
    return internal_error("decode_format called without a format");
}

Result<ImageFormat> detect_format(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return invalid_argument("the image data is empty (0 bytes)");
    const ImageFormat format = image_codecs::sniff_format(bytes);
    if (format != ImageFormat::kUnknown) return format;
    const std::string hint = unsupported_format_hint(bytes);
    if (!hint.empty()) {
        return invalid_argument(hint + " images are not supported; send JPEG, PNG, WebP, GIF or BMP");
    }
    return invalid_argument("not a supported image format (JPEG, PNG, WebP, GIF, BMP)");
}

}  // namespace

Result<ImageInfo> probe_image(std::span<const std::uint8_t> bytes) {
    HCLIP_ASSIGN_OR_RETURN(const ImageFormat format, detect_format(bytes));
    HCLIP_ASSIGN_OR_RETURN(const HeaderInfo header, probe_format(format, bytes));
    const std::string_view name = image_codecs::format_name(format);
    // Zero and absurd sizes are errors here too; the pixel limit is the decoder's business (no limit to apply).
    HCLIP_RETURN_IF_ERROR(image_codecs::check_dimensions(name, header.width, header.height, UINT64_MAX));
    ImageInfo info;
    const bool swaps_axes = header.orientation >= 5;
    info.width = static_cast<int>(swaps_axes ? header.height : header.width);
    info.height = static_cast<int>(swaps_axes ? header.width : header.height);
    info.format = std::string(name);
    info.orientation = header.orientation;
    return info;
}

Result<Image> decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
    HCLIP_ASSIGN_OR_RETURN(const ImageFormat format, detect_format(bytes));
    const std::string_view name = image_codecs::format_name(format);
    // The header alone decides whether the image is acceptable: a bomb is refused before any library allocates.
    HCLIP_ASSIGN_OR_RETURN(const HeaderInfo header, probe_format(format, bytes));
    HCLIP_RETURN_IF_ERROR(image_codecs::check_dimensions(name, header.width, header.height, options.max_pixels));
    try {
        HCLIP_ASSIGN_OR_RETURN(Image image, decode_format(format, bytes, options));
        // Only a JPEG under DecodeOptions::jpeg_scaled_min_side decodes smaller than its header says.
        const int scale = format == ImageFormat::kJpeg ? image_codecs::jpeg_scale_denominator(
                                                             header.width, header.height, options.jpeg_scaled_min_side)
                                                       : 1;
        if (image.width != image_codecs::jpeg_scaled_size(header.width, scale) ||
            image.height != image_codecs::jpeg_scaled_size(header.height, scale) || !image.valid()) {
            return internal_error("the " + std::string(name) + " decoder produced " + std::to_string(image.width) +
                                  "x" + std::to_string(image.height) + " pixels for a " + std::to_string(header.width) +
                                  "x" + std::to_string(header.height) + " header");
        }
        if (options.apply_exif_orientation) image = apply_exif_orientation(std::move(image), header.orientation);
        return image;
    } catch (const std::bad_alloc&) {
        return resource_exhausted("out of memory while decoding a " + std::to_string(header.width) + "x" +
                                  std::to_string(header.height) + " " + std::string(name) + " image");
    }
}

}  // namespace hclip
