// WebP (lossy, lossless, with alpha) through libwebp. Like Pillow: RGBA (not premultiplied) when the bitstream has
// alpha, RGB otherwise. Animated WebP is refused (it needs libwebpdemux; Pillow would take the first frame).
#include <webp/decode.h>

#include <cstring>
#include <string>

#include "image/codecs.h"
#include "image/exif.h"

namespace hclip::image_codecs {

namespace {

constexpr std::string_view kWebp = "WebP";

Status webp_status(VP8StatusCode code) {
    switch (code) {
        case VP8_STATUS_OK:
            return Status::ok_status();
        case VP8_STATUS_NOT_ENOUGH_DATA:
        case VP8_STATUS_SUSPENDED:
            return truncated_error(kWebp);
        case VP8_STATUS_OUT_OF_MEMORY:
            return resource_exhausted("out of memory while decoding a WebP image");
        case VP8_STATUS_UNSUPPORTED_FEATURE:
            return unsupported("this WebP variant is not supported (animated WebP, for instance)");
        case VP8_STATUS_BITSTREAM_ERROR:
            return corrupt_error(kWebp, "invalid bitstream");
        case VP8_STATUS_INVALID_PARAM:
        case VP8_STATUS_USER_ABORT:
            break;
    }
    return corrupt_error(kWebp, "libwebp status " + std::to_string(static_cast<int>(code)));
}

// Orientation from the EXIF chunk of an extended (VP8X) file: RIFF header, then chunks of fourcc, little-endian
// size and payload padded to an even length.
int webp_orientation(std::span<const std::uint8_t> bytes) {
    std::size_t pos = 12;
    while (pos + 8 <= bytes.size()) {
        const std::size_t size = read_u32_le(&bytes[pos + 4]);
        if (size > bytes.size() - pos - 8) break;
        if (std::memcmp(&bytes[pos], "EXIF", 4) == 0) return exif_orientation(bytes.subspan(pos + 8, size));
        pos += 8 + size + (size & 1);
    }
    return 1;
}

}  // namespace

Result<HeaderInfo> probe_webp(std::span<const std::uint8_t> bytes) {
    WebPBitstreamFeatures features;
    const VP8StatusCode code = WebPGetFeatures(bytes.data(), bytes.size(), &features);
    HCLIP_RETURN_IF_ERROR(webp_status(code));
    if (features.has_animation) {
        return unsupported("animated WebP images are not supported; send a still image");
    }
    HeaderInfo info;
    info.width = features.width;
    info.height = features.height;
    info.orientation = webp_orientation(bytes);
    return info;
}

Result<Image> decode_webp(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
    WebPDecoderConfig config;
    if (WebPInitDecoderConfig(&config) == 0) return internal_error("libwebp version mismatch");
    HCLIP_RETURN_IF_ERROR(webp_status(WebPGetFeatures(bytes.data(), bytes.size(), &config.input)));
    if (config.input.has_animation) return unsupported("animated WebP images are not supported; send a still image");
    HCLIP_RETURN_IF_ERROR(check_dimensions(kWebp, config.input.width, config.input.height, options.max_pixels));

    Image image;
    image.width = config.input.width;
    image.height = config.input.height;
    image.mode = config.input.has_alpha ? PixelMode::kRGBA : PixelMode::kRGB;
    size_pixel_buffer(image.pixels, image.byte_size());

    // Decode straight into our buffer.
    config.output.colorspace = config.input.has_alpha ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = image.pixels.data();
    config.output.u.RGBA.stride = static_cast<int>(image.row_bytes());
    config.output.u.RGBA.size = image.pixels.size();
    const VP8StatusCode code = WebPDecode(bytes.data(), bytes.size(), &config);
    WebPFreeDecBuffer(&config.output);
    HCLIP_RETURN_IF_ERROR(webp_status(code));
    return image;
}

}  // namespace hclip::image_codecs
