// Matrix products with a constant right-hand operand (a weight matrix) packed once, at model load, into the
// layout the GEMM library computes fastest from. A plain GEMM re-packs its operand on every call, which a
// 50-row activation (one image) or a 7-row prompt cannot amortise. The model code only sees this interface;
// the library behind it (oneDNN on x86-64, none elsewhere: see packed_gemm_available) is chosen at configure
// time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "kernels/ops.h"

namespace hclip {

// The numbers a packed product multiplies. kF32: float32 throughout. kBf16 (opt-in, ModelOptions::compute): B is
// stored rounded to bfloat16 and each call rounds A to bfloat16 too (nearest even); the products are exact in
// float32 and accumulated in float32, C is float32. It needs a CPU with native bf16 dot products (AVX512-BF16 or
// AMX): packed_bf16_support() says whether this build and CPU have them.
enum class PackedType { kF32, kBf16 };

// The layout of a packed copy. kLibrary: the one the library computes fastest from. kPanels: the panel kernel's
// 64-column panels (kernels/panel_gemm.h). On AVX-512 CPUs the library picks panels itself, so the two are one
// copy; elsewhere (AVX2 CPUs) the library has only its reference code for panels, and a copy packed as panels is
// computed by the panel kernel alone (packed_library_layout_is_panels says which).
enum class PackedLayout { kLibrary, kPanels };

// An immutable packed copy of B, the right-hand operand of C = A * op(B). Shareable by any number of threads.
class PackedWeights {
  public:
    // Packs B. b_transposed = true when B is stored [n, k] (a PyTorch Linear weight [out, in], used as B^T),
    // false when it is stored [k, n]; rows are ldb apart. `b` is only read during the call. kPanels fails
    // (kUnsupported) where the panel kernel does not run for `type`.
    static Result<std::unique_ptr<const PackedWeights>> pack(const float* b, int n, int k, int ldb, bool b_transposed,
                                                             PackedType type = PackedType::kF32,
                                                             PackedLayout layout = PackedLayout::kLibrary);

    // A second, equal copy (a memory copy, not a second packing).
    Result<std::unique_ptr<const PackedWeights>> copy() const;

    ~PackedWeights();
    PackedWeights(const PackedWeights&) = delete;
    PackedWeights& operator=(const PackedWeights&) = delete;

    int n() const { return n_; }
    int k() const { return k_; }
    std::size_t bytes() const { return bytes_; }
    PackedType type() const { return type_; }
    // Whether the panel kernel (kernels/panel_gemm.h) can compute from this copy: weights in its panel layout
    // (float32 panels, or bf16 paired panels), on a CPU that runs it for that type.
    bool has_panels() const;
    // Whether the library's own kernel computes from this copy at its speed (false for a copy packed as panels
    // where the library's layout is another: gemm_f32_packed then always takes the panel kernel).
    bool library_runs() const;

    struct Impl;  // the library's objects, defined by the implementation
    const Impl& impl() const { return *impl_; }

  private:
    PackedWeights(int n, int k, std::size_t bytes, PackedType type, std::unique_ptr<Impl> impl);

    int n_ = 0, k_ = 0;
    std::size_t bytes_ = 0;
    PackedType type_ = PackedType::kF32;
    std::unique_ptr<Impl> impl_;
};

// C[m, n] = A[m, k] * op(B), B packed (A rounded to bfloat16 on the way in when B is kBf16). Row-major; C is
// overwritten (no beta), or, with an epilogue, C = act(A * op(B) + bias) or C += act(A * op(B) + bias), done
// inside the library's kernel where it can. Safe to call from several threads at once, also with the same
// PackedWeights: each thread has its own library state (no lock on the hot path).
struct PackedGemmArgs {
    int m = 0;
    const float* a = nullptr;
    int lda = 0;
    const PackedWeights* b = nullptr;
    float* c = nullptr;
    int ldc = 0;
    Epilogue epilogue = {};
    // Compute with the panel kernel instead of the library's where b.has_panels() (float32 or bf16 weights); the
    // same product either way, up to the order of float32 additions. A copy the library does not run
    // (!b.library_runs()) always takes the panel kernel.
    bool panels = false;
};

void gemm_f32_packed(const PackedGemmArgs& args);

// False when this build has no packing library: pack() then fails and the model keeps using gemm_f32.
bool packed_gemm_available();
// Whether this build and CPU have the panel kernel (kernels/panel_gemm.h) for such products: a packed copy in
// panel layout can then compute with it (PackedWeights::has_panels()).
bool panel_kernel_available(PackedType type);
// Whether the library packs weights as panels itself on this CPU (AVX-512: then kLibrary and kPanels are one
// copy, and the library's kernel and the panel kernel both compute from it).
bool packed_library_layout_is_panels(PackedType type);
// OK when PackedType::kBf16 products run on an optimised kernel here; else kUnsupported saying why (no packing
// library, or the library has only its reference code for bf16 on this CPU).
Status packed_bf16_support();
std::string_view packed_gemm_backend_name();
// The library and its version ("onednn 2.6.3 (...)"), or "none", for caches of timings.
std::string packed_gemm_library_version();

}  // namespace hclip
