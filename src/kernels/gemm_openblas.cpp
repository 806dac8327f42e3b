#include <cblas.h>

#include "kernels/gemm.h"

// OpenBLAS's own header declares these; repeated here only when an older cblas.h lacks them.
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace hclip {

void gemm_f32(const GemmArgs& g) {
    if (g.m == 0 || g.n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, g.b_transposed ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, 1.0f, g.a,
                g.lda, g.b, g.ldb, g.beta, g.c, g.ldc);
}

void set_gemm_threads(int threads) {
    openblas_set_num_threads(threads < 1 ? 1 : threads);
}
int gemm_threads() {
    return openblas_get_num_threads();
}
std::string_view gemm_backend_name() {
    return "openblas";
}

}  // namespace hclip
