// CLIP image preprocessing, identical to OpenAI's `preprocess` (torchvision 0.14 on Pillow 9.4):
// Resize(S, BICUBIC) on the short side in the image's own mode, CenterCrop(S), convert("RGB"), ToTensor, Normalize.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/status.h"
#include "image/image.h"

namespace hclip {

struct PreprocessSpec {
    int image_size = 224;
    std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
    std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
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

// Resize short side to image_size (Pillow BICUBIC, in the image's own mode), centre crop, convert to 8-bit RGB.
// Output: image_size * image_size * 3 bytes, HWC. This is what an NPU image encoder takes as input.
Status resize_crop_to_rgb8(const Image& image, int image_size, std::span<std::uint8_t> out_hwc);

// Normalize 8-bit RGB HWC into float CHW: (v / 255 - mean) / std, each step rounded to float32 as torchvision does.
// Writes nothing when either buffer is smaller than 3 * image_size * image_size.
void normalize_rgb8_to_chw(std::span<const std::uint8_t> rgb_hwc, int image_size, const PreprocessSpec& spec,
                           std::span<float> out_chw);

// Both steps. out_chw has 3 * image_size * image_size floats.
Status preprocess_image(const Image& image, const PreprocessSpec& spec, std::span<float> out_chw);

}  // namespace hclip
