#include "tokenizer/vocab_loader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "tokenizer/utf8.h"

namespace hclip {
namespace {

// The reference keeps merges[1 : 49152 - 256 - 2 + 1] of the file's lines.
constexpr std::size_t kOpenAiMergeCount = 49152 - 256 - 2;
constexpr std::string_view kWordEnd = "</w>";
constexpr std::string_view kStartOfTextToken = "<|startoftext|>";
constexpr std::string_view kEndOfTextToken = "<|endoftext|>";

using TokenIds = std::unordered_map<std::string, std::int32_t>;

struct MergeLine {
    std::string_view left;
    std::string_view right;
};

bool is_ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Splits `line` on whitespace; exactly two parts make a merge.
std::optional<MergeLine> parse_merge_line(std::string_view line) {
    std::string_view parts[3];
    std::size_t count = 0;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_ascii_space(line[i]))
            ++i;
        if (i == line.size()) break;
        std::size_t end = i;
        while (end < line.size() && !is_ascii_space(line[end]))
            ++end;
        if (count == 3) return std::nullopt;
        parts[count++] = line.substr(i, end - i);
        i = end;
    }
    if (count != 2) return std::nullopt;
    return MergeLine{parts[0], parts[1]};
}

bool is_blank(std::string_view line) {
    return std::all_of(line.begin(), line.end(), is_ascii_space);
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (true) {
        const std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            lines.push_back(text.substr(pos));
            return lines;
        }
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
}

std::string byte_symbol(int byte) {
    std::string s;
    append_utf8(s, byte_to_unicode()[static_cast<std::size_t>(byte)]);
    return s;
}

std::optional<std::int32_t> lookup(const TokenIds& ids, const std::string& token) {
    auto it = ids.find(token);
    if (it == ids.end()) return std::nullopt;
    return it->second;
}

// Finishes a vocabulary from its token -> id map and merge lines (rank = position in `merges`).
Result<Vocabulary> build_vocabulary(std::vector<std::string> tokens, const TokenIds& ids,
                                    const std::vector<MergeLine>& merges) {
    Vocabulary vocab;
    std::array<std::int32_t, 256> byte_ids{};
    std::array<std::int32_t, 256> byte_end_ids{};
    for (int b = 0; b < 256; ++b) {
        const std::string symbol = byte_symbol(b);
        const auto id = lookup(ids, symbol);
        const auto end_id = lookup(ids, symbol + std::string(kWordEnd));
        if (!id || !end_id) return data_loss("vocabulary lacks the symbol for byte " + std::to_string(b));
        byte_ids[static_cast<std::size_t>(b)] = *id;
        byte_end_ids[static_cast<std::size_t>(b)] = *end_id;
    }
    MergeTable table;
    table.reserve(merges.size());
    std::string joined;
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        const MergeLine& m = merges[rank];
        const auto left = lookup(ids, std::string(m.left));
        const auto right = lookup(ids, std::string(m.right));
        joined.assign(m.left);
        joined.append(m.right);
        const auto merged = lookup(ids, joined);
        if (!left || !right || !merged) {
            return data_loss("merge " + std::to_string(rank + 1) + " (\"" + std::string(m.left) + " " +
                             std::string(m.right) + "\") uses a token missing from the vocabulary");
        }
        table.insert(*left, *right, {static_cast<std::int32_t>(rank), *merged});
    }
    const auto sot = lookup(ids, std::string(kStartOfTextToken));
    const auto eot = lookup(ids, std::string(kEndOfTextToken));
    if (!sot || !eot) return data_loss("vocabulary lacks <|startoftext|> or <|endoftext|>");
    vocab.tokens = std::move(tokens);
    vocab.bpe = BytePairEncoder(byte_ids, byte_end_ids, std::move(table));
    vocab.start_of_text = *sot;
    vocab.end_of_text = *eot;
    return vocab;
}

}  // namespace

