// Pillow 9.4's Image.resize(size, Image.BICUBIC) for 8-bit images, bit-exact (libImaging/Resample.c):
// a separable convolution, horizontal pass first, with the bicubic kernel (a = -0.5) stretched by the downscale
// factor (antialiasing), coefficients normalised to sum 1 and rounded to 22-bit fixed point, an 8-bit clipped
// intermediate image, and a pass skipped when its dimension does not change. As in Image.resize, RGBA and LA are
// resampled premultiplied (RGBa / La) and divided back, and an unchanged size returns a plain copy.
//
// Reentrant: coefficients are computed per call, nothing is cached globally. The horizontal pass uses SSE2 when
// available, with exact integer arithmetic (same results as the scalar path).
#pragma once

#include "core/status.h"
#include "image/image.h"

namespace hclip {

// A rectangle of the resized image, in its coordinates.
struct PixelWindow {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
};

// The whole resized image.
Result<Image> resize_bicubic(const Image& image, int new_width, int new_height);

// Only `window` of the resized image: identical, byte for byte, to cropping resize_bicubic's result, but only the
// rows and columns the window needs are computed. This is what makes a centre crop of an extreme aspect ratio
// image cheap (and possible at all: the full resized strip may be enormous).
Result<Image> resize_bicubic_window(const Image& image, int new_width, int new_height, PixelWindow window);

}  // namespace hclip
