// GIF through giflib, first frame only, laid out as Pillow 9.4 loads frame 0: the canvas is the logical screen,
// enlarged if the frame reaches past it; pixels outside the frame hold the transparent index (or 0); a palette that
// is the identity grey ramp (or no palette) gives an L image, otherwise the palette is expanded to RGB, or to RGBA
// with the transparent index at alpha 0 when the frame's graphic control extension names one.
// Truncation: the first frame's data must be complete; what follows it (more frames, the trailer) is not read.
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "image/codecs.h"
#include "image/convert.h"

namespace hclip::image_codecs {

namespace {

constexpr std::string_view kGif = "GIF";

struct GifSource {
    std::span<const std::uint8_t> bytes;
    std::size_t position = 0;
    bool truncated = false;
};

int read_gif_bytes(GifFileType* gif, GifByteType* out, int length) {
    auto* source = static_cast<GifSource*>(gif->UserData);
    const std::size_t wanted = length > 0 ? static_cast<std::size_t>(length) : 0;
    const std::size_t available = std::min(wanted, source->bytes.size() - source->position);
    if (available < wanted) source->truncated = true;
    std::memcpy(out, source->bytes.data() + source->position, available);
    source->position += available;
    return static_cast<int>(available);
}

struct GifCloser {
    GifFileType* gif = nullptr;
    ~GifCloser() {
        int error = 0;
        if (gif != nullptr) DGifCloseFile(gif, &error);
    }
};

Status gif_error(const GifSource& source, int code) {
    if (source.truncated) return truncated_error(kGif);
    const char* text = GifErrorString(code);
    return corrupt_error(kGif, text != nullptr ? text : "giflib error " + std::to_string(code));
}

// Pillow opens a GIF whose palette maps every index i to grey (i, i, i) as an L image.
bool is_grey_ramp(const ColorMapObject* map) {
    if (map == nullptr) return true;
    for (int i = 0; i < map->ColorCount; ++i) {
        const GifColorType& c = map->Colors[i];
        if (c.Red != i || c.Green != i || c.Blue != i) return false;
    }
    return true;
}

// Skips a chain of data sub-blocks starting at `pos`; returns false when the data ends first.
bool skip_sub_blocks(std::span<const std::uint8_t> bytes, std::size_t& pos) {
    while (pos < bytes.size()) {
        const std::size_t size = bytes[pos++];
        if (size == 0) return true;
        pos += size;
    }
    return false;
}

}  // namespace

Result<HeaderInfo> probe_gif(std::span<const std::uint8_t> bytes) {
    // Header (6), logical screen descriptor (7), global colour table, then blocks up to the first image descriptor.
    if (bytes.size() < 13) return truncated_error(kGif);
    HeaderInfo info;
    info.width = read_u16_le(&bytes[6]);
    info.height = read_u16_le(&bytes[8]);
    std::size_t pos = 13;
    if (bytes[10] & 0x80) pos += std::size_t{3} << ((bytes[10] & 7) + 1);
    while (true) {
        if (pos >= bytes.size()) return truncated_error(kGif);
        const std::uint8_t block = bytes[pos++];
        if (block == 0x21) {  // extension: label, sub-blocks
            ++pos;
            if (!skip_sub_blocks(bytes, pos)) return truncated_error(kGif);
        } else if (block == 0x2C) {  // image descriptor: left, top, width, height
            if (pos + 9 > bytes.size()) return truncated_error(kGif);
            const std::int64_t right = std::int64_t{read_u16_le(&bytes[pos])} + read_u16_le(&bytes[pos + 4]);
            const std::int64_t bottom = std::int64_t{read_u16_le(&bytes[pos + 2])} + read_u16_le(&bytes[pos + 6]);
            info.width = std::max(info.width, right);
            info.height = std::max(info.height, bottom);
            return info;
        } else if (block == 0x3B) {
            return invalid_argument("the GIF file contains no image");
        }
        // Anything else is skipped, as Pillow does.
    }
}

Result<Image> decode_gif(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
    GifSource source{bytes};
    int error = 0;
    GifCloser closer;
    closer.gif = DGifOpen(&source, read_gif_bytes, &error);
    if (closer.gif == nullptr) return gif_error(source, error);
    GifFileType* gif = closer.gif;

    int transparent_index = -1;
    while (true) {
        GifRecordType record = UNDEFINED_RECORD_TYPE;
        if (DGifGetRecordType(gif, &record) == GIF_ERROR) return gif_error(source, gif->Error);
        if (record == TERMINATE_RECORD_TYPE) return invalid_argument("the GIF file contains no image");
        if (record == EXTENSION_RECORD_TYPE) {
            int code = 0;
            GifByteType* block = nullptr;
            if (DGifGetExtension(gif, &code, &block) == GIF_ERROR) return gif_error(source, gif->Error);
            if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr && block[0] >= 4) {
                GraphicsControlBlock control;
                if (DGifExtensionToGCB(block[0], block + 1, &control) == GIF_OK) {
                    transparent_index = control.TransparentColor;  // NO_TRANSPARENT_COLOR is -1
                }
            }
            while (block != nullptr) {
                if (DGifGetExtensionNext(gif, &block) == GIF_ERROR) return gif_error(source, gif->Error);
            }
            continue;
        }
        if (record != IMAGE_DESC_RECORD_TYPE) continue;
        if (DGifGetImageDesc(gif) == GIF_ERROR) return gif_error(source, gif->Error);
        break;
    }

