#include "image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "image/convert.h"
#include "image/pillow_resize.h"

namespace hclip {

namespace {

// Above this the resized long side is refused: it would mean an aspect ratio beyond 70000:1 at 224 px.
constexpr std::int64_t kMaxResizedSide = std::int64_t{1} << 24;

Status check_image_size(int image_size) {
    if (image_size <= 0 || image_size > kMaxPreprocessImageSize) {
        return invalid_argument("the preprocessing image_size " + std::to_string(image_size) + " is outside 1.." +
                                std::to_string(kMaxPreprocessImageSize));
    }
    return Status::ok_status();
}

// Python's round(x) for a non-negative double: to nearest, ties to even.
std::int64_t round_half_even(double x) {
    const double lower = std::floor(x);
    const double fraction = x - lower;
    auto result = static_cast<std::int64_t>(lower);
    if (fraction > 0.5 || (fraction == 0.5 && result % 2 != 0)) ++result;
    return result;
}

// One axis of placing a resized image into the S-pixel output: torchvision's pad (left/top = (S - n) // 2) when it
// is smaller, CenterCrop's offset when it is larger.
struct AxisPlacement {
    int source = 0;  // first resized pixel used
    int target = 0;  // where it lands in the output
    int length = 0;  // how many
};

AxisPlacement place_on_axis(int resized, int size) {
    if (resized < size) return {0, (size - resized) / 2, resized};
    return {center_crop_offset(resized, size), 0, size};
}

// The resized image centred in a size x size canvas of zeros in its own mode (OpenCLIP's CenterCropOrPad, fill 0).
Image pad_to_square(const Image& resized, int size) {
    const AxisPlacement x = place_on_axis(resized.width, size);
    const AxisPlacement y = place_on_axis(resized.height, size);
    Image out;
    out.width = out.height = size;
    out.mode = resized.mode;
    out.pixels.assign(out.byte_size(), 0);
    const std::size_t pixel_bytes = static_cast<std::size_t>(channels(resized.mode));
    for (int row = 0; row < y.length; ++row) {
        const std::uint8_t* src = resized.pixels.data() +
                                  static_cast<std::size_t>(y.source + row) * resized.row_bytes() +
                                  static_cast<std::size_t>(x.source) * pixel_bytes;
        std::uint8_t* dst = out.pixels.data() + static_cast<std::size_t>(y.target + row) * out.row_bytes() +
                            static_cast<std::size_t>(x.target) * pixel_bytes;
        std::memcpy(dst, src, static_cast<std::size_t>(x.length) * pixel_bytes);
    }
    return out;
}

Result<Image> fit_to_square(const Image& image, const PreprocessSpec& spec) {
    const int size = spec.image_size;
    switch (spec.resize_mode) {
        case ResizeMode::kSquash:
            return resize_pillow(image, size, size, spec.interpolation);
        case ResizeMode::kLongest: {
            HCLIP_ASSIGN_OR_RETURN(const ResizedSize resized, keep_ratio_longest_size(image.width, image.height, size));
            HCLIP_ASSIGN_OR_RETURN(const Image scaled,
                                   resize_pillow(image, resized.width, resized.height, spec.interpolation));
            return pad_to_square(scaled, size);
        }
        case ResizeMode::kShortest:
            break;
    }
    HCLIP_ASSIGN_OR_RETURN(const ResizedSize resized, clip_resize_size(image.width, image.height, size));
    const PixelWindow crop{center_crop_offset(resized.width, size), center_crop_offset(resized.height, size), size,
                           size};
    return resize_pillow_window(image, resized.width, resized.height, crop, spec.interpolation);
}

}  // namespace

std::string_view resize_mode_name(ResizeMode mode) {
    switch (mode) {
        case ResizeMode::kLongest:
            return "longest";
        case ResizeMode::kSquash:
            return "squash";
        case ResizeMode::kShortest:
            break;
    }
    return "shortest";
}

Result<ResizedSize> clip_resize_size(int width, int height, int image_size) {
    HCLIP_RETURN_IF_ERROR(check_image_size(image_size));
    if (width <= 0 || height <= 0) {
        return invalid_argument("cannot resize an image of size " + std::to_string(width) + "x" +
                                std::to_string(height));
    }
    const bool width_is_short = width <= height;
    const std::int64_t short_side = width_is_short ? width : height;
    const std::int64_t long_side = width_is_short ? height : width;
    // Python: int(size * long / short), a true division (exact operands, one rounding) then truncation.
    const double exact = static_cast<double>(std::int64_t{image_size} * long_side) / static_cast<double>(short_side);
    if (exact >= static_cast<double>(kMaxResizedSide)) {
        return invalid_argument("the image's aspect ratio (" + std::to_string(width) + "x" + std::to_string(height) +
                                ") is too extreme to resize to a " + std::to_string(image_size) + " px short side");
    }
    const int new_long = static_cast<int>(exact);
    return width_is_short ? ResizedSize{image_size, new_long} : ResizedSize{new_long, image_size};
}

Result<ResizedSize> keep_ratio_longest_size(int width, int height, int image_size) {
    HCLIP_RETURN_IF_ERROR(check_image_size(image_size));
    if (width <= 0 || height <= 0) {
        return invalid_argument("cannot resize an image of size " + std::to_string(width) + "x" +
                                std::to_string(height));
    }
    // ResizeKeepRatio.get_params with longest=1: ratio = max(h / S, w / S), each side round(side / ratio).
    const double ratio = std::max(static_cast<double>(height) / image_size, static_cast<double>(width) / image_size);
    const auto side = [&](int n) {
        return static_cast<int>(std::max<std::int64_t>(1, round_half_even(static_cast<double>(n) / ratio)));
    };
    return ResizedSize{side(width), side(height)};
}

int center_crop_offset(int size, int crop) {
    // round((size - crop) / 2) with ties to even: the half case happens only for an odd difference.
    const int diff = size - crop;
    const int half = diff / 2;  // exact for even diff; floor-toward-zero for odd diff
    if (diff % 2 == 0) return half;
    // diff odd: value is half + 0.5 (diff > 0) or half - 0.5 (diff < 0); pick the even neighbour.
    const int lower = diff > 0 ? half : half - 1;
    return (lower % 2 == 0) ? lower : lower + 1;
}

Status resize_crop_to_rgb8(const Image& image, const PreprocessSpec& spec, std::span<std::uint8_t> out_hwc) {
    const int image_size = spec.image_size;
    HCLIP_RETURN_IF_ERROR(check_image_size(image_size));
    if (!image.valid()) return invalid_argument("preprocess: the image is empty or its pixel buffer is inconsistent");
    const std::size_t expected = static_cast<std::size_t>(image_size) * static_cast<std::size_t>(image_size) * 3;
    if (out_hwc.size() != expected) {
        return invalid_argument("preprocess: the output buffer has " + std::to_string(out_hwc.size()) +
                                " bytes, expected " + std::to_string(expected));
    }
    HCLIP_ASSIGN_OR_RETURN(const Image fitted, fit_to_square(image, spec));
    return convert_pixels_to_rgb(fitted.pixels, fitted.mode, out_hwc);
}

void normalize_rgb8_to_chw(std::span<const std::uint8_t> rgb_hwc, int image_size, const PreprocessSpec& spec,
                           std::span<float> out_chw) {
    const std::size_t plane = static_cast<std::size_t>(image_size) * static_cast<std::size_t>(image_size);
    if (image_size <= 0 || rgb_hwc.size() < plane * 3 || out_chw.size() < plane * 3) return;
    for (std::size_t c = 0; c < 3; ++c) {
        const float mean = spec.mean[c];
        const float stddev = spec.std[c];
        float* dst = out_chw.data() + c * plane;
        for (std::size_t i = 0; i < plane; ++i) {
            // ToTensor divides by 255 in float32, Normalize subtracts then divides: three rounded float32 steps.
            const float scaled = static_cast<float>(rgb_hwc[i * 3 + c]) / 255.0f;
            dst[i] = (scaled - mean) / stddev;
        }
    }
}

Status preprocess_image(const Image& image, const PreprocessSpec& spec, std::span<float> out_chw) {
    HCLIP_RETURN_IF_ERROR(check_image_size(spec.image_size));
    const std::size_t plane = static_cast<std::size_t>(spec.image_size) * static_cast<std::size_t>(spec.image_size);
    if (out_chw.size() != plane * 3) {
        return invalid_argument("preprocess: the output tensor has " + std::to_string(out_chw.size()) +
                                " floats, expected " + std::to_string(plane * 3));
    }
    std::vector<std::uint8_t> rgb(plane * 3);
    HCLIP_RETURN_IF_ERROR(resize_crop_to_rgb8(image, spec, rgb));
    normalize_rgb8_to_chw(rgb, spec.image_size, spec, out_chw);
    return Status::ok_status();
}

}  // namespace hclip
