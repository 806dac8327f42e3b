#include <cstddef>

#include "kernels/gemm.h"

namespace hclip {

void gemm_f32_reference(const GemmArgs& g) {
    for (int i = 0; i < g.m; ++i) {
        for (int j = 0; j < g.n; ++j) {
            double acc = 0.0;
            for (int p = 0; p < g.k; ++p) {
                const float a = g.a[static_cast<std::ptrdiff_t>(i) * g.lda + p];
                const float b = g.b_transposed ? g.b[static_cast<std::ptrdiff_t>(j) * g.ldb + p]
                                               : g.b[static_cast<std::ptrdiff_t>(p) * g.ldb + j];
                acc += static_cast<double>(a) * static_cast<double>(b);
            }
            float& c = g.c[static_cast<std::ptrdiff_t>(i) * g.ldc + j];
            c = static_cast<float>(acc + (g.beta == 0.0f ? 0.0 : static_cast<double>(g.beta) * static_cast<double>(c)));
        }
    }
}

}  // namespace hclip