    const GifImageDesc& frame = gif->Image;
    if (frame.Left < 0 || frame.Top < 0 || frame.Width < 0 || frame.Height < 0) {
        return corrupt_error(kGif, "invalid frame geometry");
    }
    // A first frame without pixels leaves nothing to show; refused rather than guessed at (found by fuzzing:
    // a zero-width frame reached the row copy with no row buffer).
    if (frame.Width == 0 || frame.Height == 0) return corrupt_error(kGif, "the first frame is empty");
    const int canvas_width = std::max(gif->SWidth, frame.Left + frame.Width);
    const int canvas_height = std::max(gif->SHeight, frame.Top + frame.Height);
    HCLIP_RETURN_IF_ERROR(check_dimensions(kGif, canvas_width, canvas_height, options.max_pixels));

    const std::size_t canvas_row = static_cast<std::size_t>(canvas_width);
    std::vector<std::uint8_t> indices(canvas_row * static_cast<std::size_t>(canvas_height),
                                      static_cast<std::uint8_t>(transparent_index >= 0 ? transparent_index : 0));
    std::vector<GifPixelType> line(static_cast<std::size_t>(frame.Width));
    // Interlaced rows arrive as rows 0, 8, 16, ..., then 4, 12, ..., then 2, 6, ..., then 1, 3, ...
    static constexpr int kPassStart[4] = {0, 4, 2, 1};
    static constexpr int kPassStep[4] = {8, 8, 4, 2};
    const int passes = frame.Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; ++pass) {
        const int start = frame.Interlace ? kPassStart[pass] : 0;
        const int step = frame.Interlace ? kPassStep[pass] : 1;
        for (int y = start; y < frame.Height; y += step) {
            if (DGifGetLine(gif, line.data(), frame.Width) == GIF_ERROR) return gif_error(source, gif->Error);
            std::memcpy(indices.data() + static_cast<std::size_t>(frame.Top + y) * canvas_row + frame.Left, line.data(),
                        line.size());
        }
    }

    const ColorMapObject* map = frame.ColorMap != nullptr ? frame.ColorMap : gif->SColorMap;
    Image image;
    image.width = canvas_width;
    image.height = canvas_height;
    if (is_grey_ramp(map)) {
        image.mode = PixelMode::kL;  // the index is the grey level; Pillow ignores transparency in this pipeline
        image.pixels = std::move(indices);
        return image;
    }
    Palette palette;
    for (int i = 0; i < map->ColorCount && i < 256; ++i) {
        const GifColorType& c = map->Colors[i];
        palette.rgba[static_cast<std::size_t>(i)] = {c.Red, c.Green, c.Blue, 255};
    }
    const bool with_alpha = transparent_index >= 0;
    if (with_alpha) palette.rgba[static_cast<std::size_t>(transparent_index & 0xFF)][3] = 0;
    image.mode = with_alpha ? PixelMode::kRGBA : PixelMode::kRGB;
    size_pixel_buffer(image.pixels, image.byte_size());
    expand_palette(indices, palette, with_alpha, image.pixels);
    return image;
}

}  // namespace hclip::image_codecs
