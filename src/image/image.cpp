#include "image/image.h"

#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

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

void size_pixel_buffer(std::vector<std::uint8_t>& buffer, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::size_t kLarge = std::size_t{4} << 20;
    constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;  // x86-64 and 4 KiB-page arm64; a multiple of 16 KiB
    if (bytes >= kLarge && buffer.capacity() < bytes) {
        buffer.reserve(bytes);  // allocated, not yet touched: the advice applies before the first fault
        const auto begin = reinterpret_cast<std::uintptr_t>(buffer.data());
        const std::uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
        const std::uintptr_t last = (begin + bytes) & ~(kHugePage - 1);
        // Only whole huge pages inside the buffer: nothing else shares them. Without THP the call fails harmlessly.
        if (last > first) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
    }
#endif
    buffer.resize(bytes);
}

}  // namespace hclip
