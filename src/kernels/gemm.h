// The one matrix-product interface the model code uses. Implementations (OpenBLAS today; oneDNN or a packed
// SIMD kernel later) live behind it, so choosing the fastest per platform never touches the model code.
#pragma once

#include <string>
#include <string_view>

namespace hclip {

// C[M,N] = A[M,K] * op(B) + beta * C, all row-major.
// op(B) = B when B is stored [K,N] (b_transposed = false), or B^T when B is stored [N,K] (b_transposed = true:
// PyTorch Linear weights [out, in] are used this way, in place, without a copy).
struct GemmArgs {
    int m = 0, n = 0, k = 0;
    const float* a = nullptr;
    int lda = 0;
    const float* b = nullptr;
    int ldb = 0;
    bool b_transposed = false;
    float* c = nullptr;
    int ldc = 0;
    float beta = 0.0f;
};

void gemm_f32(const GemmArgs& args);

// Obviously-correct scalar version (double accumulation): the oracle for the fast path's tests.
void gemm_f32_reference(const GemmArgs& args);

// Large products are split by columns across the compute pool (kernels/compute_pool.h); the library itself
// computes on one thread.
std::string_view gemm_backend_name();
// The library's own build description (OpenBLAS: version, target CPU, kernels), for caches of timings.
std::string gemm_library_version();

}  // namespace hclip
