// Which GEMM kernel computes a product with a given weight matrix: chosen per weight shape and per bucket of row
// counts from timings taken on this machine (kernels/kernel_timing.h), not by architecture. The choice itself is
// pure arithmetic on timings, so it can be tested with made-up ones.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hclip {

class PackedWeights;

// The candidates (kernels/kernel_timing.h lists how each is prepared and run).
enum class GemmKernel : std::uint8_t {
    kPlain,   // gemm_f32 (OpenBLAS) on the weights as stored
    kPacked,  // gemm_f32_packed (oneDNN) on a copy packed at load
    kPanels,  // the panel kernel (kernels/panel_gemm.h) on a packed copy in its layout: the same copy as kPacked's
              // where the library packs as panels itself (AVX-512 CPUs), a copy of its own elsewhere (AVX2)
};
std::string_view gemm_kernel_name(GemmKernel kernel);
std::optional<GemmKernel> parse_gemm_kernel(std::string_view name);

// How the kernel is decided: timed per shape (auto), or forced for every matrix.
enum class GemmKernelMode : std::uint8_t { kAuto, kPacked, kPlain, kPanels };
std::string_view gemm_kernel_mode_name(GemmKernelMode mode);
std::optional<GemmKernelMode> parse_gemm_kernel_mode(std::string_view name);

// A weight matrix as a product's right-hand side: C[m, n] = A[m, k] * W^T.
struct GemmShape {
    int n = 0, k = 0;
    auto operator<=>(const GemmShape&) const = default;
};
std::string gemm_shape_name(GemmShape shape);  // "3072x768"

// The row counts kernels are timed at. A product of m rows uses the choice of the smallest bucket >= m, and the
// largest bucket's beyond it (GFLOP/s hardly change past a few hundred rows).
std::span<const int> gemm_row_buckets();

struct GemmTimingKey {
    GemmShape shape;
    int m = 0;
    GemmKernel kernel = GemmKernel::kPlain;
    auto operator<=>(const GemmTimingKey&) const = default;
};
using GemmTimings = std::map<GemmTimingKey, double>;  // seconds per product

// A rejected kernel that wins a bucket by less than this keeps the shape on one kernel: two kernels for one matrix
// means a packed and a plain copy of it in memory, not worth a gain within timing noise. Kernels on the same copy
// (kPacked and kPanels where they share one) cost no memory, so between them a smaller gain is enough; it is not
// zero only so that buckets where the two tie do not flip from run to run on timing noise.
inline constexpr double kMinGainSameCopy = 0.03;
inline constexpr double kMinGainForSecondKernel = 0.10;

// The kernel per row bucket for one weight shape.
struct GemmChoice {
    GemmShape shape;
    std::vector<int> bucket_rows;     // ascending
    std::vector<GemmKernel> kernels;  // one per bucket

    GemmKernel kernel_for(int m) const;
    bool uses(GemmKernel kernel) const;
    // Whether some bucket computes from the packed copy (kPacked or kPanels).
    bool uses_packed_copy() const;
    // "packed" or "packed for m <= 64, plain above" style text for logs.
    std::string describe() const;
};

// One kernel for every bucket.
GemmChoice forced_gemm_choice(GemmShape shape, std::span<const int> rows, GemmKernel kernel);

// The fastest candidate per bucket by `timings`, which must hold every (shape, row, candidate). The shape's main
// kernel is the one with the least summed slow-down over the buckets; another kernel is kept for a bucket only
// where it beats the main one by kMinGainForSecondKernel (kMinGainSameCopy on the same copy).
// `packed_panels_shared`: whether kPacked and kPanels compute from one copy (packed_library_layout_is_panels).
// Where they do not, a matrix keeps at most one packed copy, so a choice uses one of the two, never both: the
// one whose choice has the least summed slow-down over the buckets of kLatencyRows (where it has none of them,
// over all).
GemmChoice choose_gemm_kernel(GemmShape shape, std::span<const int> rows, std::span<const GemmKernel> candidates,
                              const GemmTimings& timings, bool packed_panels_shared = true);

// The row counts of a single request's products, from a short prompt's (8) to one image's (a ViT-B/32's 50 tokens:
// 64): where packed and panels need two copies, the copy kept is judged there, by the latency the service is
// asked for. Measured on an AVX2 EPYC, the panel kernel lost a product of one row (a matrix-vector product the
// library streams faster) and some of 128 rows and more by up to 1.6x in isolated timings, and won the 50-row
// products it exists for; a choice judged on every bucket kept the library's copy for most shapes, and the batch-1
// image tower took 0.97x of its all-library time against 0.85-0.92x on panels (docs/performance.md).
inline constexpr std::pair<int, int> kLatencyRows{8, 64};

// Whether a product of m rows should run on the packed copy: only when there is one, and either no plain copy is
// left or the choice says so.
bool use_packed(const PackedWeights* packed, const void* plain, const GemmChoice* choice, int m);
// Whether a product of m rows on the packed copy should run on the panel kernel (the choice says kPanels).
bool use_panels(const GemmChoice* choice, int m);

// Whether two kernels compute from the same copy of the weights.
bool same_copy(GemmKernel a, GemmKernel b, bool packed_panels_shared = true);

}  // namespace hclip
