// JPEG through libjpeg-turbo, configured as Pillow's decoder is: accurate integer IDCT (JDCT_ISLOW), fancy
// upsampling, output in the file's own colour space (L, RGB or CMYK, where Pillow stores Adobe-style inverted
// CMYK: every 4-component JPEG is inverted, as Pillow's "CMYK;I" raw mode does).
//
// libjpeg reports fatal errors through error_exit, whose default calls exit(). We longjmp back instead. The jump
// crosses only libjpeg's C frames and lands in run_decoder(), which creates no C++ object with a destructor after
// its setjmp, so no destructor is ever skipped; everything that outlives the jump lives in JpegSession.
//
// Truncation: at the end of the data libjpeg's memory source warns (JWRN_JPEG_EOF) and pads with a fake EOI, i.e.
// it would silently return a partly grey image. Pillow raises for truncated images, and so do we: that warning is
// turned into an error. Other libjpeg warnings (e.g. extraneous bytes before a marker) are ignored, as in Pillow.
#include <algorithm>
#include <csetjmp>
#include <cstddef>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstring>
#include <string>

#include <jpeglib.h>
// jerror.h after jpeglib.h: the warning codes (JWRN_JPEG_EOF).
#include <jerror.h>

#include "image/codecs.h"
#include "image/exif.h"

namespace hclip::image_codecs {

namespace {

constexpr std::string_view kJpeg = "JPEG";
// Progressive files with thousands of tiny scans make decoding quadratic; real encoders use about 10.
constexpr int kMaxProgressiveScans = 1000;

enum class JpegFailure { kNone, kLibrary, kTruncated, kTooManyScans };

struct JpegErrorManager {
    jpeg_error_mgr pub;  // first member: libjpeg hands callbacks a jpeg_error_mgr*
    std::jmp_buf jump;
    JpegFailure failure;
    char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void fail(j_common_ptr cinfo, JpegFailure failure) {
    auto* errors = reinterpret_cast<JpegErrorManager*>(cinfo->err);
    errors->failure = failure;
    std::longjmp(errors->jump, 1);
}

[[noreturn]] void on_error_exit(j_common_ptr cinfo) {
    auto* errors = reinterpret_cast<JpegErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, errors->message);
    fail(cinfo, JpegFailure::kLibrary);
}

void on_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) fail(cinfo, JpegFailure::kTruncated);
    // Other warnings and trace messages: ignored (never printed to stderr).
}

void on_output_message(j_common_ptr) {}

void on_progress(j_common_ptr cinfo) {
    auto* decompress = reinterpret_cast<j_decompress_ptr>(cinfo);
    if (decompress->input_scan_number > kMaxProgressiveScans) fail(cinfo, JpegFailure::kTooManyScans);
}

struct JpegSession {
    jpeg_decompress_struct cinfo;
    JpegErrorManager errors;
    jpeg_progress_mgr progress;
    bool created = false;

    JpegSession() {
        std::memset(&cinfo, 0, sizeof(cinfo));
        std::memset(&errors, 0, sizeof(errors));
        std::memset(&progress, 0, sizeof(progress));
    }
    ~JpegSession() {
        if (created) jpeg_destroy_decompress(&cinfo);
    }
    JpegSession(const JpegSession&) = delete;
    JpegSession& operator=(const JpegSession&) = delete;
};

Status failure_status(const JpegSession& session) {
    switch (session.errors.failure) {
        case JpegFailure::kTruncated:
            return truncated_error(kJpeg);
        case JpegFailure::kTooManyScans:
            return invalid_argument("the JPEG data has more than " + std::to_string(kMaxProgressiveScans) +
                                    " progressive scans; re-encode the image");
        case JpegFailure::kLibrary:
        case JpegFailure::kNone:
            break;
    }
    const int code = session.errors.pub.msg_code;
    if (code == JERR_INPUT_EMPTY || code == JERR_INPUT_EOF) return truncated_error(kJpeg);
    return corrupt_error(kJpeg, session.errors.message);
}

