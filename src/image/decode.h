// Decoding JPEG, PNG, WebP, GIF and BMP into an Image the way Pillow 9.4 opens them (see the fixtures README):
// EXIF orientation applied, palette and bilevel images expanded to RGB or RGBA, 16-bit channels reduced to their
// high byte. Errors are values: a picture that cannot be decoded gives a Status, never a crash and never a
// partially decoded image.
//
// Every function here is reentrant and thread-safe: no global state, library decoder objects of their own per call.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/status.h"
#include "image/image.h"

namespace hclip {

// 64 megapixels (8192 x 8192). Above every common camera sensor (a 61 MP full-frame photo is 9504 x 6336), and a
// decoded image stays at most 256 MiB even as RGBA. Pillow warns at ~89 MP and refuses at ~179 MP; a service that
// decodes on many threads at once needs a tighter bound.
inline constexpr std::uint64_t kDefaultMaxImagePixels = std::uint64_t{1} << 26;
// No side may be longer than this (a 1 x 2,000,000 strip is not a photo; it only makes the resize degenerate).
inline constexpr int kMaxImageSide = 1 << 20;

struct DecodeOptions {
    // Decompression-bomb guard: width * height above this is refused with kResourceExhausted, checked from the
    // header before any pixel memory is allocated.
    std::uint64_t max_pixels = kDefaultMaxImagePixels;
    // Rotate/flip per the EXIF orientation tag (what users expect; Pillow's Image.open alone does not).
    bool apply_exif_orientation = true;
    // 0 (the default): JPEGs decode at full size, as the reference (Pillow's Image.open, no draft()) does. N > 0:
    // a JPEG decodes at the smallest of libjpeg's 1/2, 1/4, 1/8 DCT scales whose shorter side stays at least N
    // (Pillow's draft() in spirit). Much faster for large photos, but the pixels differ from a full-size decode
    // followed by the resize (docs/performance.md, "JPEG DCT scaling"), so it is an opt-in.
    int jpeg_scaled_min_side = 0;
    // Baseline JPEGs are decoded in bands of rows on the compute pool's idle threads: 0 (the default) picks the
    // number from the picture's size and the machine's cores, 1 decodes on the calling thread alone, N > 1 asks for
    // N bands (at most one per two rows of MCUs). Every choice gives the same pixels.
    int jpeg_bands = 0;
};

struct ImageInfo {
    int width = 0;  // as decode_image returns it by default, i.e. after the EXIF orientation
    int height = 0;
    std::string format;   // "JPEG", "PNG", "WebP", "GIF", "BMP"
    int orientation = 1;  // EXIF orientation 1..8 (1 when absent)
};

// Format and size from the header only: no pixel decoding, no large allocation.
Result<ImageInfo> probe_image(std::span<const std::uint8_t> bytes);

// Decodes the first frame. Status codes:
//   kInvalidArgument   unknown format, corrupt or truncated data, zero or absurd dimensions;
//   kUnsupported       a recognised variant that is not implemented (animated WebP, 12-bit JPEG, ...);
//   kResourceExhausted more than options.max_pixels pixels (refused before decoding) or out of memory.
Result<Image> decode_image(std::span<const std::uint8_t> bytes, const DecodeOptions& options = {});

}  // namespace hclip
