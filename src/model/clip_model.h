// An immutable, loaded CLIP model (ViT, ResNet or FastViT image tower): configuration plus weight views. Loaded once
// and shared read-only by every session (worker); sessions own all mutable scratch memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/safetensors.h"
#include "kernels/kernel_plan.h"
#include "kernels/packed_gemm.h"
#include "model/clip_config.h"
#include "model/clip_weights.h"
#include "model/compute_precision.h"
#include "model/conv_stem_weights.h"
#include "model/fastvit_weights.h"
#include "model/resnet_weights.h"
#include "model/weight_storage.h"

namespace hclip {

struct ModelOptions {
    // Pack the weight matrices of the linear layers, the patch embedding and the projections once, for the
    // packed GEMM (kernels/packed_gemm.h). Ignored by builds without one (packed_gemm_available()).
    bool pack_weights = true;
    // bf16 / fp16: the transformer blocks' matrices, the projections, the ViT patch embedding and the token
    // embedding are kept in 16 bits only (their float32 copies released) and computed in float32 by
    // gemm_f32_half_weights; such matrices are not packed. LayerNorm, biases, class and position embeddings and a
    // ResNet image tower (folded convolutions, attention pool) stay float32. A checkpoint already stored in the
    // chosen 16-bit type is used as it is (never rounded twice).
    WeightStorage weights = WeightStorage::kF32;
    // bf16: the products of the transformer towers (q/k/v, attention output, MLP), both projections and the ViT
    // patch embedding take bfloat16 inputs with float32 accumulation: those matrices are packed as bf16 (their
    // float32 copies released) and each product rounds its activations to bf16. Convolutional image towers
    // (ResNet, FastViT, a convolutional stem) and everything outside the products stay float32. Needs the packed
    // GEMM and a CPU with bf16 dot products: the load fails otherwise (never falls back to float32), and with
    // weights fp16, unpacked weights or a forced plain GEMM. weights bf16 means the same as fp32 with it.
    ComputePrecision compute = ComputePrecision::kF32;
    // Which GEMM kernel each weight shape uses (kernels/kernel_choice.h): timed at load (auto) or forced. A matrix
    // is packed only if its shape uses the packed kernel for some row count, and keeps its plain copy only if it
    // uses the plain one too. Applies to the transformer towers; a ResNet's convolutions are packed unless plain.
    GemmKernelMode gemm_kernel = GemmKernelMode::kAuto;
    // Where the auto choice's timings are kept between loads ("" = nowhere: timed at every load).
    std::string gemm_kernel_cache = {};
};

class ClipModel {
  public:
    // Loads `model.safetensors` (or `open_clip_model.safetensors`) from `path` (a directory, or the file itself),
    // with `config.json` (Hugging Face), `open_clip_config.json` and `preprocessor_config.json` when present.
    static Result<std::shared_ptr<const ClipModel>> load(const std::string& path, const ModelOptions& options = {});

    const ClipConfig& config() const { return config_; }
    // The image tower's weights: vision() for config().vision.kind == kVit, resnet() for kResNet, fastvit() for
    // kFastVit.
    const VisionWeights& vision() const { return vision_; }
    const ResNetWeights& resnet() const { return resnet_; }
    const FastVitWeights& fastvit() const { return fastvit_; }
    // kVitConvStem: vision() holds the transformer, conv_stem() the stem and the head.
    const ConvStemWeights& conv_stem() const { return conv_stem_; }
    const TextWeights& text() const { return text_; }
    const std::string& weights_path() const { return weights_path_; }
    const std::string& model_dir() const { return model_dir_; }
    // Bytes held outside the mapping because tensors were stored as F16/BF16 (or unaligned) and converted.
    std::size_t converted_bytes() const { return converted_bytes_; }
    // The stored dtype of the weights ("F32", "F16", "BF16", or "mixed").
    const std::string& stored_dtype() const { return stored_dtype_; }
    // Bytes of packed weight matrices (0 when not packed) and how many matrices were packed.
    std::size_t packed_bytes() const { return packed_bytes_; }
    std::size_t packed_count() const { return packed_.size(); }
    // Convolutions packed for the library's direct kernels (kernels/packed_conv.h; their bytes are in
    // packed_bytes()).
    std::size_t direct_conv_count() const { return packed_convs_.size(); }
    // How the large matrices are stored, and the bytes of their 16-bit copies (0 with fp32 storage; matrices used
    // in place from a checkpoint stored in that type count too).
    WeightStorage weight_storage() const { return weight_storage_; }
    std::size_t half_bytes() const { return half_bytes_; }
    // What the transformer towers' products multiply (ModelOptions::compute).
    ComputePrecision compute() const { return compute_; }
    // The kernel chosen per weight shape at load (empty without packing), and the bytes of plain weights kept
    // next to packed copies because a shape uses both kernels.
    const GemmPlan& gemm_plan() const { return gemm_plan_; }
    std::size_t plain_kept_bytes() const { return plain_kept_bytes_; }

    ClipModel(const ClipModel&) = delete;
    ClipModel& operator=(const ClipModel&) = delete;

  private:
    ClipModel() = default;
    friend class ModelLoader;

    ClipConfig config_;
    VisionWeights vision_;
    ResNetWeights resnet_;
    FastVitWeights fastvit_;
    ConvStemWeights conv_stem_;
    TextWeights text_;
    SafetensorsFile file_;
    std::vector<std::vector<float>> converted_;
    std::size_t converted_bytes_ = 0;
    std::vector<std::unique_ptr<const PackedWeights>> packed_;
    std::vector<std::unique_ptr<const PackedConv>> packed_convs_;
    std::size_t packed_bytes_ = 0;
    std::vector<std::vector<std::uint16_t>> half_;
    std::size_t half_bytes_ = 0;
    WeightStorage weight_storage_ = WeightStorage::kF32;
    ComputePrecision compute_ = ComputePrecision::kF32;
    GemmPlan gemm_plan_;
    std::size_t plain_kept_bytes_ = 0;
    std::string weights_path_;
    std::string model_dir_;
    std::string stored_dtype_;
};

}  // namespace hclip
