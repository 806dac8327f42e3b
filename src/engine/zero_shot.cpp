#include "engine/zero_shot.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hclip {

void l2_normalize(std::span<float> v) {
    double sq = 0.0;
    for (float x : v)
        sq += static_cast<double>(x) * static_cast<double>(x);
    if (sq <= 0.0) return;
    const double inv = 1.0 / std::sqrt(sq);
    for (float& x : v)
        x = static_cast<float>(static_cast<double>(x) * inv);
}

void l2_normalize_rows(std::span<float> rows, std::size_t dim) {
    for (std::size_t r = 0; dim > 0 && r + dim <= rows.size(); r += dim)
        l2_normalize(rows.subspan(r, dim));
}

float dot(std::span<const float> a, std::span<const float> b) {
    double acc = 0.0;
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i)
        acc += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return static_cast<float>(acc);
}

std::vector<float> scaled_softmax(std::span<const float> cosines, float logit_scale) {
    std::vector<float> out(cosines.size());
    if (cosines.empty()) return out;
    const float mx = *std::max_element(cosines.begin(), cosines.end());
    double sum = 0.0;
    std::vector<double> e(cosines.size());
    for (std::size_t i = 0; i < cosines.size(); ++i) {
        e[i] = std::exp(static_cast<double>(logit_scale) * (static_cast<double>(cosines[i]) - static_cast<double>(mx)));
        sum += e[i];
    }
    for (std::size_t i = 0; i < cosines.size(); ++i)
        out[i] = static_cast<float>(e[i] / sum);
    return out;
}

std::vector<RankedLabel> rank_labels(std::span<const float> cosines, float logit_scale, int top_k, float threshold) {
    const std::vector<float> probs = scaled_softmax(cosines, logit_scale);
    std::vector<int> order(cosines.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return probs[static_cast<std::size_t>(a)] > probs[static_cast<std::size_t>(b)];
    });
    std::vector<RankedLabel> out;
    for (int idx : order) {
        if (static_cast<int>(out.size()) >= top_k) break;
        const auto i = static_cast<std::size_t>(idx);
        if (probs[i] < threshold) break;  // sorted: nothing after this can pass
        out.push_back({idx, probs[i], cosines[i], static_cast<int>(out.size()) + 1});
    }
    return out;
}

}  // namespace hclip
