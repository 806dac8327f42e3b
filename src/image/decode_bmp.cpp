// BMP, hand-written. Why no library: Debian has no maintained BMP-only decoder (the candidates are whole imaging
// toolkits), and the format is a fixed header plus raw or RLE rows, small enough to check every offset by hand.
// Behaviour follows Pillow 9.4's BmpImagePlugin: header sizes 12, 40, 52, 56, 64, 108 and 124; 1/4/8-bit palette
// images (grey palettes give L), 16-bit 5-5-5 or bit fields, 24-bit, 32-bit BGRX (the fourth byte is ignored
// unless bit fields name an alpha mask), RLE8 and RLE4.
// Truncation: pixel data shorter than the rows need is an error. Only the padding after the last row's pixels may
// be missing (some writers omit it); that costs no pixel.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "image/codecs.h"
#include "image/convert.h"

namespace hclip::image_codecs {

namespace {

constexpr std::string_view kBmp = "BMP";
constexpr std::size_t kFileHeaderSize = 14;

enum Compression : std::uint32_t { kRaw = 0, kRle8 = 1, kRle4 = 2, kBitFields = 3 };

struct BmpHeader {
    std::int64_t width = 0;
    std::int64_t height = 0;
    bool top_down = false;
    int bits = 0;
    std::uint32_t compression = kRaw;
    std::uint32_t masks[4] = {0, 0, 0, 0};  // R, G, B, A
    std::size_t pixel_offset = 0;
    std::size_t palette_offset = 0;
    std::size_t palette_entry_size = 4;
    std::uint32_t colors = 0;
};

Result<BmpHeader> parse_header(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kFileHeaderSize + 4) return truncated_error(kBmp);
    BmpHeader h;
    h.pixel_offset = read_u32_le(&bytes[10]);
    const std::size_t header_size = read_u32_le(&bytes[kFileHeaderSize]);
    static constexpr std::size_t kKnownSizes[] = {12, 40, 52, 56, 64, 108, 124};
    if (std::find(std::begin(kKnownSizes), std::end(kKnownSizes), header_size) == std::end(kKnownSizes)) {
        if (header_size < 12 || header_size > 256) {
            return corrupt_error(kBmp, "the information header size " + std::to_string(header_size) + " is invalid");
        }
        return unsupported("BMP files with a " + std::to_string(header_size) + "-byte header are not supported");
    }
    if (bytes.size() < kFileHeaderSize + header_size) return truncated_error(kBmp);
    const std::uint8_t* d = &bytes[kFileHeaderSize];
    std::size_t after_header = kFileHeaderSize + header_size;
    if (header_size == 12) {  // OS/2 1.x core header: 16-bit unsigned sizes, 3-byte palette entries
        h.width = read_u16_le(d + 4);
        h.height = read_u16_le(d + 6);
        h.bits = static_cast<int>(read_u16_le(d + 10));
        h.palette_entry_size = 3;
    } else {
        h.width = static_cast<std::int32_t>(read_u32_le(d + 4));
        const std::int32_t height = static_cast<std::int32_t>(read_u32_le(d + 8));
        h.top_down = height < 0;
        h.height = h.top_down ? -std::int64_t{height} : height;
        h.bits = static_cast<int>(read_u16_le(d + 14));
        h.compression = read_u32_le(d + 16);
        h.colors = read_u32_le(d + 32);
        if (h.compression == kBitFields) {
            if (header_size >= 52) {  // masks inside the header (alpha from 56 bytes on)
                for (int i = 0; i < (header_size >= 56 ? 4 : 3); ++i)
                    h.masks[i] = read_u32_le(d + 40 + 4 * i);
            } else {  // 40-byte header: three masks follow it
                if (bytes.size() < after_header + 12) return truncated_error(kBmp);
                for (int i = 0; i < 3; ++i)
                    h.masks[i] = read_u32_le(&bytes[after_header + 4 * static_cast<std::size_t>(i)]);
                after_header += 12;
            }
        }
    }
    if (h.width < 0) return invalid_argument("the BMP header has a negative width (" + std::to_string(h.width) + ")");
    h.palette_offset = after_header;
    if (h.colors == 0 && h.bits <= 8 && h.bits > 0) h.colors = std::uint32_t{1} << h.bits;
    if (h.pixel_offset == 0) {  // Pillow then reads the pixels right after the palette
        h.pixel_offset = after_header + (h.bits <= 8 ? std::size_t{h.colors} * h.palette_entry_size : 0);
    }
    return h;
}

// Extracts a bit field and scales it to 0..255 like Pillow's BGR;15 / BGR;16 unpackers (v * 255 / max).
struct Channel {
    std::uint32_t mask = 0;
    int shift = 0;
    std::uint32_t max = 0;

