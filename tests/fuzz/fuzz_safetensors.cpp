// The safetensors header and tensor table (model files come from outside: downloads, copies, truncated disks).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto file = hclip::SafetensorsFile::parse(std::span<const std::uint8_t>(data, size), "<fuzz>");
    if (!file.ok()) return 0;
    for (const auto& t : file->tensors()) {
        (void)t.shape_string();
        if (t.numel() <= (1 << 16)) {
            (void)file->read_f32(t.name);
            (void)file->read_i64(t.name);
        }
    }
    return 0;
}
