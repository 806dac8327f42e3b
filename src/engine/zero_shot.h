// Zero-shot scoring as the service defines it: cosine similarity of L2-normalized embeddings, and a softmax of
// logit_scale * cosine computed stably (the maximum is subtracted before exponentiating).
#pragma once

#include <span>
#include <string>
#include <vector>

namespace hclip {

inline constexpr float kDefaultLogitScale = 100.0f;

// Scales `v` to unit L2 norm in place (a zero vector is left as is). Accumulates in double.
void l2_normalize(std::span<float> v);

// l2_normalize on each `dim`-long row of a row-major matrix.
void l2_normalize_rows(std::span<float> rows, std::size_t dim);

// Dot product of two equally long vectors (the cosine when both are unit length).
float dot(std::span<const float> a, std::span<const float> b);

// Probabilities softmax(logit_scale * cosine), stable for any scale.
std::vector<float> scaled_softmax(std::span<const float> cosines, float logit_scale);

struct RankedLabel {
    int index = 0;  // position in the caller's prompt list
    float score = 0.0f;
    float similarity = 0.0f;
    int rank = 0;  // 1-based
};

// Scores, ranks by score (ties keep prompt order), keeps those with score >= threshold, at most top_k.
std::vector<RankedLabel> rank_labels(std::span<const float> cosines, float logit_scale, int top_k, float threshold);

}  // namespace hclip
