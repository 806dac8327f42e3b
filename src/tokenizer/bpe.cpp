#include "tokenizer/bpe.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace hclip {

void MergeTable::reserve(std::size_t merges) {
    while (keys_.size() < merges * 2)
        grow();
}

std::size_t MergeTable::slot_of(std::uint64_t k) const {
    // Fibonacci hashing: the top bits of the product spread sequential ids well.
    return static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_);
}

void MergeTable::grow() {
    const std::size_t capacity = keys_.empty() ? 1024 : keys_.size() * 2;
    std::vector<std::uint64_t> old_keys(capacity, kEmpty);
    std::vector<Merge> old_values(capacity);
    old_keys.swap(keys_);
    old_values.swap(values_);
    shift_ = 64 - std::countr_zero(capacity);
    const std::size_t mask = capacity - 1;
    for (std::size_t i = 0; i < old_keys.size(); ++i) {
        if (old_keys[i] == kEmpty) continue;
        std::size_t slot = slot_of(old_keys[i]);
        while (keys_[slot] != kEmpty)
            slot = (slot + 1) & mask;
        keys_[slot] = old_keys[i];
        values_[slot] = old_values[i];
    }
}

void MergeTable::insert(std::int32_t left, std::int32_t right, Merge merge) {
    if ((size_ + 1) * 2 > keys_.size()) grow();
    const std::uint64_t k = key(left, right);
    const std::size_t mask = keys_.size() - 1;
    std::size_t slot = slot_of(k);
    while (keys_[slot] != kEmpty && keys_[slot] != k)
        slot = (slot + 1) & mask;
    if (keys_[slot] == kEmpty) ++size_;
    keys_[slot] = k;
    values_[slot] = merge;
}

const MergeTable::Merge* MergeTable::find(std::int32_t left, std::int32_t right) const {
    if (keys_.empty()) return nullptr;
    const std::uint64_t k = key(left, right);
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t slot = slot_of(k);; slot = (slot + 1) & mask) {
        if (keys_[slot] == k) return &values_[slot];
        if (keys_[slot] == kEmpty) return nullptr;
    }
}

BytePairEncoder::BytePairEncoder(std::array<std::int32_t, 256> byte_ids, std::array<std::int32_t, 256> byte_end_ids,
                                 MergeTable merges)
    : byte_ids_(byte_ids), byte_end_ids_(byte_end_ids), merges_(std::move(merges)) {}

void BytePairEncoder::encode_word(std::span<const std::uint8_t> bytes, std::vector<std::int32_t>& out,
                                  BpeScratch& scratch) const {
    const auto n = static_cast<std::int32_t>(bytes.size());
    if (n == 0) return;
    if (n == 1) {
        out.push_back(byte_end_ids_[bytes[0]]);
        return;
    }
    auto& ids = scratch.ids;
    auto& prev = scratch.prev;
    auto& next = scratch.next;
    auto& heap = scratch.heap;
    auto& deferred = scratch.deferred;
    ids.resize(static_cast<std::size_t>(n));
    prev.resize(static_cast<std::size_t>(n));
    next.resize(static_cast<std::size_t>(n));
    heap.clear();
    deferred.clear();
    for (std::int32_t i = 0; i < n; ++i) {
        ids[i] = i + 1 < n ? byte_ids_[bytes[i]] : byte_end_ids_[bytes[i]];
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
    }

    // Min-heap on (rank, position): the lowest rank first, and its occurrences from left to right.
    const auto later = [](const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) {
        return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    };
    const auto candidate_at = [&](std::int32_t left, BpeScratch::Candidate& candidate) {
        if (left < 0 || next[left] < 0) return false;
        const MergeTable::Merge* m = merges_.find(ids[left], ids[next[left]]);
        if (m == nullptr) return false;
        candidate = {m->rank, left, ids[left], ids[next[left]], m->merged};
        return true;
    };
    for (std::int32_t i = 0; i + 1 < n; ++i) {
        BpeScratch::Candidate candidate{};
        if (candidate_at(i, candidate)) heap.push_back(candidate);
    }
    std::make_heap(heap.begin(), heap.end(), later);

    std::int32_t round_rank = -1;
    while (true) {
        // A pair created during a round competes only from the next round on, as in the reference, even if a
        // (malformed) merges file gives it a lower rank than the round's.
        if (!deferred.empty() && (heap.empty() || heap.front().rank != round_rank)) {
            for (const auto& c : deferred) {
                heap.push_back(c);
                std::push_heap(heap.begin(), heap.end(), later);
            }
            deferred.clear();
        }
        if (heap.empty()) break;
        std::pop_heap(heap.begin(), heap.end(), later);
        const BpeScratch::Candidate top = heap.back();
        heap.pop_back();
        round_rank = top.rank;
        const std::int32_t left = top.left;
        // Stale entries: a side was merged away or changed since the pair was queued.
        if (ids[left] != top.left_id) continue;
        const std::int32_t right = next[left];
        if (right < 0 || ids[right] != top.right_id) continue;
        ids[left] = top.merged;
        ids[right] = -1;
        next[left] = next[right];
        if (next[right] >= 0) prev[next[right]] = left;
        for (std::int32_t start : {prev[left], left}) {
            BpeScratch::Candidate created{};
            if (!candidate_at(start, created)) continue;
            if (created.rank <= round_rank) {
                deferred.push_back(created);
            } else {
                heap.push_back(created);
                std::push_heap(heap.begin(), heap.end(), later);
            }
        }
    }
    for (std::int32_t i = 0; i >= 0; i = next[i])
        out.push_back(ids[i]);
}

}  // namespace hclip
