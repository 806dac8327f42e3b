// PNG through libpng, reproducing how Pillow opens PNGs: 16-bit channels keep their high byte, 1/2/4-bit grey is
// scaled to 8 bits, palette images are expanded to RGB, or to RGBA when a tRNS chunk is present (Pillow's
// convert("RGBA") of a P image with transparency). tRNS on grey or RGB images is ignored, as Pillow keeps those
// in L / RGB mode. Gamma and colour profiles are not applied (Pillow does not either).
//
// libpng reports fatal errors through a callback that must not return; ours longjmps to the setjmp in
// run_decoder(), which creates no C++ object with a destructor after setjmp. Everything that outlives the jump
// lives in PngSession or belongs to the caller.
#include <png.h>

#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "image/codecs.h"
#include "image/convert.h"
#include "image/exif.h"

namespace hclip::image_codecs {

namespace {

constexpr std::string_view kPng = "PNG";
constexpr std::size_t kSignatureSize = 8;
constexpr std::uint32_t kMaxPngDimension = 0x7FFFFFFF;  // PNG spec: dimensions fit in 31 bits

struct PngSession {
    png_structp png = nullptr;
    png_infop info = nullptr;
    std::span<const std::uint8_t> bytes;
    std::size_t position = 0;
    bool truncated = false;
    char message[256] = {};
    std::vector<std::uint8_t> indices;  // palette images: one index per pixel

    PngSession() = default;
    ~PngSession() {
        if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
    }
    PngSession(const PngSession&) = delete;
    PngSession& operator=(const PngSession&) = delete;
};

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
    auto* session = static_cast<PngSession*>(png_get_error_ptr(png));
    std::snprintf(session->message, sizeof(session->message), "%s", message != nullptr ? message : "unknown error");
    png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}  // benign (bad ancillary CRC, unknown sRGB profile, ...)

void on_png_read(png_structp png, png_bytep out, std::size_t length) {
    auto* session = static_cast<PngSession*>(png_get_io_ptr(png));
    if (length > session->bytes.size() - session->position) {
        session->truncated = true;
        png_error(png, "truncated");
    }
    std::memcpy(out, session->bytes.data() + session->position, length);
    session->position += length;
}

// The statuses run_decoder() reports, built out of line: its frame then holds no std::string, not even a temporary,
// that a longjmp could skip or that setjmp could leave in a clobbered register.
[[gnu::noinline]] void check_size(Status& out, png_uint_32 width, png_uint_32 height, std::uint64_t max_pixels) {
    out = check_dimensions(kPng, width, height, max_pixels);
}
[[gnu::noinline]] void refuse_missing_palette(Status& out) {
    out = corrupt_error(kPng, "a palette image without a PLTE chunk");
}
[[gnu::noinline]] void refuse_colour_type(Status& out, int color_type) {
    out = corrupt_error(kPng, "unknown colour type " + std::to_string(color_type));
}
[[gnu::noinline]] void report_row_size_mismatch(Status& out) {
    out = internal_error("libpng row size does not match the expected layout");
}

// See the file comment. Returns false on a libpng error; refused sizes come back through `size_status`.
bool run_decoder(PngSession& session, const DecodeOptions& options, Image& image, Palette& palette, bool& is_palette,
                 Status& size_status) {
    if (setjmp(png_jmpbuf(session.png)) != 0) return false;

    png_set_read_fn(session.png, &session, on_png_read);
    // Our own limits are checked below; libpng's default 1,000,000-pixel side limit would mask them.
    png_set_user_limits(session.png, kMaxPngDimension, kMaxPngDimension);
    // Text and colour profile chunks are not needed; skipping them avoids inflating untrusted zTXt/iCCP data.
    static constexpr png_byte kIgnoredChunks[] = {'i', 'C', 'C', 'P', 0, 'z', 'T', 'X', 't', 0,
                                                  'i', 'T', 'X', 't', 0, 't', 'E', 'X', 't', 0};
    png_set_keep_unknown_chunks(session.png, PNG_HANDLE_CHUNK_NEVER, kIgnoredChunks, 4);

    png_read_info(session.png, session.info);
    png_uint_32 width = 0;
    png_uint_32 height = 0;
    int bit_depth = 0;
    int color_type = 0;
    int interlace = 0;
    png_get_IHDR(session.png, session.info, &width, &height, &bit_depth, &color_type, &interlace, nullptr, nullptr);
    check_size(size_status, width, height, options.max_pixels);
    if (!size_status.ok()) return true;

    is_palette = color_type == PNG_COLOR_TYPE_PALETTE;
    switch (color_type) {
        case PNG_COLOR_TYPE_GRAY:
            image.mode = PixelMode::kL;
            if (bit_depth < 8) png_set_expand_gray_1_2_4_to_8(session.png);
            break;
        case PNG_COLOR_TYPE_GRAY_ALPHA:
            image.mode = PixelMode::kLA;
            break;
        case PNG_COLOR_TYPE_RGB:
            image.mode = PixelMode::kRGB;
            break;
        case PNG_COLOR_TYPE_RGB_ALPHA:
            image.mode = PixelMode::kRGBA;
            break;
        case PNG_COLOR_TYPE_PALETTE: {
            if (bit_depth < 8) png_set_packing(session.png);
            png_colorp entries = nullptr;
            int entry_count = 0;
            if (png_get_PLTE(session.png, session.info, &entries, &entry_count) == 0) {
                refuse_missing_palette(size_status);
                return true;
            }
            for (int i = 0; i < entry_count && i < 256; ++i) {
                palette.rgba[static_cast<std::size_t>(i)] = {entries[i].red, entries[i].green, entries[i].blue, 255};
            }
            png_bytep alphas = nullptr;
            int alpha_count = 0;
            image.mode = PixelMode::kRGB;
            if (png_get_tRNS(session.png, session.info, &alphas, &alpha_count, nullptr) != 0 && alphas != nullptr) {
                image.mode = PixelMode::kRGBA;
                for (int i = 0; i < alpha_count && i < 256; ++i)
                    palette.rgba[static_cast<std::size_t>(i)][3] = alphas[i];
            }
            break;
        }
        default:
            refuse_colour_type(size_status, color_type);
            return true;
    }
    if (bit_depth == 16) png_set_strip_16(session.png);  // keeps the high byte
    const int passes = png_set_interlace_handling(session.png);
    png_read_update_info(session.png, session.info);

    image.width = static_cast<int>(width);
    image.height = static_cast<int>(height);
    const std::size_t row_bytes = is_palette ? static_cast<std::size_t>(width) : image.row_bytes();
    if (png_get_rowbytes(session.png, session.info) != row_bytes) {
        report_row_size_mismatch(size_status);
        return true;
    }
    std::vector<std::uint8_t>& target = is_palette ? session.indices : image.pixels;
    size_pixel_buffer(target, row_bytes * height);
    // Interlaced images: each pass fills in its own pixels of the same rows.
    for (int pass = 0; pass < passes; ++pass) {
        for (png_uint_32 y = 0; y < height; ++y)
            png_read_row(session.png, target.data() + y * row_bytes, nullptr);
    }
    // The chunks after the image data are not needed (Pillow also tolerates a file cut after the pixels).
    return true;
}

// Best-effort metadata walk: eXIf anywhere in the file, else an uncompressed XMP packet (Pillow reads
// tiff:Orientation from "XML:com.adobe.xmp" text when EXIF has none).
int png_orientation(std::span<const std::uint8_t> bytes) {
    int xmp = 1;
    std::size_t pos = kSignatureSize;
    while (pos + 12 <= bytes.size()) {
        const std::size_t length = read_u32_be(&bytes[pos]);
        const std::uint8_t* type = &bytes[pos + 4];
        if (length > bytes.size() - pos - 12) break;
        const std::span<const std::uint8_t> data(&bytes[pos + 8], length);
        if (std::memcmp(type, "eXIf", 4) == 0) return exif_orientation(data);
        if (std::memcmp(type, "IEND", 4) == 0) break;
        const bool is_itxt = std::memcmp(type, "iTXt", 4) == 0;
        if ((is_itxt || std::memcmp(type, "tEXt", 4) == 0) && xmp == 1) {
            static constexpr std::string_view kXmpKeyword{"XML:com.adobe.xmp\0", 18};
            const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
            if (text.substr(0, kXmpKeyword.size()) == kXmpKeyword) {
                std::size_t body = kXmpKeyword.size();
                if (is_itxt) {
                    // compression flag, method, language\0, translated keyword\0
                    const bool compressed = body < text.size() && text[body] != 0;
                    body += 2;
                    for (int skip = 0; skip < 2 && body <= text.size(); ++skip) {
                        const std::size_t zero = text.find('\0', body);
                        body = zero == std::string_view::npos ? text.size() + 1 : zero + 1;
                    }
                    if (compressed) body = text.size() + 1;
                }
                if (body <= text.size()) xmp = xmp_orientation(text.substr(body));
            }
        }
        pos += 12 + length;
    }
    return xmp;
}

}  // namespace

