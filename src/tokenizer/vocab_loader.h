// Builds the BPE vocabulary from OpenAI's bpe_simple_vocab_16e6.txt or a Hugging Face vocab.json + merges.txt.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/bpe.h"

namespace hclip {

struct Vocabulary {
    std::vector<std::string> tokens;  // id -> token, UTF-8 in the byte-level alphabet ("</w>" marks a word end)
    BytePairEncoder bpe;
    std::int32_t start_of_text = -1;
    std::int32_t end_of_text = -1;
};

// GPT-2's byte-level alphabet (bytes_to_unicode): printable Latin-1 bytes map to themselves, the others to
// U+0100 upwards, so that every byte is a visible character.
const std::array<char32_t, 256>& byte_to_unicode();

// The decompressed OpenAI merges file: a header line, then merges 1..48894 build the 49408-token vocabulary.
Result<Vocabulary> parse_openai_bpe(std::string_view merges_text);

// Hugging Face CLIPTokenizer files. merges.txt may start with a "#version" line.
Result<Vocabulary> parse_hf_vocab(std::string_view vocab_json, std::string_view merges_txt);

}  // namespace hclip
