// Byte-level BPE over token ids, equivalent to the reference's bpe(): repeatedly merge every occurrence (left to
// right) of the adjacent pair with the lowest merge rank. A heap keeps long words O(n log n).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace hclip {

// (left id, right id) -> (rank, merged id); an open-addressing hash table, immutable after building.
class MergeTable {
  public:
    struct Merge {
        std::int32_t rank = -1;
        std::int32_t merged = -1;
    };

    void reserve(std::size_t merges);
    // A later insertion of the same pair wins, as in the reference's dict.
    void insert(std::int32_t left, std::int32_t right, Merge merge);
    // Null when the pair never merges.
    const Merge* find(std::int32_t left, std::int32_t right) const;
    std::size_t size() const { return size_; }

  private:
    static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
    static std::uint64_t key(std::int32_t left, std::int32_t right) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
    }
    std::size_t slot_of(std::uint64_t k) const;
    void grow();

    std::vector<std::uint64_t> keys_;
    std::vector<Merge> values_;
    std::size_t size_ = 0;
    int shift_ = 64;
};

// Reusable buffers, so that encoding many words does not allocate per word.
struct BpeScratch {
    struct Candidate {
        std::int32_t rank;
        std::int32_t left;  // symbol index
        std::int32_t left_id;
        std::int32_t right_id;
        std::int32_t merged;
    };
    std::vector<std::int32_t> ids, prev, next;
    std::vector<Candidate> heap, deferred;
};

class BytePairEncoder {
  public:
    BytePairEncoder() = default;
    // byte_ids[b]: id of the symbol for byte b; byte_end_ids[b]: the same symbol with "</w>" (word end).
    BytePairEncoder(std::array<std::int32_t, 256> byte_ids, std::array<std::int32_t, 256> byte_end_ids,
                    MergeTable merges);

    // Appends the ids of one pre-tokenized word (its UTF-8 bytes) to `out`.
    void encode_word(std::span<const std::uint8_t> bytes, std::vector<std::int32_t>& out, BpeScratch& scratch) const;

    std::size_t merge_count() const { return merges_.size(); }

  private:
    std::array<std::int32_t, 256> byte_ids_{};
    std::array<std::int32_t, 256> byte_end_ids_{};
    MergeTable merges_;
};

}  // namespace hclip