// The statuses run_decoder() reports, built out of line: its frame then holds no std::string, not even a temporary,
// that a longjmp could skip or that setjmp could leave in a clobbered register.
[[gnu::noinline]] void refuse_tables_only(Status& out) {
    out = invalid_argument("the JPEG data holds no image (tables only)");
}
[[gnu::noinline]] void check_size(Status& out, JDIMENSION width, JDIMENSION height, std::uint64_t max_pixels) {
    out = check_dimensions(kJpeg, width, height, max_pixels);
}
[[gnu::noinline]] void refuse_components(Status& out, int components) {
    out = unsupported("JPEG images with " + std::to_string(components) +
                      " colour components are not supported (only 1, 3 or 4)");
}
[[gnu::noinline]] void report_changed_geometry(Status& out) {
    out = internal_error("libjpeg changed the output geometry unexpectedly");
}

// Everything libjpeg can longjmp out of. No object with a destructor is created in here after setjmp; `image` and
// `session` belong to the caller. Returns false on failure (session.errors says why); a refused size is reported
// through `size_status`, which the caller owns too.
bool run_decoder(JpegSession& session, std::span<const std::uint8_t> bytes, const DecodeOptions& options, Image& image,
                 Status& size_status) {
    j_decompress_ptr cinfo = &session.cinfo;
    cinfo->err = jpeg_std_error(&session.errors.pub);
    session.errors.pub.error_exit = on_error_exit;
    session.errors.pub.emit_message = on_emit_message;
    session.errors.pub.output_message = on_output_message;
    if (setjmp(session.errors.jump) != 0) return false;

    jpeg_create_decompress(cinfo);
    session.created = true;
    session.progress.progress_monitor = on_progress;
    cinfo->progress = &session.progress;
    jpeg_mem_src(cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
        refuse_tables_only(size_status);
        return true;
    }
    check_size(size_status, cinfo->image_width, cinfo->image_height, options.max_pixels);
    if (!size_status.ok()) return true;

    switch (cinfo->num_components) {
        case 1:
            cinfo->out_color_space = JCS_GRAYSCALE;
            image.mode = PixelMode::kL;
            break;
        case 3:
            cinfo->out_color_space = JCS_RGB;
            image.mode = PixelMode::kRGB;
            break;
        case 4:
            cinfo->out_color_space = JCS_CMYK;  // libjpeg converts YCCK to CMYK
            image.mode = PixelMode::kCMYK;
            break;
        default:
            refuse_components(size_status, cinfo->num_components);
            return true;
    }
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    cinfo->scale_num = 1;
    cinfo->scale_denom = 1;
    cinfo->scale_denom = static_cast<unsigned>(jpeg_scale_denominator(
        static_cast<int>(cinfo->image_width), static_cast<int>(cinfo->image_height), options.jpeg_scaled_min_side));

    jpeg_start_decompress(cinfo);
    const auto denom = static_cast<int>(cinfo->scale_denom);
    const auto expected_width = static_cast<JDIMENSION>(jpeg_scaled_size(static_cast<int>(cinfo->image_width), denom));
    const auto expected_height =
        static_cast<JDIMENSION>(jpeg_scaled_size(static_cast<int>(cinfo->image_height), denom));
    if (cinfo->output_width != expected_width || cinfo->output_height != expected_height ||
        cinfo->output_components != channels(image.mode)) {
        report_changed_geometry(size_status);
        return true;
    }
    image.width = static_cast<int>(cinfo->output_width);
    image.height = static_cast<int>(cinfo->output_height);
    image.pixels.resize(image.byte_size());
    const std::size_t row_bytes = image.row_bytes();
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = image.pixels.data() + static_cast<std::size_t>(cinfo->output_scanline) * row_bytes;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            session.errors.failure = JpegFailure::kTruncated;  // a memory source never suspends: data ran out
            return false;
        }
    }
    jpeg_finish_decompress(cinfo);
    return true;
}

}  // namespace

