// CLIP's text tokenizer: the same ids as OpenAI's clip/simple_tokenizer.py and clip.tokenize(text, truncate=True).
//
// Pipeline: ftfy-style fixes, html.unescape twice, whitespace collapsing, Python lowercasing, the reference
// pre-tokenizer regex, byte-level BPE. Output: <|startoftext|>, ids, <|endoftext|>, cut to the context length
// with the last id forced to <|endoftext|>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hclip {

inline constexpr int kContextLength = 77;
inline constexpr std::int32_t kStartOfText = 49406, kEndOfText = 49407;

struct TokenizedText {
    std::vector<std::int32_t> ids;  // SOT ... EOT, at most context_length, NOT padded
    bool truncated = false;         // the text had more tokens than fit
    std::size_t full_length = 0;    // number of ids before truncation (SOT+BPE+EOT)
};

struct Vocabulary;

class ClipTokenizer {
  public:
    // An empty tokenizer without a vocabulary (encode() gives no ids), so that owners can hold one and assign a
    // loaded tokenizer later.
    ClipTokenizer() = default;

    // The embedded OpenAI vocabulary (parsed once per process, then shared).
    static Result<ClipTokenizer> from_builtin();
    static Result<ClipTokenizer> from_bpe_gz(const std::string& path);
    static Result<ClipTokenizer> from_hf_files(const std::string& vocab_json, const std::string& merges_txt);
    // Picks vocab.json+merges.txt in `dir`, else bpe_simple_vocab_16e6.txt.gz in `dir`, else the built-in
    // vocabulary.
    static Result<ClipTokenizer> from_model_dir(const std::string& dir);

    // Thread-safe: no shared mutable state. Invalid UTF-8 is decoded with U+FFFD replacements.
    // A context_length below 1 yields no ids (and truncated = true).
    TokenizedText encode(std::string_view utf8_text, int context_length = kContextLength) const;
    // Number of ids (highest id + 1): 49408 for the OpenAI vocabulary.
    std::size_t vocab_size() const;
    std::int32_t start_of_text_id() const;
    std::int32_t end_of_text_id() const;
    // Best-effort inverse, as the reference's decode(): special tokens stay as text, "</w>" becomes a space,
    // unknown ids are skipped.
    std::string decode(std::span<const std::int32_t> ids) const;

  private:
    explicit ClipTokenizer(std::shared_ptr<const Vocabulary> vocab);

    std::shared_ptr<const Vocabulary> vocab_;  // immutable, shared by copies
};

}  // namespace hclip
