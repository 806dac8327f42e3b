// The image field: bare base64 or a data URI.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/http/base64.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)hclip::server::decode_base64(text);
    (void)hclip::server::decode_image_field(text);
    return 0;
}
