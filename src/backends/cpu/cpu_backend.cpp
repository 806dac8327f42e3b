#include "backends/cpu/cpu_backend.h"

#include "backends/cpu/cpu_encoders.h"
#include "kernels/blas_core.h"
#include "kernels/gemm.h"
#include "kernels/packed_gemm.h"

namespace hclip {

namespace {

class CpuBackend final : public Backend {
  public:
    CpuBackend(std::shared_ptr<const ClipModel> model, int max_batch)
        : model_(std::move(model)), max_batch_(max_batch) {}
    std::string name() const override { return "cpu"; }
    std::string description() const override {
        return "float32 towers" +
               (model_->packed_bytes() > 0 ? ", weights packed for " + std::string(packed_gemm_backend_name())
                                           : std::string()) +
               ", GEMM " + std::string(gemm_backend_name()) + " with " + blas_core_summary();
    }
    Result<std::unique_ptr<ImageEncoder>> create_image_encoder() override {
        return make_cpu_image_encoder(model_, max_batch_);
    }
    Result<std::unique_ptr<TextEncoder>> create_text_encoder() override {
        return make_cpu_text_encoder(model_, max_batch_);
    }

  private:
    std::shared_ptr<const ClipModel> model_;
    int max_batch_;
};

}  // namespace

BackendFactory cpu_backend_factory() {
    return {.name = "cpu",
            .probe = [] { return BackendProbe{.available = true, .reason = {}}; },
            .open = [](const BackendContext& context) -> Result<std::shared_ptr<Backend>> {
                return std::shared_ptr<Backend>(std::make_shared<CpuBackend>(context.model, context.max_batch));
            }};
}

}  // namespace hclip
