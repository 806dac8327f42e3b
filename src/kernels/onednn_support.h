// What the kernels built on oneDNN (the packed GEMM, the direct convolution) share: one CPU engine, oneDNN's own
// threads kept off, the test for its slow reference code, and 64-byte aligned buffers. Only compiled into builds
// configured with oneDNN.
#pragma once

#include <cstddef>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

namespace hclip::onednn {

dnnl::engine& cpu_engine();

// Debian builds oneDNN on OpenMP, whose threads busy-wait between primitives (see packed_gemm_onednn.cpp): every
// primitive runs single-threaded and the compute pool splits the work. OpenMP's setting is per thread, so every
// thread that executes a primitive calls this first.
void keep_single_threaded();

// oneDNN's reference implementations are correct but far slower than the plain OpenBLAS path.
bool is_reference_impl(const dnnl::primitive_desc_base& pd);

// Aligned, owned storage (std::vector cannot promise the 64-byte alignment the kernels and scratchpads want).
struct AlignedFree {
    void operator()(void* p) const { ::operator delete (p, std::align_val_t{64}); }
};
using AlignedBuffer = std::unique_ptr<void, AlignedFree>;
AlignedBuffer aligned_buffer(std::size_t bytes);

// A thread's scratchpad for user-provided-scratchpad primitives: grows to the largest size asked, never shrinks.
class Scratchpad {
  public:
    void* of_size(std::size_t bytes);

  private:
    AlignedBuffer data_;
    std::size_t bytes_ = 0;
};

}  // namespace hclip::onednn
