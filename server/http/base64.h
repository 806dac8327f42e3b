// Strict base64 (RFC 4648 standard alphabet) for image payloads, with an optional data URI prefix.
// Hand-written because it must reject what lenient decoders accept silently (stray characters, bad padding) and
// report where, and it is a few dozen lines; ASCII whitespace (MIME line breaks) is skipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hclip::server {

Result<std::vector<std::uint8_t>> decode_base64(std::string_view text);

// Standard base64 with padding (for answers: embeddings as bytes, uploads turned into the JSON form).
std::string encode_base64(std::string_view bytes);

// Accepts bare base64 or "data:<media type>[;params];base64,<data>". Any other data URI is an error.
Result<std::vector<std::uint8_t>> decode_image_field(std::string_view field);

}  // namespace hclip::server
