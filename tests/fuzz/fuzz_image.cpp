// Every decoder (the format is chosen from the bytes, as in the service) and the whole preprocessing path.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "image/decode.h"
#include "image/preprocess.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    (void)hclip::probe_image(bytes);
    hclip::DecodeOptions options;
    // Small enough that a claimed huge picture is refused rather than tripping libFuzzer's memory limit or its
    // 10 s limit per input; still far above any seed, so the decoders run on everything of a plausible size. At 4 MP
    // (1 << 22) a 55-byte GIF whose frame lies 16384 pixels right of its screen (Pillow widens the picture to it:
    // 16390 x 253) took 18 ms per resize uninstrumented and over 10 s in this build's three resizes (the seed
    // regression-gif-frame-far-right.gif).
    options.max_pixels = std::uint64_t{1} << 18;
    auto image = hclip::decode_image(bytes, options);
    if (!image.ok()) return 0;
    if (!image->valid()) __builtin_trap();  // the decoder promised a complete image
    // Small: the resize is exercised on every shape without slowing the fuzzer. Every resize mode, one of them
    // with the bilinear filter.
    constexpr int kSize = 32;
    std::vector<std::uint8_t> rgb(kSize * kSize * 3);
    hclip::PreprocessSpec spec;
    spec.image_size = kSize;
    (void)hclip::resize_crop_to_rgb8(*image, spec, rgb);
    spec.interpolation = hclip::ResampleFilter::kBilinear;
    spec.resize_mode = hclip::ResizeMode::kLongest;
    (void)hclip::resize_crop_to_rgb8(*image, spec, rgb);
    spec.resize_mode = hclip::ResizeMode::kSquash;
    (void)hclip::resize_crop_to_rgb8(*image, spec, rgb);
    return 0;
}
