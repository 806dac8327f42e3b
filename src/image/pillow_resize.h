// Pillow's Image.resize(size, Image.BICUBIC or Image.BILINEAR) for 8-bit images, bit-exact (libImaging/Resample.c,
// unchanged in this respect from Pillow 9.4 to 11): a separable convolution, horizontal pass first, with the filter
// (bicubic a = -0.5 with support 2, or the triangle with support 1) stretched by the downscale factor
// (antialiasing), coefficients normalised to sum 1 and rounded to 22-bit fixed point, an 8-bit clipped intermediate
// image, and a pass skipped when its dimension does not change. As in Image.resize, RGBA and LA are
// resampled premultiplied (RGBa / La) and divided back, and an unchanged size returns a plain copy.
//
// Reentrant: coefficients are computed per call, nothing is cached globally. The horizontal pass uses SSE2 on
// x86-64 and the compiler's generic vectors elsewhere (NEON on aarch64), with exact integer arithmetic (same
// results as the scalar path).
#pragma once

#include <string_view>

#include "core/status.h"
#include "image/image.h"

namespace hclip {

// The resampling filters of the model configurations (OpenCLIP's preprocess_cfg "interpolation").
enum class ResampleFilter { kBicubic, kBilinear };

std::string_view resample_filter_name(ResampleFilter filter);  // "bicubic", "bilinear"

// A rectangle of the resized image, in its coordinates.
struct PixelWindow {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
};

// The whole resized image.
Result<Image> resize_pillow(const Image& image, int new_width, int new_height, ResampleFilter filter);

// Only `window` of the resized image: identical, byte for byte, to cropping resize_pillow's result, but only the
// rows and columns the window needs are computed. This is what makes a centre crop of an extreme aspect ratio
// image cheap (and possible at all: the full resized strip may be enormous).
Result<Image> resize_pillow_window(const Image& image, int new_width, int new_height, PixelWindow window,
                                   ResampleFilter filter);

// How the horizontal pass runs. kBest: AVX2 on x86-64 CPUs that have it, else SSE2 (the portable vectors for kernels
// too wide for either), the portable vectors elsewhere (NEON on aarch64). kSse2: the SSE2 pass on x86-64 (the best
// elsewhere). kPortableVectors: the compiler's generic vectors on any CPU. kScalar: the scalar loops, and no pass
// split across threads: the oracle the others are tested against, bit for bit. All give the same bytes.
enum class ResizeKernel { kBest, kSse2, kPortableVectors, kScalar };

Result<Image> resize_pillow_using(const Image& image, int new_width, int new_height, ResampleFilter filter,
                                  ResizeKernel kernel);

// resize_pillow_using(..., ResizeKernel::kScalar).
Result<Image> resize_pillow_scalar(const Image& image, int new_width, int new_height, ResampleFilter filter);

inline Result<Image> resize_bicubic(const Image& image, int new_width, int new_height) {
    return resize_pillow(image, new_width, new_height, ResampleFilter::kBicubic);
}
inline Result<Image> resize_bicubic_window(const Image& image, int new_width, int new_height, PixelWindow window) {
    return resize_pillow_window(image, new_width, new_height, window, ResampleFilter::kBicubic);
}

}  // namespace hclip
