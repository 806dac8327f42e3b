// A 2-D convolution of one fixed input size whose weights are packed once, at model load, for the library's
// direct convolution kernels (oneDNN's on x86-64; none elsewhere: see packed_conv_available). A direct kernel reads
// the NHWC activations in place, with no im2col copy, and applies the bias, the ReLU and a residual add to its
// results while they are still in registers. Where it is not available, conv2d_nhwc (im2col and a GEMM) runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "kernels/conv2d.h"
#include "kernels/packed_gemm.h"

namespace hclip {

struct PackedConvSpec {
    Conv2dShape shape;  // the primitives are compiled for exactly this input size
    // output = relu?(conv(input) + bias [+ output]): `accumulate` adds the output's previous values (a residual
    // connection) before the ReLU.
    bool relu = false;
    bool accumulate = false;
    // kBf16: weights stored as bfloat16 and the input rounded to bfloat16 per call (nearest even), products
    // accumulated in float32; as PackedType for products (kernels/packed_gemm.h).
    PackedType type = PackedType::kF32;
    // kBf16 only: the output written as bfloat16, rounded to nearest even after the bias and ReLU, for a next
    // convolution with bf16 products, which would round its input the same way (the same numbers, half the
    // memory traffic and no rounding pass). Not with `accumulate`: a residual sum stays float32.
    bool bf16_output = false;
};

// What run() is given: float32, or bfloat16 already rounded (a kBf16 convolution's bf16_output).
enum class ConvInput { kF32, kBf16 };

// Immutable once created; run() may be called from any number of threads at once.
class PackedConv {
  public:
    // `weight` is [out, kernel, kernel, in] (conv2d.h's order), `bias` [out] or null; both are copied.
    // kUnsupported when this build or CPU has no fast direct kernel for the spec (conv2d_nhwc is then the way).
    static Result<std::unique_ptr<const PackedConv>> create(const float* weight, const float* bias,
                                                            const PackedConvSpec& spec);

    ~PackedConv();
    PackedConv(const PackedConv&) = delete;
    PackedConv& operator=(const PackedConv&) = delete;

    // One image: input [height, width, in_channels], output [out_height, out_width, out_channels]; they must not
    // overlap. Split into one task per core across the compute pool (kernels/compute_pool.h), by output rows or,
    // where row bands would be thin, by output channels; the split is fixed at creation from the shape and
    // the machine, so the result does not depend on the thread count. The output is float32, or bf16 (uint16)
    // with spec().bf16_output; a kBf16 input is only for kBf16 convolutions.
    void run(const void* input, void* output, ConvInput input_type = ConvInput::kF32) const;
    int tasks() const;
    bool split_by_channels() const;

    const PackedConvSpec& spec() const { return spec_; }
    std::size_t bytes() const { return bytes_; }                           // the packed weights and bias
    const std::string& implementation() const { return implementation_; }  // the library's kernel name

    struct Impl;  // the library's objects, defined by the implementation

  private:
    PackedConv(const PackedConvSpec& spec, std::size_t bytes, std::string implementation, std::unique_ptr<Impl> impl);

    PackedConvSpec spec_;
    std::size_t bytes_ = 0;
    std::string implementation_;
    std::unique_ptr<Impl> impl_;
};

// False when this build has no direct convolution library: create() then always says unsupported.
bool packed_conv_available();

}  // namespace hclip
