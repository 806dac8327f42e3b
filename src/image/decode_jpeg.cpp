// JPEG through libjpeg-turbo, configured as Pillow's decoder is: accurate integer IDCT (JDCT_ISLOW), fancy
// upsampling, output in the file's own colour space (L, RGB or CMYK, where Pillow stores Adobe-style inverted
// CMYK: every 4-component JPEG is inverted, as Pillow's "CMYK;I" raw mode does).
//
// libjpeg reports fatal errors through error_exit, whose default calls exit(). We longjmp back instead. The jump
// crosses only libjpeg's C frames and lands in start_decoder() or read_bands() (whichever set it last), which
// create no C++ object with a destructor after their setjmp, so no destructor is ever skipped; everything that
// outlives the jump lives in JpegSession.
//
// Truncation: at the end of the data libjpeg's memory source warns (JWRN_JPEG_EOF) and pads with a fake EOI, i.e.
// it would silently return a partly grey image. Pillow raises for truncated images, and so do we: that warning is
// turned into an error. Other libjpeg warnings (e.g. extraneous bytes before a marker) are ignored, as in Pillow.
//
// Bands: a baseline JPEG's entropy-coded data can only be read from the start, but libjpeg-turbo's
// jpeg_skip_scanlines() skips rows at the cost of that reading alone (measured here: 40-60% of decoding them;
// the inverse DCT, upsampling and colour conversion are skipped). So a large picture is cut into bands of rows:
// the calling thread decodes from the top, and each idle pool thread opens its own decoder, skips to the start of
// a band lower down and decodes it. Bands are sized so that all finish together; whichever decoder finishes a band
// goes on into the next one if nobody has claimed it, so a busy pool costs nothing. The rows are libjpeg's own
// (tests/unit/jpeg_bands_test.cpp compares band counts with one decoder, byte for byte).
#include <algorithm>
#include <atomic>
#include <csetjmp>
#include <cstddef>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <jpeglib.h>
// jerror.h after jpeglib.h: the warning codes (JWRN_JPEG_EOF).
#include <jerror.h>

#include "image/codecs.h"
#include "image/exif.h"
#include "kernels/compute_pool.h"

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

// The statuses start_decoder() reports, built out of line: its frame then holds no std::string, not even a temporary,
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

// Opens the decoder up to jpeg_start_decompress. libjpeg can longjmp out of everything in here: no object with a
// destructor is created after setjmp; `image` and `session` belong to the caller. Returns false on failure
// (session.errors says why); a refused size is reported through `size_status`, which the caller owns too. Sets
// image's size and mode; allocates its pixels when `allocate`.
bool start_decoder(JpegSession& session, std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                   Image& image, Status& size_status, bool allocate) {
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
    if (allocate) size_pixel_buffer(image.pixels, image.byte_size());
    return true;
}

// The bands of output rows a picture is decoded in, and which of them a decoder has taken.
struct Bands {
    std::vector<int> start;  // first row of each band, then the height
    std::unique_ptr<std::atomic<bool>[]> claimed;
    std::atomic<bool> failed{false};

    explicit Bands(std::vector<int> starts)
        : start(std::move(starts)), claimed(std::make_unique<std::atomic<bool>[]>(start.size() - 1)) {}
    int count() const { return static_cast<int>(start.size()) - 1; }
    bool claim(int band) { return !claimed[static_cast<std::size_t>(band)].exchange(true); }
};

// Decodes band `band` (already claimed) into `image`, then each following band it can claim; finishes the
// decompression after the last row. `skip`: the decoder is at row 0 and skips to the band's first row first.
// False on failure; libjpeg's errors jump out of it to read_bands().
bool read_bands_unguarded(JpegSession& session, Image& image, Bands& bands, int band, bool skip) {
    j_decompress_ptr cinfo = &session.cinfo;
    const auto first = static_cast<JDIMENSION>(bands.start[static_cast<std::size_t>(band)]);
    if (skip && jpeg_skip_scanlines(cinfo, first) != first) {
        session.errors.failure = JpegFailure::kTruncated;
        return false;
    }
    const std::size_t row_bytes = image.row_bytes();
    while (true) {
        const auto end = static_cast<JDIMENSION>(bands.start[static_cast<std::size_t>(band) + 1]);
        while (cinfo->output_scanline < end) {
            JSAMPROW row = image.pixels.data() + static_cast<std::size_t>(cinfo->output_scanline) * row_bytes;
            if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
                session.errors.failure = JpegFailure::kTruncated;  // a memory source never suspends: data ran out
                return false;
            }
        }
        if (++band == bands.count()) break;
        if (!bands.claim(band)) return true;  // another decoder has it
    }
    jpeg_finish_decompress(cinfo);
    return true;
}