const std::array<char32_t, 256>& byte_to_unicode() {
    static const std::array<char32_t, 256> table = [] {
        std::array<char32_t, 256> t{};
        char32_t next_free = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next_free++;
        }
        return t;
    }();
    return table;
}

Result<Vocabulary> parse_openai_bpe(std::string_view merges_text) {
    const std::vector<std::string_view> lines = split_lines(merges_text);
    std::vector<MergeLine> merges;
    merges.reserve(kOpenAiMergeCount);
    for (std::size_t i = 1; i < lines.size() && i <= kOpenAiMergeCount; ++i) {
        if (is_blank(lines[i])) continue;
        auto merge = parse_merge_line(lines[i]);
        if (!merge) return data_loss("BPE merges line " + std::to_string(i + 1) + ": expected two symbols");
        merges.push_back(*merge);
    }
    if (merges.empty()) return data_loss("BPE merges file has no merges");

    // Token order: byte symbols in the alphabet's order (printable first), the same with "</w>", every merge
    // joined, then the two special tokens. A repeated token keeps its last id, as the reference's dict does.
    std::vector<std::string> tokens;
    tokens.reserve(512 + merges.size() + 2);
    std::vector<int> byte_order;
    for (int b = 0; b < 256; ++b) {
        if (byte_to_unicode()[static_cast<std::size_t>(b)] == static_cast<char32_t>(b)) byte_order.push_back(b);
    }
    for (int b = 0; b < 256; ++b) {
        if (byte_to_unicode()[static_cast<std::size_t>(b)] != static_cast<char32_t>(b)) byte_order.push_back(b);
    }
    for (int b : byte_order)
        tokens.push_back(byte_symbol(b));
    for (int b : byte_order)
        tokens.push_back(byte_symbol(b) + std::string(kWordEnd));
    for (const MergeLine& m : merges)
        tokens.push_back(std::string(m.left) + std::string(m.right));
    tokens.emplace_back(kStartOfTextToken);
    tokens.emplace_back(kEndOfTextToken);

    TokenIds ids;
    ids.reserve(tokens.size());
    for (std::size_t id = 0; id < tokens.size(); ++id)
        ids[tokens[id]] = static_cast<std::int32_t>(id);
    return build_vocabulary(std::move(tokens), ids, merges);
}

Result<Vocabulary> parse_hf_vocab(std::string_view vocab_json, std::string_view merges_txt) {
    const nlohmann::json json = nlohmann::json::parse(vocab_json, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) return data_loss("vocab.json is not a JSON object");
    TokenIds ids;
    ids.reserve(json.size());
    std::int64_t max_id = -1;
    for (const auto& [token, value] : json.items()) {
        if (!value.is_number_integer()) return data_loss("vocab.json: id of \"" + token + "\" is not an integer");
        const auto id = value.get<std::int64_t>();
        if (id < 0 || id >= std::numeric_limits<std::int32_t>::max()) {
            return data_loss("vocab.json: id of \"" + token + "\" is out of range");
        }
        ids[token] = static_cast<std::int32_t>(id);
        max_id = std::max(max_id, id);
    }
    if (max_id >= static_cast<std::int64_t>(ids.size()) * 4 + 1024) return data_loss("vocab.json: ids are too sparse");
    std::vector<std::string> tokens(static_cast<std::size_t>(max_id + 1));
    for (const auto& [token, id] : ids)
        tokens[static_cast<std::size_t>(id)] = token;

    std::vector<MergeLine> merges;
    const std::vector<std::string_view> lines = split_lines(merges_txt);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (is_blank(lines[i]) || (i == 0 && lines[i].starts_with("#version"))) continue;
        auto merge = parse_merge_line(lines[i]);
        if (!merge) return data_loss("merges.txt line " + std::to_string(i + 1) + ": expected two symbols");
        merges.push_back(*merge);
    }
    return build_vocabulary(std::move(tokens), ids, merges);
}

}  // namespace hclip
