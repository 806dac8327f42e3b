// In-memory 8-bit images as the decoders produce them and the preprocessing consumes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace hclip {

// The pixel layouts the pipeline keeps (Pillow's names: L, LA, RGB, RGBA, CMYK). Palette and bilevel images are
// expanded by the decoders, so they never appear here.
enum class PixelMode { kL, kLA, kRGB, kRGBA, kCMYK };

// Bytes per pixel: 1, 2, 3, 4, 4.
int channels(PixelMode mode);
// "L", "LA", "RGB", "RGBA", "CMYK".
std::string_view pixel_mode_name(PixelMode mode);
// True for LA and RGBA: the last channel is alpha.
bool has_alpha(PixelMode mode);

struct Image {
    int width = 0;
    int height = 0;
    PixelMode mode = PixelMode::kRGB;
    std::vector<std::uint8_t> pixels;  // HWC, row-major, width * height * channels(mode) bytes

    std::size_t row_bytes() const { return static_cast<std::size_t>(width) * static_cast<std::size_t>(channels(mode)); }
    std::size_t byte_size() const { return row_bytes() * static_cast<std::size_t>(height); }
    // Dimensions positive and the pixel buffer of exactly the right size.
    bool valid() const { return width > 0 && height > 0 && pixels.size() == byte_size(); }
};

// Resizes a pixel buffer to `bytes` (new bytes zero, as vector::resize). A buffer that must grow to 4 MiB or more
// is first asked for in transparent huge pages where the kernel offers them: a fresh 36 MB buffer (a 12 MP photo)
// then costs 18 page faults instead of 9000, and its JPEG decode took 0.73-0.75x the time (docs/performance.md).
void size_pixel_buffer(std::vector<std::uint8_t>& buffer, std::size_t bytes);

}  // namespace hclip
