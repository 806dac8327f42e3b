#include "image/pillow_resize.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>  // SSE2, and AVX2 in functions built for it
#endif

#include "image/convert.h"
#include "kernels/compute_pool.h"
#include "kernels/simd_clones.h"

namespace hclip {

namespace {

// Pillow: 32 bits minus 8 for the pixel value minus 2 so that negative lobes and sums above 1 cannot overflow.
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr std::int32_t kRoundingHalf = std::int32_t{1} << (kPrecisionBits - 1);

// The kernels written exactly as Pillow evaluates them (same operation order, so the same doubles).

// Keys' cubic convolution kernel with a = -0.5.
double bicubic_kernel(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// The triangle (linear interpolation when enlarging).
double bilinear_kernel(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

// A filter and the half-width of its support at scale 1 (Pillow's struct filter).
struct FilterKernel {
    double (*evaluate)(double);
    double support;
};

FilterKernel filter_kernel(ResampleFilter filter) {
    switch (filter) {
        case ResampleFilter::kBilinear:
            return {bilinear_kernel, 1.0};
        case ResampleFilter::kBicubic:
            break;
    }
    return {bicubic_kernel, 2.0};
}

inline std::uint8_t clip_fixed_point(std::int32_t accumulator) {
    const std::int32_t value = accumulator >> kPrecisionBits;  // arithmetic shift: floor, as in Pillow
    return static_cast<std::uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}

// Fixed-point filter taps for output samples [out_begin, out_begin + out_count) of one axis.
struct AxisFilter {
    int taps = 0;                       // Pillow's ksize: the stride between samples in `weights`
    std::vector<int> first;             // first input sample used by each output sample
    std::vector<int> count;             // number of input samples used
    std::vector<std::int32_t> weights;  // out_count * taps, unused tail zero

    int input_end() const {  // one past the last input sample any output sample reads
        int end = 0;
        for (std::size_t i = 0; i < first.size(); ++i)
            end = std::max(end, first[i] + count[i]);
        return end;
    }
};

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box (0, in_size), restricted to some outputs.
AxisFilter compute_axis_filter(const FilterKernel& filter, int in_size, int out_size, int out_begin, int out_count) {
    const double scale = static_cast<double>(in_size) / out_size;
    const double filter_scale = std::max(scale, 1.0);  // widen the kernel when shrinking: antialiasing
    const double support = filter.support * filter_scale;
    const double inverse_filter_scale = 1.0 / filter_scale;

    AxisFilter axis;
    axis.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    axis.first.resize(static_cast<std::size_t>(out_count));
    axis.count.resize(static_cast<std::size_t>(out_count));
    axis.weights.assign(static_cast<std::size_t>(out_count) * static_cast<std::size_t>(axis.taps), 0);
    std::vector<double> kernel(static_cast<std::size_t>(axis.taps));

    for (int i = 0; i < out_count; ++i) {
        const int out_index = out_begin + i;
        const double center = (out_index + 0.5) * scale;
        // Pillow truncates toward zero here (not floor), then clamps.
        int lo = static_cast<int>(center - support + 0.5);
        if (lo < 0) lo = 0;
        int hi = static_cast<int>(center + support + 0.5);
        if (hi > in_size) hi = in_size;
        const int n = hi - lo;

        double sum = 0.0;
        for (int t = 0; t < n; ++t) {
            const double w = filter.evaluate((t + lo - center + 0.5) * inverse_filter_scale);
            kernel[static_cast<std::size_t>(t)] = w;
            sum += w;
        }
        std::int32_t* fixed = &axis.weights[static_cast<std::size_t>(i) * static_cast<std::size_t>(axis.taps)];
        for (int t = 0; t < n; ++t) {
            double w = kernel[static_cast<std::size_t>(t)];
            if (sum != 0.0) w /= sum;
            // Round half away from zero, as Pillow does.
            fixed[t] = w < 0 ? static_cast<std::int32_t>(-0.5 + w * (1 << kPrecisionBits))
                             : static_cast<std::int32_t>(0.5 + w * (1 << kPrecisionBits));
        }
        axis.first[static_cast<std::size_t>(i)] = lo;
        axis.count[static_cast<std::size_t>(i)] = n;
    }
    return axis;
}

// One row: out[i] = clip(sum_t in[first_i + t] * w_i[t]), per channel.
template <int C>
void filter_row(const std::uint8_t* in, std::uint8_t* out, const AxisFilter& axis) {
    const std::size_t outputs = axis.first.size();
    for (std::size_t i = 0; i < outputs; ++i) {
        const std::int32_t* w = &axis.weights[i * static_cast<std::size_t>(axis.taps)];
        const std::uint8_t* p = in + static_cast<std::size_t>(axis.first[i]) * C;
        const int n = axis.count[i];
        std::int32_t acc[C];
        for (int c = 0; c < C; ++c)
            acc[c] = kRoundingHalf;
        for (int t = 0; t < n; ++t) {
            for (int c = 0; c < C; ++c)
                acc[c] += static_cast<std::int32_t>(p[t * C + c]) * w[t];
        }
        for (int c = 0; c < C; ++c)
            out[i * C + c] = clip_fixed_point(acc[c]);
    }
}

void filter_row(int channel_count, const std::uint8_t* in, std::uint8_t* out, const AxisFilter& axis) {
    switch (channel_count) {
        case 1:
            return filter_row<1>(in, out, axis);
        case 2:
            return filter_row<2>(in, out, axis);
        case 3:
            return filter_row<3>(in, out, axis);
        default:
            return filter_row<4>(in, out, axis);
    }
}

// Columns [begin, end) of an interleaved row into one plane per channel, plane c at planes + c * plane_size:
// pixel by pixel, all channels together, which the vectoriser turns into de-interleaving loads (NEON's ld3/ld4).
template <int C, class T>
void spread_channels(const std::uint8_t* in, int begin, int end, T* planes, std::size_t plane_size) {
    for (int x = begin; x < end; ++x) {
        const std::uint8_t* pixel = in + static_cast<std::ptrdiff_t>(x) * C;
        for (int c = 0; c < C; ++c)
            planes[static_cast<std::size_t>(c) * plane_size + static_cast<std::size_t>(x)] = pixel[c];
    }
}

template <class T>
void spread_channels(int channel_count, const std::uint8_t* in, int begin, int end, T* planes, std::size_t plane_size) {
    switch (channel_count) {
        case 1:
            return spread_channels<1>(in, begin, end, planes, plane_size);
        case 2:
            return spread_channels<2>(in, begin, end, planes, plane_size);
        case 3:
            return spread_channels<3>(in, begin, end, planes, plane_size);
        default:
            return spread_channels<4>(in, begin, end, planes, plane_size);
    }
}

// Each output's coefficients at a stride of whole `block`s, zero past its count: what a SIMD pass reads a block of
// taps at a time. Returns the stride.
int pad_coefficients(const AxisFilter& axis, int block, std::vector<std::int32_t>& padded) {
    const int stride = (axis.taps + block - 1) / block * block;
    const std::size_t outputs = axis.first.size();
    padded.assign(outputs * static_cast<std::size_t>(stride), 0);
    for (std::size_t i = 0; i < outputs; ++i) {
        std::copy_n(&axis.weights[i * static_cast<std::size_t>(axis.taps)], axis.count[i],
                    &padded[i * static_cast<std::size_t>(stride)]);
    }
    return stride;
}

// The horizontal pass on the compiler's generic 4 x int32 vectors (NEON on aarch64, where it is the fast path;
// built everywhere so that x86-64 tests it too), bit-identical to filter_row(): each row spread into one int32
// plane per channel so that an output's taps are contiguous, the 22-bit coefficients used whole (pixel x
// coefficient < 2^30 and every partial sum within Pillow's int range, so nothing wraps), four taps a step with
// zero coefficients past each output's count.
class VectorRowFilter {
  public:
    VectorRowFilter(const AxisFilter& axis, int channel_count, int input_width)
        : axis_(axis), channels_(channel_count), plane_size_(static_cast<std::size_t>(input_width) + kBlock) {
        stride_ = pad_coefficients(axis, kBlock, weights_);
        planes_.assign(plane_size_ * static_cast<std::size_t>(channels_), 0);
    }

    // `in` is the full input row; only columns [column_begin, column_end) are read.
    void run(const std::uint8_t* in, int column_begin, int column_end, std::uint8_t* out) {
        spread_channels(channels_, in, column_begin, column_end, planes_.data(), plane_size_);
        const std::size_t outputs = axis_.first.size();
        for (std::size_t i = 0; i < outputs; ++i) {
            const int blocks = (axis_.count[i] + kBlock - 1) / kBlock;
            const std::int32_t* w = weights_.data() + i * static_cast<std::size_t>(stride_);
            for (int c = 0; c < channels_; ++c) {
                const std::int32_t* x = planes_.data() + static_cast<std::size_t>(c) * plane_size_ +
                                        static_cast<std::size_t>(axis_.first[i]);
                Int32x4 sum = {};
                for (int b = 0; b < blocks; ++b) {
                    Int32x4 xv, wv;  // memcpy: unaligned loads
                    std::memcpy(&xv, x + b * kBlock, sizeof xv);
                    std::memcpy(&wv, w + b * kBlock, sizeof wv);
                    sum += xv * wv;
                }
                out[i * static_cast<std::size_t>(channels_) + static_cast<std::size_t>(c)] =
                    clip_fixed_point(kRoundingHalf + sum[0] + sum[1] + sum[2] + sum[3]);
            }
        }
    }

  private:
    typedef std::int32_t Int32x4 __attribute__((vector_size(16)));
    static constexpr int kBlock = 4;

    const AxisFilter& axis_;
    int channels_;
    std::size_t plane_size_;
    int stride_ = 0;
    std::vector<std::int32_t> weights_;
    std::vector<std::int32_t> planes_;
};

#if defined(__SSE2__)
bool cpu_has_avx2() {
    static const bool has = __builtin_cpu_supports("avx2");
    return has;
}

// The horizontal pass with SSE2 or AVX2, bit-identical to filter_row(). Pillow's 22-bit coefficients do not fit the
// 16-bit multiplier, so each is split exactly as w = hi * 2^15 + lo (lo in [0, 2^15), hi small and signed) and the
// two dot products are recombined as hi_sum * 2^15 + lo_sum in 32-bit lanes. Those may wrap, but the true sum fits
// in int32 (|sum| <= 255 * sum |w| < 2^31, which is why Pillow's own C sums in int): wrapping arithmetic modulo 2^32
// then gives exactly the scalar result. Each row is first spread into one zero-padded int16 plane per channel so
// that taps are contiguous; one output pixel's channels are reduced together. AVX2 takes 16 taps a step instead of
// 8: a photo's downscale to 224 has 9 to 60 taps.
class MaddRowFilter {
  public:
    // Each int32 lane sums at most 128 blocks x 2 products x 255 x 32767 < 2^31 up to this many taps; wider
    // kernels (downscales beyond ~250x) take the portable vectors.
    static constexpr int kMaxTaps = 1024;

    MaddRowFilter(const AxisFilter& axis, int channel_count, int input_width, bool avx2)
        : axis_(axis),
          channels_(channel_count),
          block_(avx2 ? 16 : 8),
          plane_size_(static_cast<std::size_t>(input_width) + static_cast<std::size_t>(block_)),
          avx2_(avx2) {
        std::vector<std::int32_t> padded;
        stride_ = pad_coefficients(axis, block_, padded);
        lo_.assign(padded.size(), 0);
        hi_.assign(padded.size(), 0);
        for (std::size_t at = 0; at < padded.size(); ++at) {
            lo_[at] = static_cast<std::int16_t>(padded[at] & 0x7FFF);
            hi_[at] = static_cast<std::int16_t>(padded[at] >> 15);
        }
        planes_.assign(plane_size_ * static_cast<std::size_t>(channels_), 0);
    }

    // `in` is the full input row; only columns [column_begin, column_end) are read.
    void run(const std::uint8_t* in, int column_begin, int column_end, std::uint8_t* out) {
        spread_channels(channels_, in, column_begin, column_end, planes_.data(), plane_size_);
        if (avx2_) {
            run_avx2(out);
        } else {
            run_sse2(out);
        }
    }

  private:
    // Output i's taps of channel c, and its low and high coefficient halves.
    const std::int16_t* taps(std::size_t i, int c) const {
        return planes_.data() + static_cast<std::size_t>(c) * plane_size_ + static_cast<std::size_t>(axis_.first[i]);
    }
    std::size_t coefficients(std::size_t i) const { return i * static_cast<std::size_t>(stride_); }
    int blocks(std::size_t i) const { return (axis_.count[i] + block_ - 1) / block_; }

    // Output pixel i from each channel's four partial sums (sums[c]).
    void store(const __m128i (&sums)[4], std::size_t i, std::uint8_t* out) const {
        // Lane c of `total`: the sum of sums[c]'s four lanes.
        const __m128i t01 = _mm_add_epi32(_mm_unpacklo_epi32(sums[0], sums[1]), _mm_unpackhi_epi32(sums[0], sums[1]));
        const __m128i t23 = _mm_add_epi32(_mm_unpacklo_epi32(sums[2], sums[3]), _mm_unpackhi_epi32(sums[2], sums[3]));
        const __m128i total = _mm_add_epi32(_mm_unpacklo_epi64(t01, t23), _mm_unpackhi_epi64(t01, t23));
        // Arithmetic shift (floor), then saturation to [0, 255] by the two packs: clip_fixed_point's result.
        const __m128i shifted = _mm_srai_epi32(_mm_add_epi32(total, _mm_set1_epi32(kRoundingHalf)), kPrecisionBits);
        const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(shifted, shifted), _mm_setzero_si128());
        const auto packed = static_cast<std::uint32_t>(_mm_cvtsi128_si32(bytes));
        std::memcpy(out + i * static_cast<std::size_t>(channels_), &packed, static_cast<std::size_t>(channels_));
    }

    void run_sse2(std::uint8_t* out) const {
        for (std::size_t i = 0; i < axis_.first.size(); ++i) {
            const std::int16_t* lo = lo_.data() + coefficients(i);
            const std::int16_t* hi = hi_.data() + coefficients(i);
            __m128i sums[4] = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
            for (int c = 0; c < channels_; ++c) {
                const std::int16_t* x = taps(i, c);
                __m128i sum_lo = _mm_setzero_si128();
                __m128i sum_hi = _mm_setzero_si128();
                for (int b = 0; b < blocks(i); ++b) {
                    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + b * 8));
                    sum_lo = _mm_add_epi32(
                        sum_lo, _mm_madd_epi16(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo + b * 8))));
                    sum_hi = _mm_add_epi32(
                        sum_hi, _mm_madd_epi16(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi + b * 8))));
                }
                sums[c] = _mm_add_epi32(_mm_slli_epi32(sum_hi, 15), sum_lo);
            }
            store(sums, i, out);
        }
    }

    __attribute__((target("avx2"))) void run_avx2(std::uint8_t* out) const {
        for (std::size_t i = 0; i < axis_.first.size(); ++i) {
            const std::int16_t* lo = lo_.data() + coefficients(i);
            const std::int16_t* hi = hi_.data() + coefficients(i);
            __m128i sums[4] = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
            for (int c = 0; c < channels_; ++c) {
                const std::int16_t* x = taps(i, c);
                __m256i sum_lo = _mm256_setzero_si256();
                __m256i sum_hi = _mm256_setzero_si256();
                for (int b = 0; b < blocks(i); ++b) {
                    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + b * 16));
                    sum_lo = _mm256_add_epi32(
                        sum_lo,
                        _mm256_madd_epi16(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo + b * 16))));
                    sum_hi = _mm256_add_epi32(
                        sum_hi,
                        _mm256_madd_epi16(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi + b * 16))));
                }
                const __m256i sum = _mm256_add_epi32(_mm256_slli_epi32(sum_hi, 15), sum_lo);
                sums[c] = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
            }
            store(sums, i, out);
        }
    }

    const AxisFilter& axis_;
    int channels_;
    int block_;  // int16 lanes a step: 8 (SSE2) or 16 (AVX2)
    std::size_t plane_size_;
    bool avx2_;
    int stride_ = 0;
    std::vector<std::int16_t> lo_;
    std::vector<std::int16_t> hi_;
    std::vector<std::int16_t> planes_;
};
#endif

