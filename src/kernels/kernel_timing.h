// The GEMM kernel candidates and how they are timed on this machine, for the choice in kernels/kernel_choice.h.
// A new kernel (e.g. one over 16-bit weights) is one more entry in gemm_candidates().
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "kernels/kernel_choice.h"

namespace hclip {

// A weight matrix W [n, k] held the way one kernel computes from.
class PreparedGemm {
  public:
    virtual ~PreparedGemm() = default;
    // C[m, n] = A[m, k] * W^T, dense row-major operands.
    virtual void run(const float* a, int m, float* c) const = 0;
    // The same kernel on another copy of the weights, equal to this one's (w: that copy as given to prepare),
    // without preparing them again.
    virtual Result<std::unique_ptr<PreparedGemm>> copy(const float* w) const = 0;
};

struct GemmCandidate {
    GemmKernel kernel;
    bool (*available)();  // whether this build has the kernel
    // Prepares W ([n, k], row-major; only read during the call).
    Result<std::unique_ptr<PreparedGemm>> (*prepare)(const float* w, int n, int k);
};

// Every kernel of the build, available or not.
std::span<const GemmCandidate> gemm_candidates();
// The kernels this build can run, in gemm_candidates() order.
std::vector<GemmKernel> available_gemm_kernels();

// Times products the way a tower pass runs them (the compute pool splits them across threads): the fastest of a
// few runs after a warm-up, so other work on the machine disturbs it least. Operands are random and prepared once
// per shape, for the largest row count asked.
class GemmKernelTimer {
  public:
    GemmKernelTimer();
    ~GemmKernelTimer();
    GemmKernelTimer(const GemmKernelTimer&) = delete;
    GemmKernelTimer& operator=(const GemmKernelTimer&) = delete;

    // Seconds per product, or a failure to prepare the kernel (an unsupported shape, out of memory).
    Result<double> seconds(GemmShape shape, int m, GemmKernel kernel);

  private:
    struct Operands;
    std::unique_ptr<Operands> operands_;
};

}  // namespace hclip
