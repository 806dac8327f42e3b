// A least-recently-used cache of normalized prompt embeddings, so a classify call whose prompts were seen before
// costs one image encode. Split into shards, each with its own lock, so concurrent requests rarely contend.
#pragma once

#include <atomic>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace hclip::server {

class TextEmbeddingCache {
  public:
    // capacity: entries in total (0 disables the cache); dim: floats per embedding.
    TextEmbeddingCache(std::size_t capacity, int dim);

    // Copies the embedding of `text` into `out` and returns true when cached.
    bool lookup(const std::string& text, std::span<float> out);
    void insert(const std::string& text, std::span<const float> embedding);

    std::size_t capacity() const { return capacity_; }
    std::size_t size() const;
    std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
    std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

  private:
    struct Entry {
        std::string text;
        std::vector<float> embedding;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::list<Entry> lru;  // front = most recently used
        std::unordered_map<std::string, std::list<Entry>::iterator> index;
        std::size_t capacity = 0;
    };
    Shard& shard_for(const std::string& text);

    std::size_t capacity_;
    int dim_;
    std::vector<Shard> shards_;
    std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

}  // namespace hclip::server
