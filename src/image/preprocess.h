// CLIP image preprocessing, identical to OpenCLIP's inference `image_transform` (torchvision on Pillow); with the
// defaults, OpenAI's `preprocess`: Resize(S, BICUBIC) on the short side in the image's own mode, CenterCrop(S),
// convert("RGB"), ToTensor, Normalize.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/status.h"
#include "image/image.h"
#include "image/pillow_resize.h"

namespace hclip {

// How the picture is fitted into the model's S x S input (OpenCLIP's preprocess_cfg "resize_mode").
enum class ResizeMode {
    kShortest,  // short side to S, centre crop (OpenAI's)
    kLongest,   // long side to S keeping the ratio, centre padded with zeros (OpenCLIP's ResizeKeepRatio + pad)
    kSquash,    // both sides to S, the ratio lost, nothing cropped
};

std::string_view resize_mode_name(ResizeMode mode);  // "shortest", "longest", "squash"

// What a model's configuration says about its inputs, without the size (OpenCLIP's PreprocessCfg; its defaults are
// OpenAI's).
struct PreprocessConfig {
    std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
    std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
    ResampleFilter interpolation = ResampleFilter::kBicubic;
    ResizeMode resize_mode = ResizeMode::kShortest;
};

// The preprocessing at the model's input size.
struct PreprocessSpec : PreprocessConfig {
    int image_size = 224;
};

// The largest image_size accepted (far above any CLIP model's input).
inline constexpr int kMaxPreprocessImageSize = 4096;

// torchvision's Resize(int) output size: the short side becomes `image_size`, the long side
// int(image_size * long / short). Fails when that long side is absurd (an extreme aspect ratio).
struct ResizedSize {
    int width = 0;
    int height = 0;
};
Result<ResizedSize> clip_resize_size(int width, int height, int image_size);

// torchvision's CenterCrop offset: int(round((size - crop) / 2)) with Python's round half to even.
int center_crop_offset(int size, int crop);

// OpenCLIP's ResizeKeepRatio(longest=1) output size: both sides times S / long side, each rounded half to even
// (Python's round). A side that would round to 0 is kept at 1 pixel (the reference would refuse the image).
Result<ResizedSize> keep_ratio_longest_size(int width, int height, int image_size);

// Fit the image into image_size x image_size as spec.resize_mode says (Pillow resize with spec.interpolation, in
// the image's own mode; padding, for `longest`, with zeros in that mode, as torchvision's pad with fill 0), then
// convert to 8-bit RGB. Output: image_size * image_size * 3 bytes, HWC. This is what an NPU image encoder takes.
Status resize_crop_to_rgb8(const Image& image, const PreprocessSpec& spec, std::span<std::uint8_t> out_hwc);

// Normalize 8-bit RGB HWC into float CHW: (v / 255 - mean) / std, each step rounded to float32 as torchvision does.
// Writes nothing when either buffer is smaller than 3 * image_size * image_size.
void normalize_rgb8_to_chw(std::span<const std::uint8_t> rgb_hwc, int image_size, const PreprocessSpec& spec,
                           std::span<float> out_chw);

// Both steps. out_chw has 3 * image_size * image_size floats.
Status preprocess_image(const Image& image, const PreprocessSpec& spec, std::span<float> out_chw);

}  // namespace hclip