    explicit Channel(std::uint32_t m) : mask(m) {
        if (mask == 0) return;
        while (((mask >> shift) & 1) == 0)
            ++shift;
        max = mask >> shift;
    }
    std::uint8_t operator()(std::uint32_t pixel) const {
        if (max == 0) return 0;
        return static_cast<std::uint8_t>((std::uint64_t{(pixel & mask) >> shift} * 255) / max);
    }
};

bool contiguous_mask(std::uint32_t mask) {
    if (mask == 0) return true;
    while ((mask & 1) == 0)
        mask >>= 1;
    return (mask & (mask + 1)) == 0;
}

// RLE8 / RLE4 into one index per pixel, rows bottom-up as stored. Pixels the stream skips stay 0; a stream that
// stops before the image is complete is an error, as in Pillow.
Status decode_rle(std::span<const std::uint8_t> data, bool rle4, std::size_t width, std::size_t height,
                  std::vector<std::uint8_t>& indices) {
    const std::size_t total = width * height;
    std::size_t out = 0;  // pixels written or skipped so far
    std::size_t x = 0;
    std::size_t pos = 0;
    const auto put = [&](std::uint8_t value) {
        if (out < total) indices[out] = value;
        ++out;
    };
    while (out < total) {
        if (pos + 2 > data.size()) return truncated_error(kBmp);
        std::size_t count = data[pos];
        const std::uint8_t value = data[pos + 1];
        pos += 2;
        if (count > 0) {                                         // encoded run
            count = std::min(count, width > x ? width - x : 0);  // never past the end of the row
            for (std::size_t i = 0; i < count; ++i)
                put(rle4 ? ((i % 2 == 0) ? value >> 4 : value & 0x0F) : value);
            x += count;
        } else if (value == 0) {  // end of line
            if (out % width != 0) out += width - out % width;
            x = 0;
        } else if (value == 1) {  // end of bitmap
            break;
        } else if (value == 2) {  // delta
            if (pos + 2 > data.size()) return truncated_error(kBmp);
            out += data[pos] + std::size_t{data[pos + 1]} * width;
            pos += 2;
            x = out % width;
        } else {  // absolute run of `value` pixels, padded to 16 bits
            const std::size_t pixels = value;
            const std::size_t stored = rle4 ? (pixels + 1) / 2 : pixels;
            if (pos + stored > data.size()) return truncated_error(kBmp);
            for (std::size_t i = 0; i < pixels; ++i) {
                const std::uint8_t byte = data[pos + (rle4 ? i / 2 : i)];
                put(rle4 ? ((i % 2 == 0) ? byte >> 4 : byte & 0x0F) : byte);
            }
            pos += stored + (stored & 1);
            x += pixels;
        }
    }
    if (out < total) return corrupt_error(kBmp, "the RLE data ends before the image is complete");
    return Status::ok_status();
}

}  // namespace

Result<HeaderInfo> probe_bmp(std::span<const std::uint8_t> bytes) {
    HCLIP_ASSIGN_OR_RETURN(const BmpHeader h, parse_header(bytes));
    HeaderInfo info;
    info.width = h.width;
    info.height = h.height;
    return info;
}

