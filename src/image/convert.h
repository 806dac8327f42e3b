// Pixel conversions with Pillow 9.4's exact integer formulas (libImaging/Convert.c), so that images prepared here
// match what CLIP's reference preprocessing feeds the model bit for bit.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/status.h"
#include "image/image.h"

namespace hclip {

// RGBA -> RGBa and LA -> La (alpha is the last channel): colour = round(colour * alpha / 255) in Pillow's
// MULDIV255 form. `channel_count` is 2 or 4.
void premultiply_alpha(std::span<std::uint8_t> pixels, int channel_count);
// RGBa -> RGBA and La -> LA: colour = min(255, colour * 255 / alpha) with integer division; alpha 0 and 255 leave
// the colour unchanged.
void unpremultiply_alpha(std::span<std::uint8_t> pixels, int channel_count);

// Pillow's convert("RGB"): L replicated, LA and RGBA drop alpha, CMYK via 255 - k - c*(255-k)/255 per channel.
// `source` holds pixels in `mode`; `rgb` receives 3 bytes per pixel (same pixel count).
Status convert_pixels_to_rgb(std::span<const std::uint8_t> source, PixelMode mode, std::span<std::uint8_t> rgb);
Result<Image> convert_to_rgb(const Image& image);

// A colour table for palette images (PNG, GIF, BMP). Entries the file does not define stay opaque black, as in
// Pillow's palette object.
struct Palette {
    std::array<std::array<std::uint8_t, 4>, 256> rgba;  // R, G, B, A
    Palette() {
        for (auto& entry : rgba)
            entry = {0, 0, 0, 255};
    }
};

// Pillow's P -> RGB (3 bytes out per index) or P -> RGBA (4 bytes, alpha from the palette).
void expand_palette(std::span<const std::uint8_t> indices, const Palette& palette, bool with_alpha,
                    std::span<std::uint8_t> out);

}  // namespace hclip