// read_bands_unguarded() with libjpeg's errors caught: as in start_decoder, nothing with a destructor after setjmp.
bool read_bands(JpegSession& session, Image& image, Bands& bands, int band, bool skip) {
    if (setjmp(session.errors.jump) != 0) return false;
    return read_bands_unguarded(session, image, bands, band, skip);
}

// Pictures of fewer output pixels are decoded by one thread: a second decoder's set-up and the hand-off would
// cost more than half of a small picture's decode saves.
constexpr std::uint64_t kMinBandedPixels = std::uint64_t{1} << 18;
// Skipping a row costs about this much of decoding it (its entropy decoding; measured 0.40 on a 12-megapixel photo
// and 0.58 on a small one). Bands are sized for it.
constexpr double kSkipCost = 0.45;

// The first row of each band, for `parts` decoders of which all but the first skip to their band: decoder j
// spends kSkipCost * s_j + (s_{j+1} - s_j) for the same time t as the first's s_1, so s_{j+1} = t + (1 -
// kSkipCost) s_j. Band starts fall on whole rows of 8x8 blocks (`unit` output rows) and empty bands are dropped.
std::vector<int> band_starts(int rows, int unit, int parts) {
    std::vector<double> reach(static_cast<std::size_t>(parts) + 1, 0.0);  // s_j / t
    for (std::size_t j = 1; j < reach.size(); ++j)
        reach[j] = 1.0 + (1.0 - kSkipCost) * reach[j - 1];
    std::vector<int> starts = {0};
    for (std::size_t j = 1; j < reach.size() - 1; ++j) {
        const double at = rows * reach[j] / reach.back();
        const int row = static_cast<int>(at / unit + 0.5) * unit;
        if (row > starts.back() && row < rows) starts.push_back(row);
    }
    starts.push_back(rows);
    return starts;
}

// The bands to decode `image` in: their first rows, then the height (one band: no banding).
std::vector<int> band_plan(const jpeg_decompress_struct& cinfo, const Image& image, const DecodeOptions& options) {
    const std::vector<int> whole = {0, image.height};
    if (cinfo.progressive_mode || options.jpeg_bands == 1) return whole;  // a progressive file is read at the start
    const int unit = std::max(1, cinfo.max_v_samp_factor * cinfo.min_DCT_scaled_size);
    const int most = std::max(1, image.height / (2 * unit));
    int parts = std::min(options.jpeg_bands, most);
    if (options.jpeg_bands <= 0) {
        const auto pixels = static_cast<std::uint64_t>(image.width) * static_cast<std::uint64_t>(image.height);
        if (pixels < kMinBandedPixels) return whole;
        parts = std::min(machine_cores(), most);
    }
    return parts > 1 ? band_starts(image.height, unit, parts) : whole;
}

// In bands where the picture is large enough, else whole. Should any band fail (corrupt or truncated data), the
// picture is decoded again whole, on this thread, so that the verdict is exactly the one-decoder one.
Result<Image> decode_banded(std::span<const std::uint8_t> bytes, const DecodeOptions& options) {
    JpegSession session;
    Image image;
    Status size_status;
    if (!start_decoder(session, bytes, options, image, size_status, true)) return failure_status(session);
    if (!size_status.ok()) return size_status;
    Bands bands(band_plan(session.cinfo, image, options));
    if (bands.count() == 1) {
        bands.claim(0);
        if (!read_bands(session, image, bands, 0, false)) return failure_status(session);
        return image;
    }
    parallel_for(bands.count(), [&](int band) {
        if (!bands.claim(band)) return;  // the decoder of the band above went on into it
        if (band == 0) {
            if (!read_bands(session, image, bands, 0, false)) bands.failed = true;
            return;
        }
        JpegSession helper;
        Image geometry;
        Status helper_status;
        const bool opened = start_decoder(helper, bytes, options, geometry, helper_status, false);
        if (!opened || !helper_status.ok() || geometry.width != image.width || geometry.height != image.height ||
            !read_bands(helper, image, bands, band, true)) {
            bands.failed = true;
        }
    });
    if (!bands.failed) return image;
    DecodeOptions whole = options;
    whole.jpeg_bands = 1;
    return decode_banded(bytes, whole);
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
    Result<Image> decoded = decode_banded(bytes, options);
    if (!decoded.ok()) return decoded;
    Image& image = *decoded;
    if (image.mode == PixelMode::kCMYK) {
        for (auto& v : image.pixels)
            v = static_cast<std::uint8_t>(255 - v);
    }
    return decoded;
}

}  // namespace hclip::image_codecs
