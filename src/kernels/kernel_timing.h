// The GEMM kernel candidates and how they are timed on this machine, for the choice in kernels/kernel_choice.h.
// A new kernel (e.g. one over 16-bit weights) is one more entry in gemm_candidates().
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "kernels/kernel_choice.h"
#include "kernels/packed_gemm.h"

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

// `products`: the numbers a kernel multiplies (kernels/packed_gemm.h). Float32 products have all three kernels;
// bf16 products (clip.compute bf16) the two on a packed copy, whose weights are then rounded to bf16.
struct GemmCandidate {
    GemmKernel kernel;
    bool (*available)(PackedType products);  // whether this build and CPU have the kernel for such products
    // Prepares W ([n, k], row-major float32; only read during the call).
    Result<std::unique_ptr<PreparedGemm>> (*prepare)(const float* w, int n, int k, PackedType products);
};

// Every kernel of the build, available or not.
std::span<const GemmCandidate> gemm_candidates();
// The kernels this build and CPU can run for such products, in gemm_candidates() order.
std::vector<GemmKernel> available_gemm_kernels(PackedType products = PackedType::kF32);

// How many copies of a weight matrix the timer cycles through for products of up to 64 rows, so that their weights
// come from memory as in a tower pass: enough to add up to 1.5 times the last-level cache, but at most 48 and at most
// kMaxTimingCopyBytes together (at least one). Every candidate kernel holds its own prepared copies next to them,
// and a virtual machine may report its host's whole L3: on a guest that saw 300 MiB, an uncapped first start
// peaked at 1.4 GB. Past the cap the copies partly stay in such a cache.
inline constexpr std::size_t kMaxTimingCopyBytes = std::size_t{128} << 20;
int gemm_timing_copies(GemmShape shape, PackedType products, std::size_t cache_bytes);

// Times products the way a tower pass runs them (the compute pool splits them across threads): the fastest of a
// few runs after a warm-up, so other work on the machine disturbs it least. Operands are random and prepared once
// per shape, for the largest row count asked.
class GemmKernelTimer {
  public:
    explicit GemmKernelTimer(PackedType products = PackedType::kF32);
    ~GemmKernelTimer();
    GemmKernelTimer(const GemmKernelTimer&) = delete;
    GemmKernelTimer& operator=(const GemmKernelTimer&) = delete;

    // Seconds per product, or a failure to prepare the kernel (an unsupported shape, out of memory).
    Result<double> seconds(GemmShape shape, int m, GemmKernel kernel);

  private:
    struct Operands;
    PackedType products_;
    std::unique_ptr<Operands> operands_;
};

}  // namespace hclip
