#include "image/image.h"

namespace hclip {

int channels(PixelMode mode) {
    switch (mode) {
        case PixelMode::kL:
            return 1;
        case PixelMode::kLA:
            return 2;
        case PixelMode::kRGB:
            return 3;
        case PixelMode::kRGBA:
        case PixelMode::kCMYK:
            return 4;
    }
    return 0;
}

std::string_view pixel_mode_name(PixelMode mode) {
    switch (mode) {
        case PixelMode::kL:
            return "L";
        case PixelMode::kLA:
            return "LA";
        case PixelMode::kRGB:
            return "RGB";
        case PixelMode::kRGBA:
            return "RGBA";
        case PixelMode::kCMYK:
            return "CMYK";
    }
    return "?";
}

bool has_alpha(PixelMode mode) {
    return mode == PixelMode::kLA || mode == PixelMode::kRGBA;
}

}  // namespace hclip
