#include "image/convert.h"

#include <algorithm>
#include <cstddef>
#include <string>

namespace hclip {

namespace {

// Pillow's MULDIV255(a, b): a * b / 255 rounded, without a division.
inline std::uint8_t mul_div_255(unsigned a, unsigned b) {
    const unsigned t = a * b + 128;
    return static_cast<std::uint8_t>(((t >> 8) + t) >> 8);
}

inline std::uint8_t clip8(int v) {
    return static_cast<std::uint8_t>(std::clamp(v, 0, 255));
}

}  // namespace

void premultiply_alpha(std::span<std::uint8_t> pixels, int channel_count) {
    const std::size_t step = static_cast<std::size_t>(channel_count);
    for (std::size_t i = 0; i + step <= pixels.size(); i += step) {
        const unsigned alpha = pixels[i + step - 1];
        for (std::size_t c = 0; c + 1 < step; ++c)
            pixels[i + c] = mul_div_255(pixels[i + c], alpha);
    }
}

void unpremultiply_alpha(std::span<std::uint8_t> pixels, int channel_count) {
    const std::size_t step = static_cast<std::size_t>(channel_count);
    for (std::size_t i = 0; i + step <= pixels.size(); i += step) {
        const int alpha = pixels[i + step - 1];
        if (alpha == 0 || alpha == 255) continue;
        for (std::size_t c = 0; c + 1 < step; ++c)
            pixels[i + c] = clip8((255 * pixels[i + c]) / alpha);
    }
}

Status convert_pixels_to_rgb(std::span<const std::uint8_t> source, PixelMode mode, std::span<std::uint8_t> rgb) {
    const std::size_t step = static_cast<std::size_t>(channels(mode));
    const std::size_t count = source.size() / step;
    if (source.size() % step != 0 || rgb.size() != count * 3) {
        return invalid_argument("convert_pixels_to_rgb: " + std::to_string(source.size()) + " bytes of " +
                                std::string(pixel_mode_name(mode)) + " pixels do not fill an RGB buffer of " +
                                std::to_string(rgb.size()) + " bytes");
    }
    const std::uint8_t* in = source.data();
    std::uint8_t* out = rgb.data();
    switch (mode) {
        case PixelMode::kL:
        case PixelMode::kLA:
            for (std::size_t i = 0; i < count; ++i, in += step, out += 3)
                out[0] = out[1] = out[2] = in[0];
            break;
        case PixelMode::kRGB:
            std::copy(source.begin(), source.end(), rgb.begin());
            break;
        case PixelMode::kRGBA:
            for (std::size_t i = 0; i < count; ++i, in += 4, out += 3) {
                out[0] = in[0];
                out[1] = in[1];
                out[2] = in[2];
            }
            break;
        case PixelMode::kCMYK:
            // Pillow's cmyk2rgb: no colour management, black removes a proportional share of each ink.
            for (std::size_t i = 0; i < count; ++i, in += 4, out += 3) {
                const int not_black = 255 - in[3];
                for (int c = 0; c < 3; ++c) {
                    out[c] = clip8(not_black - mul_div_255(in[c], static_cast<unsigned>(not_black)));
                }
            }
            break;
    }
    return Status::ok_status();
}

Result<Image> convert_to_rgb(const Image& image) {
    if (!image.valid())
        return invalid_argument("convert_to_rgb: the image is empty or its pixel buffer is inconsistent");
    Image rgb;
    rgb.width = image.width;
    rgb.height = image.height;
    rgb.mode = PixelMode::kRGB;
    size_pixel_buffer(rgb.pixels, rgb.byte_size());
    HCLIP_RETURN_IF_ERROR(convert_pixels_to_rgb(image.pixels, image.mode, rgb.pixels));
    return rgb;
}

void expand_palette(std::span<const std::uint8_t> indices, const Palette& palette, bool with_alpha,
                    std::span<std::uint8_t> out) {
    const std::size_t step = with_alpha ? 4 : 3;
    const std::size_t count = std::min(indices.size(), out.size() / step);
    std::uint8_t* dst = out.data();
    for (std::size_t i = 0; i < count; ++i, dst += step) {
        const auto& entry = palette.rgba[indices[i]];
        std::copy_n(entry.data(), step, dst);
    }
}

}  // namespace hclip
