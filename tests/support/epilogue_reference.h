// What an Epilogue (kernels/ops.h) makes of one product value, in double precision: the oracle the kernel tests
// compare their fused epilogues with.
#pragma once

#include <algorithm>
#include <cmath>

#include "kernels/ops.h"

namespace hclip::testing {

// act(product + bias[col]), plus `old` (C's value before) when accumulating.
inline double epilogue_reference(double product, const Epilogue& e, int col, double old) {
    double v = product + (e.bias != nullptr ? static_cast<double>(e.bias[col]) : 0.0);
    if (e.activation == EpilogueActivation::kQuickGelu) v = v / (1.0 + std::exp(-1.702 * v));
    if (e.activation == EpilogueActivation::kGelu) v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    if (e.activation == EpilogueActivation::kRelu) v = std::max(v, 0.0);
    return e.accumulate ? v + old : v;
}

}  // namespace hclip::testing
