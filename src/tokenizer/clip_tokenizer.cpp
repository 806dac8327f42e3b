#include "tokenizer/clip_tokenizer.h"

#include <filesystem>
#include <unordered_map>
#include <utility>

#include "core/mapped_file.h"
#include "tokenizer/builtin_vocab.h"
#include "tokenizer/gunzip.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/text_normalize.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab_loader.h"

namespace hclip {
namespace {

// The real file inflates to 1.6 MB; anything far larger is not a vocabulary.
constexpr std::size_t kMaxVocabBytes = 64u << 20;
constexpr std::string_view kWordEnd = "</w>";

Result<std::shared_ptr<const Vocabulary>> vocabulary_from_gz(std::span<const std::uint8_t> compressed) {
    HCLIP_ASSIGN_OR_RETURN(std::string text, gunzip(compressed, kMaxVocabBytes));
    HCLIP_ASSIGN_OR_RETURN(Vocabulary vocab, parse_openai_bpe(text));
    return std::shared_ptr<const Vocabulary>(std::make_shared<Vocabulary>(std::move(vocab)));
}

bool is_existing_file(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

}  // namespace

ClipTokenizer::ClipTokenizer(std::shared_ptr<const Vocabulary> vocab) : vocab_(std::move(vocab)) {}

Result<ClipTokenizer> ClipTokenizer::from_builtin() {
    // Parsed once; every tokenizer made from it shares the immutable tables.
    static const Result<std::shared_ptr<const Vocabulary>> builtin = vocabulary_from_gz(builtin_vocab_gz());
    if (!builtin.ok()) return builtin.status().with_context("built-in vocabulary");
    return ClipTokenizer(*builtin);
}

Result<ClipTokenizer> ClipTokenizer::from_bpe_gz(const std::string& path) {
    auto load = [&]() -> Result<ClipTokenizer> {
        HCLIP_ASSIGN_OR_RETURN(std::string compressed, read_file(path));
        HCLIP_ASSIGN_OR_RETURN(auto vocab, vocabulary_from_gz({reinterpret_cast<const std::uint8_t*>(compressed.data()),
                                                               compressed.size()}));
        return ClipTokenizer(std::move(vocab));
    };
    auto result = load();
    if (!result.ok()) return result.status().with_context("loading " + path);
    return result;
}

Result<ClipTokenizer> ClipTokenizer::from_hf_files(const std::string& vocab_json, const std::string& merges_txt) {
    auto load = [&]() -> Result<ClipTokenizer> {
        HCLIP_ASSIGN_OR_RETURN(std::string vocab_text, read_file(vocab_json));
        HCLIP_ASSIGN_OR_RETURN(std::string merges_text, read_file(merges_txt));
        HCLIP_ASSIGN_OR_RETURN(Vocabulary vocab, parse_hf_vocab(vocab_text, merges_text));
        return ClipTokenizer(std::make_shared<Vocabulary>(std::move(vocab)));
    };
    auto result = load();
    if (!result.ok()) return result.status().with_context("loading " + vocab_json + " and " + merges_txt);
    return result;
}

Result<ClipTokenizer> ClipTokenizer::from_model_dir(const std::string& dir) {
    const std::filesystem::path root(dir);
    const auto vocab_json = root / "vocab.json";
    const auto merges_txt = root / "merges.txt";
    if (is_existing_file(vocab_json) && is_existing_file(merges_txt)) {
        return from_hf_files(vocab_json.string(), merges_txt.string());
    }
    const auto bpe_gz = root / "bpe_simple_vocab_16e6.txt.gz";
    if (is_existing_file(bpe_gz)) return from_bpe_gz(bpe_gz.string());
    return from_builtin();
}

TokenizedText ClipTokenizer::encode(std::string_view utf8_text, int context_length) const {
    if (!vocab_) return {};
    const Vocabulary& vocab = *vocab_;
    const std::u32string text = normalize_for_clip(utf8_text);
    std::vector<PreToken> pieces;
    pretokenize(text, pieces);

    TokenizedText result;
    result.ids.reserve(pieces.size() * 2 + 2);
    result.ids.push_back(vocab.start_of_text);
    BpeScratch scratch;
    std::string word;
    for (const PreToken& piece : pieces) {
        switch (piece.kind) {
            case PreToken::Kind::kStartToken:
                result.ids.push_back(vocab.start_of_text);
                break;
            case PreToken::Kind::kEndToken:
                result.ids.push_back(vocab.end_of_text);
                break;
            case PreToken::Kind::kText:
                word.clear();
                for (std::size_t i = piece.begin; i < piece.end; ++i)
                    append_utf8(word, text[i]);
                vocab.bpe.encode_word({reinterpret_cast<const std::uint8_t*>(word.data()), word.size()}, result.ids,
                                      scratch);
                break;
        }
    }
    result.ids.push_back(vocab.end_of_text);
    result.full_length = result.ids.size();

    if (context_length < 1) {
        result.ids.clear();
        result.truncated = true;
    } else if (result.ids.size() > static_cast<std::size_t>(context_length)) {
        result.ids.resize(static_cast<std::size_t>(context_length));
        result.ids.back() = vocab.end_of_text;
        result.truncated = true;
    }
    return result;
}

std::size_t ClipTokenizer::vocab_size() const {
    return vocab_ ? vocab_->tokens.size() : 0;
}

std::int32_t ClipTokenizer::start_of_text_id() const {
    return vocab_ ? vocab_->start_of_text : kStartOfText;
}

std::int32_t ClipTokenizer::end_of_text_id() const {
    return vocab_ ? vocab_->end_of_text : kEndOfText;
}

std::string ClipTokenizer::decode(std::span<const std::int32_t> ids) const {
    static const std::unordered_map<char32_t, std::uint8_t> unicode_to_byte = [] {
        std::unordered_map<char32_t, std::uint8_t> map;
        for (int b = 0; b < 256; ++b)
            map[byte_to_unicode()[static_cast<std::size_t>(b)]] = static_cast<std::uint8_t>(b);
        return map;
    }();
    if (!vocab_) return {};
    std::string symbols;
    for (std::int32_t id : ids) {
        if (id >= 0 && static_cast<std::size_t>(id) < vocab_->tokens.size()) symbols += vocab_->tokens[id];
    }
    std::string bytes;
    for (char32_t c : decode_utf8_lossy(symbols)) {
        auto it = unicode_to_byte.find(c);
        if (it != unicode_to_byte.end()) {
            bytes.push_back(static_cast<char>(it->second));
        } else {
            append_utf8(bytes, c);  // not in the byte alphabet (only possible with a foreign vocab.json)
        }
    }
    std::string text = encode_utf8(decode_utf8_lossy(bytes));
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0;;) {
        const std::size_t hit = text.find(kWordEnd, pos);
        if (hit == std::string::npos) {
            out.append(text, pos, std::string::npos);
            break;
        }
        out.append(text, pos, hit - pos);
        out.push_back(' ');
        pos = hit + kWordEnd.size();
    }
    return out;
}

}  // namespace hclip