Result<Image> decode_bmp(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
    HCLIP_ASSIGN_OR_RETURN(const BmpHeader h, parse_header(bytes));
    HCLIP_RETURN_IF_ERROR(check_dimensions(kBmp, h.width, h.height, options.max_pixels));
    const std::size_t width = static_cast<std::size_t>(h.width);
    const std::size_t height = static_cast<std::size_t>(h.height);

    const bool paletted = h.bits == 1 || h.bits == 4 || h.bits == 8;
    if (!paletted && h.bits != 16 && h.bits != 24 && h.bits != 32) {
        return unsupported("BMP images with " + std::to_string(h.bits) + " bits per pixel are not supported");
    }
    const bool rle = h.compression == kRle8 || h.compression == kRle4;
    if (rle && !((h.compression == kRle8 && h.bits == 8) || (h.compression == kRle4 && h.bits == 4))) {
        return corrupt_error(kBmp, "RLE compression does not match the bit depth");
    }
    if (h.compression != kRaw && h.compression != kBitFields && !rle) {
        return unsupported("BMP compression method " + std::to_string(h.compression) + " is not supported");
    }
    if (h.compression == kBitFields && (paletted || h.bits == 24)) {
        // Pillow accepts 24-bit bit fields only in the plain B, G, R layout, which is what raw 24-bit means.
        if (!(h.bits == 24 && h.masks[0] == 0xFF0000 && h.masks[1] == 0xFF00 && h.masks[2] == 0xFF)) {
            return unsupported("this BMP bit field layout is not supported");
        }
    }
    if (h.pixel_offset > bytes.size()) return truncated_error(kBmp);
    const std::span<const std::uint8_t> data = bytes.subspan(h.pixel_offset);

    Image image;
    image.width = static_cast<int>(width);
    image.height = static_cast<int>(height);

    if (paletted) {
        if (h.colors > 65536) return corrupt_error(kBmp, "the palette has " + std::to_string(h.colors) + " colours");
        const std::size_t entries = std::min<std::size_t>(h.colors, 256);
        if (h.palette_offset + entries * h.palette_entry_size > bytes.size()) return truncated_error(kBmp);
        Palette palette;
        for (std::size_t i = 0; i < entries; ++i) {
            const std::uint8_t* e = &bytes[h.palette_offset + i * h.palette_entry_size];
            palette.rgba[i] = {e[2], e[1], e[0], 255};  // stored B, G, R(, reserved)
        }
        // Pillow: a palette of (0,0,0),(255,255,255) gives mode "1", the ramp (i,i,i) for every entry gives "L".
        bool grey = true;
        for (std::size_t i = 0; i < h.colors && grey; ++i) {
            const std::uint8_t level =
                h.colors == 2 ? static_cast<std::uint8_t>(i * 255) : static_cast<std::uint8_t>(i);
            const auto& e = palette.rgba[std::min<std::size_t>(i, 255)];
            grey = i < 256 && e[0] == level && e[1] == level && e[2] == level;
        }

        std::vector<std::uint8_t> indices(width * height);
        if (rle) {
            HCLIP_RETURN_IF_ERROR(decode_rle(data, h.compression == kRle4, width, height, indices));
            if (!h.top_down) {  // stored bottom-up
                for (std::size_t y = 0; y < height / 2; ++y) {
                    std::swap_ranges(indices.begin() + static_cast<std::ptrdiff_t>(y * width),
                                     indices.begin() + static_cast<std::ptrdiff_t>((y + 1) * width),
                                     indices.begin() + static_cast<std::ptrdiff_t>((height - 1 - y) * width));
                }
            }
        } else {
            const std::size_t stride = ((width * static_cast<std::size_t>(h.bits) + 31) / 32) * 4;
            const std::size_t used = (width * static_cast<std::size_t>(h.bits) + 7) / 8;
            if (data.size() < stride * (height - 1) + used) return truncated_error(kBmp);
            for (std::size_t y = 0; y < height; ++y) {
                const std::uint8_t* row = data.data() + (h.top_down ? y : height - 1 - y) * stride;
                std::uint8_t* dst = indices.data() + y * width;
                for (std::size_t x = 0; x < width; ++x) {
                    switch (h.bits) {
                        case 1:
                            dst[x] = (row[x / 8] >> (7 - x % 8)) & 1;
                            break;
                        case 4:
                            dst[x] = (row[x / 2] >> (x % 2 == 0 ? 4 : 0)) & 0x0F;
                            break;
                        default:
                            dst[x] = row[x];
                            break;
                    }
                }
            }
        }
        if (grey) {
            image.mode = PixelMode::kL;
            if (h.colors == 2) {
                for (auto& v : indices)
                    v = v != 0 ? 255 : 0;
            }
            image.pixels = std::move(indices);
        } else {
            image.mode = PixelMode::kRGB;
            size_pixel_buffer(image.pixels, image.byte_size());
            expand_palette(indices, palette, false, image.pixels);
        }
        return image;
    }

    // Direct colour. Default layouts: 16-bit 5-5-5, 24-bit B,G,R, 32-bit B,G,R,X.
    std::uint32_t masks[4] = {0x7C00, 0x03E0, 0x001F, 0};
    if (h.bits >= 24) {
        masks[0] = 0xFF0000;
        masks[1] = 0x00FF00;
        masks[2] = 0x0000FF;
    }
    if (h.compression == kBitFields) {
        if (h.bits == 32 && h.masks[0] == 0 && h.masks[1] == 0 && h.masks[2] == 0 && h.masks[3] == 0) {
            masks[3] = 0xFF000000;  // Pillow reads all-zero masks as B, G, R, A
        } else if (h.bits != 24) {
            std::copy(std::begin(h.masks), std::end(h.masks), std::begin(masks));
        }
        for (std::uint32_t m : masks) {
            if (!contiguous_mask(m) || (h.bits == 16 && m > 0xFFFF)) {
                return unsupported("this BMP bit field layout is not supported");
            }
        }
    }
    const Channel red(masks[0]), green(masks[1]), blue(masks[2]), alpha(masks[3]);
    image.mode = masks[3] != 0 ? PixelMode::kRGBA : PixelMode::kRGB;
    const std::size_t pixel_bytes = static_cast<std::size_t>(h.bits) / 8;
    const std::size_t stride = ((width * static_cast<std::size_t>(h.bits) + 31) / 32) * 4;
    if (data.size() < stride * (height - 1) + width * pixel_bytes) return truncated_error(kBmp);
    size_pixel_buffer(image.pixels, image.byte_size());
    const std::size_t out_step = static_cast<std::size_t>(channels(image.mode));
    for (std::size_t y = 0; y < height; ++y) {
        const std::uint8_t* row = data.data() + (h.top_down ? y : height - 1 - y) * stride;
        std::uint8_t* dst = image.pixels.data() + y * width * out_step;
        for (std::size_t x = 0; x < width; ++x, row += pixel_bytes, dst += out_step) {
            std::uint32_t pixel = 0;
            for (std::size_t b = 0; b < pixel_bytes; ++b)
                pixel |= std::uint32_t{row[b]} << (8 * b);
            dst[0] = red(pixel);
            dst[1] = green(pixel);
            dst[2] = blue(pixel);
            if (out_step == 4) dst[3] = alpha(pixel);
        }
    }
    return image;
}

}  // namespace hclip::image_codecs
