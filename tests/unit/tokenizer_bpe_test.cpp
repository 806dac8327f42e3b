// The heap-based BPE against a direct transcription of the reference's bpe() loop, on random merge lists
// (including badly ordered ones) and random words.
#include "tokenizer/bpe.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab_loader.h"

namespace hclip {
namespace {

using Pair = std::pair<std::string, std::string>;

std::string byte_symbol(unsigned char byte) {
    std::string s;
    append_utf8(s, byte_to_unicode()[byte]);
    return s;
}

// The reference: merge every occurrence of the lowest-ranked adjacent pair, left to right, until none is left.
std::vector<std::string> reference_bpe(const std::string& word, const std::map<Pair, int>& ranks) {
    std::vector<std::string> symbols;
    for (std::size_t i = 0; i < word.size(); ++i) {
        symbols.push_back(byte_symbol(static_cast<unsigned char>(word[i])) + (i + 1 == word.size() ? "</w>" : ""));
    }
    while (symbols.size() > 1) {
        const Pair* best = nullptr;
        int best_rank = 0;
        std::vector<Pair> pairs;
        for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
            pairs.emplace_back(symbols[i], symbols[i + 1]);
        for (const Pair& p : pairs) {
            auto it = ranks.find(p);
            if (it != ranks.end() && (best == nullptr || it->second < best_rank)) {
                best = &p;
                best_rank = it->second;
            }
        }
        if (best == nullptr) break;
        const Pair bigram = *best;
        std::vector<std::string> merged;
        for (std::size_t i = 0; i < symbols.size();) {
            if (i + 1 < symbols.size() && symbols[i] == bigram.first && symbols[i + 1] == bigram.second) {
                merged.push_back(bigram.first + bigram.second);
                i += 2;
            } else {
                merged.push_back(symbols[i++]);
            }
        }
        symbols = std::move(merged);
    }
    return symbols;
}

struct RandomVocab {
    std::vector<Pair> merges;  // in rank order
    std::string vocab_json;
    std::string merges_txt;
};

RandomVocab make_random_vocab(std::mt19937& rng, bool shuffle_ranks) {
    std::vector<std::string> symbols;
    for (char c : std::string("abc")) {
        symbols.push_back(std::string(1, c));
        symbols.push_back(std::string(1, c) + "</w>");
    }
    RandomVocab v;
    std::vector<std::string> created;
    for (int attempt = 0; attempt < 400 && v.merges.size() < 60; ++attempt) {
        const std::string left = symbols[rng() % symbols.size()];
        const std::string right = symbols[rng() % symbols.size()];
        if (left.ends_with("</w>") || left.size() + right.size() > 12) continue;
        const Pair pair{left, right};
        if (std::find(v.merges.begin(), v.merges.end(), pair) != v.merges.end()) continue;
        v.merges.push_back(pair);
        symbols.push_back(left + right);
        created.push_back(left + right);
    }
    if (shuffle_ranks) std::shuffle(v.merges.begin(), v.merges.end(), rng);

    nlohmann::json vocab = nlohmann::json::object();
    int next_id = 0;
    auto add = [&](const std::string& token) {
        if (!vocab.contains(token)) vocab[token] = next_id++;
    };
    for (int b = 0; b < 256; ++b)
        add(byte_symbol(static_cast<unsigned char>(b)));
    for (int b = 0; b < 256; ++b)
        add(byte_symbol(static_cast<unsigned char>(b)) + "</w>");
    for (const std::string& token : created)
        add(token);
    add("<|startoftext|>");
    add("<|endoftext|>");
    v.vocab_json = vocab.dump();
    v.merges_txt = "#version: 0.2\n";
    for (const Pair& m : v.merges)
        v.merges_txt += m.first + " " + m.second + "\n";
    return v;
}

void expect_matches_reference(bool shuffle_ranks) {
    std::mt19937 rng(shuffle_ranks ? 1234 : 4321);
    for (int vocab_round = 0; vocab_round < 40; ++vocab_round) {
        const RandomVocab v = make_random_vocab(rng, shuffle_ranks);
        auto vocab = parse_hf_vocab(v.vocab_json, v.merges_txt);
        ASSERT_TRUE(vocab.ok()) << vocab.status().to_string();
        std::map<Pair, int> ranks;
        for (std::size_t r = 0; r < v.merges.size(); ++r)
            ranks[v.merges[r]] = static_cast<int>(r);
        const auto json = nlohmann::json::parse(v.vocab_json);

        BpeScratch scratch;
        for (int w = 0; w < 200; ++w) {
            std::string word;
            const int length = 1 + static_cast<int>(rng() % 40);
            for (int i = 0; i < length; ++i)
                word.push_back("abc"[rng() % 3]);
            std::vector<std::int32_t> expected;
            for (const std::string& s : reference_bpe(word, ranks))
                expected.push_back(json.at(s).get<std::int32_t>());
            std::vector<std::int32_t> got;
            vocab->bpe.encode_word({reinterpret_cast<const std::uint8_t*>(word.data()), word.size()}, got, scratch);
            ASSERT_EQ(got, expected) << "word " << word << " with merges:\n" << v.merges_txt;
        }
    }
}

TEST(BytePairEncoder, MatchesReferenceLoop) {
    expect_matches_reference(/*shuffle_ranks=*/false);
}

TEST(BytePairEncoder, MatchesReferenceLoopWithBadlyOrderedMerges) {
    expect_matches_reference(/*shuffle_ranks=*/true);
}

TEST(MergeTable, LaterInsertWinsAndMissingPairsAreNull) {
    MergeTable table;
    for (std::int32_t i = 0; i < 5000; ++i)
        table.insert(i, i + 1, {i, i + 100000});
    table.insert(7, 8, {1, 2});
    EXPECT_EQ(table.size(), 5000u);
    ASSERT_NE(table.find(7, 8), nullptr);
    EXPECT_EQ(table.find(7, 8)->rank, 1);
    EXPECT_EQ(table.find(4999, 5000)->merged, 104999);
    EXPECT_EQ(table.find(8, 7), nullptr);
    EXPECT_EQ(table.find(0, 0), nullptr);
}

}  // namespace
}  // namespace hclip