// Vertical pass: each output row is a weighted sum of whole input rows, so it runs over contiguous bytes.
// `rows` starts at input row `row_offset`; output rows [j_begin, j_end). Cloned for AVX2 and AVX-512, whose 32-bit
// multiplies the SSE2 baseline lacks.
HCLIP_SIMD_CLONES
void filter_columns(const std::uint8_t* rows, std::size_t row_bytes, int row_offset, const AxisFilter& axis,
                    std::size_t j_begin, std::size_t j_end, std::uint8_t* out) {
    std::vector<std::int32_t> acc(row_bytes);
    for (std::size_t j = j_begin; j < j_end; ++j) {
        std::fill(acc.begin(), acc.end(), kRoundingHalf);
        const std::int32_t* w = &axis.weights[j * static_cast<std::size_t>(axis.taps)];
        for (int t = 0; t < axis.count[j]; ++t) {
            const std::uint8_t* src = rows + static_cast<std::size_t>(axis.first[j] - row_offset + t) * row_bytes;
            const std::int32_t weight = w[t];
            for (std::size_t e = 0; e < row_bytes; ++e)
                acc[e] += static_cast<std::int32_t>(src[e]) * weight;
        }
        std::uint8_t* dst = out + j * row_bytes;
        for (std::size_t e = 0; e < row_bytes; ++e)
            dst[e] = clip_fixed_point(acc[e]);
    }
}

