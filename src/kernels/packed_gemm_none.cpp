// Builds without a packing library (today: everything but x86-64 with oneDNN). The model keeps calling gemm_f32,
// whose library packs per call; on the Raspberry Pi 5 that is OpenBLAS's Cortex-A76 path.
#include <cstdio>
#include <cstdlib>

#include "kernels/packed_gemm.h"

namespace hclip {

struct PackedWeights::Impl {};

PackedWeights::PackedWeights(int n, int k, std::size_t bytes, PackedType type, std::unique_ptr<Impl> impl)
    : n_(n), k_(k), bytes_(bytes), type_(type), impl_(std::move(impl)) {}

PackedWeights::~PackedWeights() = default;

Result<std::unique_ptr<const PackedWeights>> PackedWeights::pack(const float*, int, int, int, bool, PackedType,
                                                                 PackedLayout) {
    return unsupported("this build has no packed gemm (configured without oneDNN)");
}

Result<std::unique_ptr<const PackedWeights>> PackedWeights::copy() const {
    return unsupported("this build has no packed gemm (configured without oneDNN)");
}

bool PackedWeights::has_panels() const {
    return false;
}

bool PackedWeights::library_runs() const {
    return false;
}

void gemm_f32_packed(const PackedGemmArgs&) {
    // Unreachable: no PackedWeights can exist in this build.
    std::fputs("hailo-clip: gemm_f32_packed called in a build without packed gemm\n", stderr);
    std::abort();
}

bool packed_gemm_available() {
    return false;
}

bool panel_kernel_available(PackedType) {
    return false;
}

bool packed_library_layout_is_panels(PackedType) {
    return false;
}

Status packed_bf16_support() {
    return unsupported("this build has no packed gemm (configured without oneDNN), so no bf16 products");
}

std::string_view packed_gemm_backend_name() {
    return "none";
}

std::string packed_gemm_library_version() {
    return "none";
}

}  // namespace hclip