int jpeg_scale_denominator(int width, int height, int min_side) {
    if (min_side <= 0) return 1;
    for (int denominator : {8, 4, 2}) {
        if (jpeg_scaled_size(std::min(width, height), denominator) >= min_side) return denominator;
    }
    return 1;
}

Result<HeaderInfo> probe_jpeg(std::span<const std::uint8_t> bytes) {
    // A lenient marker walk like Pillow's: junk between segments is skipped, the frame header (SOFn) gives the size
    // and the first Exif APP1 before the scan gives the orientation. Only segment headers are read.
    HeaderInfo info;
    bool have_frame = false;
    bool have_exif = false;
    bool skipped_junk = false;
    std::size_t pos = 2;  // after SOI
    const std::size_t n = bytes.size();
    // Where the walk ends without problem once the frame header is known (the pixels are the decoder's business).
    const auto finish = [&](Status problem) -> Result<HeaderInfo> {
        if (have_frame) return info;
        return problem;
    };
    while (true) {
        const std::size_t junk_start = pos;
        while (pos < n && bytes[pos] != 0xFF)
            ++pos;
        skipped_junk = skipped_junk || pos != junk_start;
        while (pos < n && bytes[pos] == 0xFF)
            ++pos;  // fill bytes
        if (pos >= n) {
            // Running out after skipping junk means the bytes were never JPEG segments, not that they were cut short.
            return finish(skipped_junk ? corrupt_error(kJpeg, "no frame header found after the JPEG signature")
                                       : truncated_error(kJpeg));
        }
        const std::uint8_t marker = bytes[pos++];
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
        if (marker == 0xD9) return finish(corrupt_error(kJpeg, "end of image before any frame header"));
        if (marker < 0xC0) return finish(corrupt_error(kJpeg, "invalid marker before the frame header"));
        if (marker == 0xDA) return finish(corrupt_error(kJpeg, "scan data before the frame header"));
        if (pos + 2 > n) return finish(truncated_error(kJpeg));
        const std::size_t length = read_u16_be(&bytes[pos]);
        if (length < 2) return finish(corrupt_error(kJpeg, "a marker segment has an invalid length"));
        if (pos + length > n) return finish(truncated_error(kJpeg));
        const std::uint8_t* segment = &bytes[pos + 2];
        const std::size_t segment_size = length - 2;
        const bool is_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (marker == 0xE1 && !have_exif && segment_size >= 6 && std::memcmp(segment, "Exif\0\0", 6) == 0) {
            have_exif = true;
            info.orientation = exif_orientation(std::span<const std::uint8_t>(segment, segment_size));
        } else if (is_frame && !have_frame) {
            if (segment_size < 6) return corrupt_error(kJpeg, "the frame header is too short");
            const int precision = segment[0];
            const int components = segment[5];
            if (precision != 8) {
                return unsupported(std::to_string(precision) + "-bit JPEG images are not supported (only 8-bit)");
            }
            if (components != 1 && components != 3 && components != 4) {
                return unsupported("JPEG images with " + std::to_string(components) +
                                   " colour components are not supported (only 1, 3 or 4)");
            }
            info.height = read_u16_be(segment + 1);
            info.width = read_u16_be(segment + 3);
            have_frame = true;
        }
        pos += length;
    }
}

Result<Image> decode_jpeg(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
    JpegSession session;
    Image image;
    Status size_status;
    if (!run_decoder(session, bytes, options, image, size_status)) return failure_status(session);
    if (!size_status.ok()) return size_status;
    if (image.mode == PixelMode::kCMYK) {
        for (auto& v : image.pixels)
            v = static_cast<std::uint8_t>(255 - v);
    }
    return image;
}

}  // namespace hclip::image_codecs