// A pass of at least this many multiply-adds (a photo-sized picture) is split into one part of rows per core,
// smaller ones run on the calling thread. Every row is computed the same way in any part.
constexpr double kMinSplitMultiplyAdds = 1 << 18;

void for_row_parts(int count, double multiply_adds, FunctionRef<void(int, int)> part) {
    parallel_ranges(count, multiply_adds < kMinSplitMultiplyAdds ? 1 : machine_cores(), part);
}

}  // namespace

std::string_view resample_filter_name(ResampleFilter filter) {
    return filter == ResampleFilter::kBilinear ? "bilinear" : "bicubic";
}

namespace {

Result<Image> resize_window(const Image& image, int new_width, int new_height, PixelWindow window,
                            ResampleFilter filter, ResizeKernel how);

}  // namespace

Result<Image> resize_pillow(const Image& image, int new_width, int new_height, ResampleFilter filter) {
    return resize_window(image, new_width, new_height, PixelWindow{0, 0, new_width, new_height}, filter,
                         ResizeKernel::kBest);
}

Result<Image> resize_pillow_scalar(const Image& image, int new_width, int new_height, ResampleFilter filter) {
    return resize_pillow_using(image, new_width, new_height, filter, ResizeKernel::kScalar);
}

Result<Image> resize_pillow_using(const Image& image, int new_width, int new_height, ResampleFilter filter,
                                  ResizeKernel kernel) {
    return resize_window(image, new_width, new_height, PixelWindow{0, 0, new_width, new_height}, filter, kernel);
}

