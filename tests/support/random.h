// Seeded random data for kernel tests.
#pragma once

#include <random>
#include <vector>

namespace hclip::testing {

// n values from N(0, 1), the same for the same seed.
inline std::vector<float> random_vector(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v)
        x = d(rng);
    return v;
}

}  // namespace hclip::testing
