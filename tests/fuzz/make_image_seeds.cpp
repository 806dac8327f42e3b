// Writes the image seeds of tests/fuzz/corpus/fuzz_image: one tiny valid picture per format and variant, made
// here rather than copied from anywhere. Run by hand when the seeds should change:
//   build-fuzz/tests/fuzz/make_image_seeds tests/fuzz/corpus/fuzz_image
#include <cstdint>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared before it
#include <fstream>
#include <string>
#include <vector>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr int kW = 6, kH = 5;

Bytes pixels(int channels) {
    Bytes p(static_cast<std::size_t>(kW * kH * channels));
    for (int i = 0; i < kW * kH; ++i)
        for (int c = 0; c < channels; ++c)
            p[static_cast<std::size_t>(i * channels + c)] = static_cast<std::uint8_t>(i * 37 + c * 91);
    return p;
}

void save(const std::string& dir, const std::string& name, const Bytes& b) {
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes jpeg(bool progressive, bool grey) {
    const int channels = grey ? 1 : 3;
    const Bytes p = pixels(channels);
    jpeg_compress_struct cinfo{};
    jpeg_error_mgr jerr{};
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    unsigned char* out = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &out, &size);
    cinfo.image_width = kW;
    cinfo.image_height = kH;
    cinfo.input_components = channels;
    cinfo.in_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 50, TRUE);
    if (progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = const_cast<JSAMPROW>(&p[cinfo.next_scanline * static_cast<unsigned>(kW * channels)]);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    Bytes b(out, out + size);
    jpeg_destroy_compress(&cinfo);
    std::free(out);
    return b;
}

void png_append(png_structp png, png_bytep data, png_size_t size) {
    auto* b = static_cast<Bytes*>(png_get_io_ptr(png));
    b->insert(b->end(), data, data + size);
}

Bytes png(int colour_type, int channels, bool interlaced) {
    const Bytes p = pixels(channels);
    Bytes b;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, &b, png_append, nullptr);
    png_set_IHDR(png, info, kW, kH, 8, colour_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (colour_type == PNG_COLOR_TYPE_PALETTE) {
        png_color palette[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
        png_set_PLTE(png, info, palette, 4);
        png_byte alpha[2] = {0, 128};
        png_set_tRNS(png, info, alpha, 2, nullptr);
    }
    png_write_info(png, info);
    for (int y = 0; y < (interlaced ? 7 : 1); ++y) {
        for (int r = 0; r < kH; ++r) {
            Bytes row(p.begin() + r * kW * channels, p.begin() + (r + 1) * kW * channels);
            if (colour_type == PNG_COLOR_TYPE_PALETTE)
                for (auto& v : row)
                    v &= 3;
            png_write_row(png, row.data());
        }
    }
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return b;
}

Bytes webp(bool lossless, bool alpha) {
    const Bytes p = pixels(alpha ? 4 : 3);
    std::uint8_t* out = nullptr;
    std::size_t size = 0;
    if (lossless) {
        size = alpha ? WebPEncodeLosslessRGBA(p.data(), kW, kH, kW * 4, &out)
                     : WebPEncodeLosslessRGB(p.data(), kW, kH, kW * 3, &out);
    } else {
        size = alpha ? WebPEncodeRGBA(p.data(), kW, kH, kW * 4, 50, &out)
                     : WebPEncodeRGB(p.data(), kW, kH, kW * 3, 50, &out);
    }
    Bytes b(out, out + size);
    WebPFree(out);
    return b;
}

int gif_append(GifFileType* gif, const GifByteType* data, int size) {
    auto* b = static_cast<Bytes*>(gif->UserData);
    b->insert(b->end(), data, data + size);
    return size;
}

Bytes gif(bool transparent) {
    Bytes b;
    int error = 0;
    GifFileType* g = EGifOpen(&b, gif_append, &error);
    GifColorType colours[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    ColorMapObject* map = GifMakeMapObject(4, colours);
    EGifSetGifVersion(g, true);
    EGifPutScreenDesc(g, kW, kH, 2, 0, map);
    if (transparent) {
        GraphicsControlBlock gcb{};
        gcb.TransparentColor = 1;
        GifByteType ext[4];
        const std::size_t n = EGifGCBToExtension(&gcb, ext);
        EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext);
    }
    EGifPutImageDesc(g, 0, 0, kW, kH, false, nullptr);
    Bytes p = pixels(1);
    for (auto& v : p)
        v &= 3;
    for (int r = 0; r < kH; ++r)
        EGifPutLine(g, &p[static_cast<std::size_t>(r * kW)], kW);
    EGifCloseFile(g, &error);
    GifFreeMapObject(map);
    return b;
}

void le(Bytes& b, std::uint32_t v, int n) {
    for (int i = 0; i < n; ++i)
        b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

Bytes bmp(int bits) {
    const int row = ((kW * bits + 31) / 32) * 4;
    const int palette = bits <= 8 ? (1 << bits) : 0;
    const std::uint32_t offset = 14 + 40 + static_cast<std::uint32_t>(palette) * 4;
    Bytes b = {'B', 'M'};
    le(b, offset + static_cast<std::uint32_t>(row * kH), 4);
    le(b, 0, 4);
    le(b, offset, 4);
    le(b, 40, 4);
    le(b, kW, 4);
    le(b, kH, 4);
    le(b, 1, 2);
    le(b, static_cast<std::uint32_t>(bits), 2);
    for (int i = 0; i < 6; ++i)
        le(b, 0, 4);
    for (int i = 0; i < palette; ++i)
        le(b, static_cast<std::uint32_t>(i * 0x010203), 4);
    const Bytes p = pixels(4);
    for (int r = 0; r < kH; ++r)
        for (int i = 0; i < row; ++i)
            b.push_back(p[static_cast<std::size_t>((r * row + i) % static_cast<int>(p.size()))]);
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_image_seeds DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    save(dir, "baseline.jpg", jpeg(false, false));
    save(dir, "progressive.jpg", jpeg(true, false));
    save(dir, "grey.jpg", jpeg(false, true));
    save(dir, "rgb.png", png(PNG_COLOR_TYPE_RGB, 3, false));
    save(dir, "rgba_interlaced.png", png(PNG_COLOR_TYPE_RGBA, 4, true));
    save(dir, "grey.png", png(PNG_COLOR_TYPE_GRAY, 1, false));
    save(dir, "palette.png", png(PNG_COLOR_TYPE_PALETTE, 1, false));
    save(dir, "lossy.webp", webp(false, false));
    save(dir, "lossless_alpha.webp", webp(true, true));
    save(dir, "lossy_alpha.webp", webp(false, true));
    save(dir, "plain.gif", gif(false));
    save(dir, "transparent.gif", gif(true));
    save(dir, "bits24.bmp", bmp(24));
    save(dir, "bits8.bmp", bmp(8));
    save(dir, "bits1.bmp", bmp(1));
    save(dir, "bits32.bmp", bmp(32));
    return 0;
}
