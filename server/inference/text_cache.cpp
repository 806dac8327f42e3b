#include "server/inference/text_cache.h"

#include <algorithm>
#include <functional>

namespace hclip::server {

TextEmbeddingCache::TextEmbeddingCache(std::size_t capacity, int dim)
    : capacity_(capacity), dim_(dim), shards_(capacity == 0 ? 1 : std::min<std::size_t>(16, capacity)) {
    // Spread the capacity over the shards; the total never exceeds `capacity`.
    for (std::size_t i = 0; i < shards_.size(); ++i) {
        shards_[i].capacity = capacity / shards_.size() + (i < capacity % shards_.size() ? 1 : 0);
    }
}

TextEmbeddingCache::Shard& TextEmbeddingCache::shard_for(const std::string& text) {
    return shards_[std::hash<std::string>{}(text) % shards_.size()];
}

bool TextEmbeddingCache::lookup(const std::string& text, std::span<float> out) {
    if (capacity_ == 0) {
        misses_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    Shard& s = shard_for(text);
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(text);
    if (it == s.index.end()) {
        misses_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    std::copy(it->second->embedding.begin(), it->second->embedding.end(), out.begin());
    hits_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void TextEmbeddingCache::insert(const std::string& text, std::span<const float> embedding) {
    if (capacity_ == 0 || embedding.size() != static_cast<std::size_t>(dim_)) return;
    Shard& s = shard_for(text);
    std::lock_guard lock(s.mutex);
    if (auto it = s.index.find(text); it != s.index.end()) {
        s.lru.splice(s.lru.begin(), s.lru, it->second);
        return;
    }
    if (s.capacity == 0) return;
    if (s.lru.size() >= s.capacity) {
        s.index.erase(s.lru.back().text);
        s.lru.pop_back();
    }
    s.lru.push_front({text, std::vector<float>(embedding.begin(), embedding.end())});
    s.index.emplace(text, s.lru.begin());
}

std::size_t TextEmbeddingCache::size() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mutex);
        n += s.lru.size();
    }
    return n;
}

}  // namespace hclip::server
