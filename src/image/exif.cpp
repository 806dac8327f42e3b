// A hand-written reader for the one EXIF field the pipeline needs. Why not libexif: reading tag 0x0112 of IFD0 is
// a few dozen bounds-checked lines, while a full EXIF library is a new dependency (with a long security history)
// that parses far more untrusted data than we use.
#include "image/exif.h"

#include <cstddef>
#include <cstring>
#include <utility>

namespace hclip {

namespace {

constexpr std::uint16_t kOrientationTag = 0x0112;

struct TiffReader {
    std::span<const std::uint8_t> data;
    bool little_endian = true;

    bool has(std::size_t offset, std::size_t size) const {
        return offset <= data.size() && size <= data.size() - offset;
    }
    std::uint16_t u16(std::size_t offset) const {
        const std::uint8_t* p = data.data() + offset;
        return little_endian ? static_cast<std::uint16_t>(p[0] | (p[1] << 8))
                             : static_cast<std::uint16_t>((p[0] << 8) | p[1]);
    }
    std::uint32_t u32(std::size_t offset) const {
        const std::uint8_t* p = data.data() + offset;
        return little_endian ? (std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
                                (std::uint32_t{p[3]} << 24))
                             : ((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
                                std::uint32_t{p[3]});
    }
};

}  // namespace

int exif_orientation(std::span<const std::uint8_t> exif) {
    static constexpr std::uint8_t kExifPrefix[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (exif.size() >= 6 && std::memcmp(exif.data(), kExifPrefix, 6) == 0) exif = exif.subspan(6);

    TiffReader tiff{exif};
    if (!tiff.has(0, 8)) return 1;
    if (exif[0] == 'I' && exif[1] == 'I') {
        tiff.little_endian = true;
    } else if (exif[0] == 'M' && exif[1] == 'M') {
        tiff.little_endian = false;
    } else {
        return 1;
    }
    if (tiff.u16(2) != 42) return 1;
    const std::size_t ifd = tiff.u32(4);
    if (!tiff.has(ifd, 2)) return 1;
    const std::size_t entries = tiff.u16(ifd);
    for (std::size_t i = 0; i < entries; ++i) {
        const std::size_t entry = ifd + 2 + i * 12;
        if (!tiff.has(entry, 12)) return 1;
        if (tiff.u16(entry) != kOrientationTag) continue;
        const std::uint16_t type = tiff.u16(entry + 2);
        const std::uint32_t count = tiff.u32(entry + 4);
        if (count != 1) return 1;  // Pillow would see a tuple and ignore it
        std::uint32_t value = 0;
        switch (type) {
            case 1:  // BYTE
                value = exif[entry + 8];
                break;
            case 3:  // SHORT
                value = tiff.u16(entry + 8);
                break;
            case 4:  // LONG
                value = tiff.u32(entry + 8);
                break;
            default:
                return 1;
        }
        return (value >= 1 && value <= 8) ? static_cast<int>(value) : 1;
    }
    return 1;
}

int xmp_orientation(std::string_view xmp) {
    static constexpr std::string_view kKey = "tiff:Orientation";
    for (std::size_t at = xmp.find(kKey); at != std::string_view::npos; at = xmp.find(kKey, at + 1)) {
        std::size_t p = at + kKey.size();
        // Pillow's pattern: tiff:Orientation(="|>)([0-9])
        if (p < xmp.size() && xmp[p] == '>') {
            p += 1;
        } else if (p + 1 < xmp.size() && xmp[p] == '=' && xmp[p + 1] == '"') {
            p += 2;
        } else {
            continue;
        }
        if (p < xmp.size() && xmp[p] >= '0' && xmp[p] <= '9') {
            const int value = xmp[p] - '0';
            return (value >= 1 && value <= 8) ? value : 1;
        }
    }
    return 1;
}

Image apply_exif_orientation(Image image, int orientation) {
    if (orientation < 2 || orientation > 8 || !image.valid()) return image;
    const int w = image.width;
    const int h = image.height;
    const bool swaps_axes = orientation >= 5;
    Image out;
    out.mode = image.mode;
    out.width = swaps_axes ? h : w;
    out.height = swaps_axes ? w : h;
    size_pixel_buffer(out.pixels, image.pixels.size());
    const std::size_t pixel_bytes = static_cast<std::size_t>(channels(image.mode));

    for (int y = 0; y < out.height; ++y) {
        for (int x = 0; x < out.width; ++x) {
            // Source pixel (sx, sy) for output pixel (x, y), per Pillow's transpose methods.
            int sx = x;
            int sy = y;
            switch (orientation) {
                case 2:  // FLIP_LEFT_RIGHT
                    sx = w - 1 - x;
                    break;
                case 3:  // ROTATE_180
                    sx = w - 1 - x;
                    sy = h - 1 - y;
                    break;
                case 4:  // FLIP_TOP_BOTTOM
                    sy = h - 1 - y;
                    break;
                case 5:  // TRANSPOSE
                    sx = y;
                    sy = x;
                    break;
                case 6:  // ROTATE_270 (90 degrees clockwise)
                    sx = y;
                    sy = h - 1 - x;
                    break;
                case 7:  // TRANSVERSE
                    sx = w - 1 - y;
                    sy = h - 1 - x;
                    break;
                case 8:  // ROTATE_90 (90 degrees counter-clockwise)
                    sx = w - 1 - y;
                    sy = x;
                    break;
                default:
                    break;
            }
            const std::uint8_t* src =
                image.pixels.data() + (static_cast<std::size_t>(sy) * static_cast<std::size_t>(w) + sx) * pixel_bytes;
            std::uint8_t* dst = out.pixels.data() +
                                (static_cast<std::size_t>(y) * static_cast<std::size_t>(out.width) + x) * pixel_bytes;
            std::memcpy(dst, src, pixel_bytes);
        }
    }
    return out;
}

}  // namespace hclip