Result<Image> resize_pillow_window(const Image& image, int new_width, int new_height, PixelWindow window,
                                   ResampleFilter filter) {
    return resize_window(image, new_width, new_height, window, filter, ResizeKernel::kBest);
}

namespace {

// kScalar: the scalar loops on this thread; otherwise the horizontal pass `how` says, and both passes split
// across the compute pool where they are large enough.
Result<Image> resize_window(const Image& image, int new_width, int new_height, PixelWindow window,
                            ResampleFilter filter, ResizeKernel how) {
    const bool fast = how != ResizeKernel::kScalar;
    if (!image.valid()) return invalid_argument("resize: the image is empty or its pixel buffer is inconsistent");
    if (new_width <= 0 || new_height <= 0) {
        return invalid_argument("resize: the target size " + std::to_string(new_width) + "x" +
                                std::to_string(new_height) + " is not positive");
    }
    if (window.width <= 0 || window.height <= 0 || window.x < 0 || window.y < 0 ||
        window.x > new_width - window.width || window.y > new_height - window.height) {
        return invalid_argument("resize: the window " + std::to_string(window.width) + "x" +
                                std::to_string(window.height) + "+" + std::to_string(window.x) + "+" +
                                std::to_string(window.y) + " is not inside the " + std::to_string(new_width) + "x" +
                                std::to_string(new_height) + " result");
    }

    const int channel_count = channels(image.mode);
    const std::size_t pixel_bytes = static_cast<std::size_t>(channel_count);
    const std::size_t window_row_bytes = static_cast<std::size_t>(window.width) * pixel_bytes;

    Image out;
    out.width = window.width;
    out.height = window.height;
    out.mode = image.mode;

    // Image.resize returns a copy when the size does not change: no resampling and no premultiplication round trip.
    if (new_width == image.width && new_height == image.height) {
        out.pixels.resize(out.byte_size());
        for (int y = 0; y < window.height; ++y) {
            const std::uint8_t* src = image.pixels.data() + static_cast<std::size_t>(window.y + y) * image.row_bytes() +
                                      static_cast<std::size_t>(window.x) * pixel_bytes;
            std::memcpy(out.pixels.data() + static_cast<std::size_t>(y) * window_row_bytes, src, window_row_bytes);
        }
        return out;
    }

    const FilterKernel kernel = filter_kernel(filter);
    const bool premultiplied = has_alpha(image.mode);
    const bool need_horizontal = new_width != image.width;
    const bool need_vertical = new_height != image.height;

    // Input rows needed by the window's output rows.
    AxisFilter vertical;
    int row_begin = window.y;
    int row_end = window.y + window.height;
    if (need_vertical) {
        vertical = compute_axis_filter(kernel, image.height, new_height, window.y, window.height);
        row_begin = vertical.first.front();
        row_end = vertical.input_end();
    }
    const int row_count = row_end - row_begin;

    // Stage 1: those rows, resampled horizontally (or just cut to the window's columns), premultiplied if RGBA/LA.
    std::vector<std::uint8_t> stage(static_cast<std::size_t>(row_count) * window_row_bytes);
    if (need_horizontal) {
        const AxisFilter horizontal = compute_axis_filter(kernel, image.width, new_width, window.x, window.width);
        const int col_begin = horizontal.first.front();
        const int col_end = horizontal.input_end();
        const double work = static_cast<double>(row_count) * static_cast<double>(window_row_bytes) * horizontal.taps;
        // Each part has its own scratch and SIMD planes.
        for_row_parts(row_count, fast ? work : 0.0, [&](int r_begin, int r_end) {
            std::vector<std::uint8_t> scratch;
            if (premultiplied) scratch.resize(image.row_bytes());
#if defined(__SSE2__)
            std::optional<MaddRowFilter> simd;
            if ((how == ResizeKernel::kBest || how == ResizeKernel::kSse2) &&
                horizontal.taps <= MaddRowFilter::kMaxTaps)
                simd.emplace(horizontal, channel_count, image.width, how == ResizeKernel::kBest && cpu_has_avx2());
            const bool portable = fast && !simd;
#else
            const bool portable = fast;
#endif
            std::optional<VectorRowFilter> vectors;
            if (portable) vectors.emplace(horizontal, channel_count, image.width);
            for (int r = r_begin; r < r_end; ++r) {
                const std::uint8_t* src =
                    image.pixels.data() + static_cast<std::size_t>(row_begin + r) * image.row_bytes();
                if (premultiplied) {
                    const std::size_t begin = static_cast<std::size_t>(col_begin) * pixel_bytes;
                    const std::size_t end = static_cast<std::size_t>(col_end) * pixel_bytes;
                    std::memcpy(scratch.data() + begin, src + begin, end - begin);
                    premultiply_alpha(std::span<std::uint8_t>(scratch.data() + begin, end - begin), channel_count);
                    src = scratch.data();
                }
                std::uint8_t* dst = stage.data() + static_cast<std::size_t>(r) * window_row_bytes;
#if defined(__SSE2__)
                if (simd) {
                    simd->run(src, col_begin, col_end, dst);
                    continue;
                }
#endif
                if (vectors) {
                    vectors->run(src, col_begin, col_end, dst);
                    continue;
                }
                filter_row(channel_count, src, dst, horizontal);
            }
        });
    } else {
        for (int r = 0; r < row_count; ++r) {
            const std::uint8_t* src = image.pixels.data() +
                                      static_cast<std::size_t>(row_begin + r) * image.row_bytes() +
                                      static_cast<std::size_t>(window.x) * pixel_bytes;
            std::memcpy(stage.data() + static_cast<std::size_t>(r) * window_row_bytes, src, window_row_bytes);
        }
        if (premultiplied) premultiply_alpha(stage, channel_count);
    }

    // Stage 2: vertical pass over the 8-bit intermediate.
    if (need_vertical) {
        out.pixels.resize(out.byte_size());
        const double work = static_cast<double>(window.height) * static_cast<double>(window_row_bytes) * vertical.taps;
        for_row_parts(window.height, fast ? work : 0.0, [&](int j_begin, int j_end) {
            filter_columns(stage.data(), window_row_bytes, row_begin, vertical, static_cast<std::size_t>(j_begin),
                           static_cast<std::size_t>(j_end), out.pixels.data());
        });
    } else {
        out.pixels = std::move(stage);
    }
    if (premultiplied) unpremultiply_alpha(out.pixels, channel_count);
    return out;
}

}  // namespace

}  // namespace hclip