Result<HeaderInfo> probe_png(std::span<const std::uint8_t> bytes) {
    // Signature, then IHDR: length 13, "IHDR", width, height, depth, colour type, compression, filter, interlace.
    if (bytes.size() < kSignatureSize + 8 + 13) return truncated_error(kPng);
    const std::uint8_t* ihdr = &bytes[kSignatureSize];
    if (read_u32_be(ihdr) != 13 || std::memcmp(ihdr + 4, "IHDR", 4) != 0) {
        return corrupt_error(kPng, "the first chunk is not a valid IHDR");
    }
    const std::uint32_t width = read_u32_be(ihdr + 8);
    const std::uint32_t height = read_u32_be(ihdr + 12);
    if (width > kMaxPngDimension || height > kMaxPngDimension) {
        return invalid_argument("the PNG header claims an impossible size (" + std::to_string(width) + "x" +
                                std::to_string(height) + ")");
    }
    HeaderInfo info;
    info.width = width;
    info.height = height;
    info.orientation = png_orientation(bytes);
    return info;
}

Result<Image> decode_png(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
    PngSession session;
    session.bytes = bytes;
    session.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &session, on_png_error, on_png_warning);
    if (session.png == nullptr) return internal_error("libpng could not create a reader");
    session.info = png_create_info_struct(session.png);
    if (session.info == nullptr) return internal_error("libpng could not create an info structure");

    Image image;
    Palette palette;
    bool is_palette = false;
    Status size_status;
    if (!run_decoder(session, options, image, palette, is_palette, size_status)) {
        if (session.truncated) return truncated_error(kPng);
        return corrupt_error(kPng, session.message);
    }
    if (!size_status.ok()) return size_status;
    if (is_palette) {
        size_pixel_buffer(image.pixels, image.byte_size());
        expand_palette(session.indices, palette, image.mode == PixelMode::kRGBA, image.pixels);
    }
    return image;
}

}  // namespace hclip::image_codecs
