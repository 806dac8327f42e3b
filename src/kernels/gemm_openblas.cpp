#include <cblas.h>

#include <algorithm>

#include "kernels/compute_pool.h"
#include "kernels/gemm.h"

// OpenBLAS's own header declares this; repeated here only when an older cblas.h lacks it.
extern "C" void openblas_set_num_threads(int num_threads);

namespace hclip {

namespace {

// OpenBLAS computes on the calling thread only: the compute pool provides the parallelism (Debian's pthreads
// OpenBLAS would otherwise start threads of its own next to the pool's, one team per concurrent caller).
void keep_openblas_single_threaded() {
    static const bool once = [] {
        openblas_set_num_threads(1);
        return true;
    }();
    (void)once;
}

// Columns [n0, n1) of C = A * op(B) + beta C, one single-threaded OpenBLAS call.
void gemm_columns(const GemmArgs& g, int n0, int n1) {
    const float* b = g.b + static_cast<std::ptrdiff_t>(n0) * (g.b_transposed ? g.ldb : 1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, g.b_transposed ? CblasTrans : CblasNoTrans, g.m, n1 - n0, g.k, 1.0f, g.a,
                g.lda, b, g.ldb, g.beta, g.c + n0, g.ldc);
}

// How many column parts a product is split into: one per core in whole 64-column blocks, by shape and machine
// only, so the result is the same however many threads compute it.
int column_parts(const GemmArgs& g) {
    const double work = static_cast<double>(g.m) * g.n * g.k;
    if (work < kMinSplitMultiplyAdds) return 1;
    return std::clamp(g.n / 64, 1, std::min(machine_cores(), 8));
}

}  // namespace

void gemm_f32(const GemmArgs& g) {
    if (g.m == 0 || g.n == 0) return;
    keep_openblas_single_threaded();
    const int parts = column_parts(g);
    if (parts == 1) {
        gemm_columns(g, 0, g.n);
        return;
    }
    const int blocks = (g.n + 63) / 64;
    parallel_for(parts, [&](int p) {
        const int n0 = std::min(g.n, blocks * p / parts * 64);
        const int n1 = std::min(g.n, blocks * (p + 1) / parts * 64);
        if (n1 > n0) gemm_columns(g, n0, n1);
    });
}

std::string_view gemm_backend_name() {
    return "openblas";
}

std::string gemm_library_version() {
    const char* config = openblas_get_config();
    return std::string("openblas ") + (config != nullptr ? config : "unknown");
}

}  // namespace hclip
