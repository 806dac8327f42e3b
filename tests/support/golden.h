// Comparing engine outputs with the float64 oracle outputs of the fixtures, reporting what differs and by how much.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <span>
#include <string>

namespace hclip::testing {

struct Difference {
    double max_abs = 0.0;
    std::size_t worst_index = 0;
    double got = 0.0, expected = 0.0;
};

inline Difference max_abs_difference(std::span<const float> got, std::span<const float> expected) {
    Difference d;
    for (std::size_t i = 0; i < got.size() && i < expected.size(); ++i) {
        const double diff = std::fabs(static_cast<double>(got[i]) - static_cast<double>(expected[i]));
        if (diff > d.max_abs || std::isnan(diff)) {
            d.max_abs = std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff;
            d.worst_index = i;
            d.got = got[i];
            d.expected = expected[i];
        }
    }
    return d;
}

// Fails with the row/column of the worst element when any |got - expected| > tolerance.
inline void expect_close(const std::string& what, std::span<const float> got, std::span<const float> expected,
                         std::size_t row_length, double tolerance) {
    ASSERT_EQ(got.size(), expected.size()) << what << ": size differs";
    const Difference d = max_abs_difference(got, expected);
    std::cout << "  " << what << ": max |diff| " << d.max_abs << " (tolerance " << tolerance << ")\n";
    EXPECT_LE(d.max_abs, tolerance) << what << ": max |diff| " << d.max_abs << " > " << tolerance << " at row "
                                    << d.worst_index / row_length << ", column " << d.worst_index % row_length
                                    << " (got " << d.got << ", expected " << d.expected << ")";
}

}  // namespace hclip::testing
