// The order statistics the bench commands print: medians and percentiles of a series of timings.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace hclip::cli {

// The value at percentile p (0-100) of v, nearest rank; 0 for an empty series.
inline double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const auto at = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(at, v.size() - 1)];
}

// The upper median (v[n / 2] of the sorted series, the same as percentile(v, 50)); 0 for an empty series.
inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace hclip::cli
