// OpenAI's bpe_simple_vocab_16e6.txt.gz (MIT, from the CLIP repository), embedded in the library at build time.
#pragma once

#include <cstdint>
#include <span>

namespace hclip {

std::span<const std::uint8_t> builtin_vocab_gz();

}  // namespace hclip
