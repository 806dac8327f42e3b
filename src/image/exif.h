// EXIF orientation: reading tag 0x0112 from an EXIF (TIFF-structured) blob and applying it like Pillow's
// ImageOps.exif_transpose.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "image/image.h"

namespace hclip {

// The orientation (1..8) in IFD0 of an EXIF blob, with or without the "Exif\0\0" prefix. 1 when the blob is
// malformed, the tag is absent or its value is not 1..8 (Pillow then leaves the image as it is).
int exif_orientation(std::span<const std::uint8_t> exif);

// Pillow reads the orientation from XMP when EXIF has none (PNG "XML:com.adobe.xmp" text):
// `tiff:Orientation="6"` or `<tiff:Orientation>6</tiff:Orientation>`. 1 when absent.
int xmp_orientation(std::string_view xmp);

// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
// Other values return the image unchanged.
Image apply_exif_orientation(Image image, int orientation);

}  // namespace hclip
