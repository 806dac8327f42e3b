#include "config/engine_options.h"

#include "kernels/kernel_cache.h"

namespace hclip::server {

EngineOptions engine_options_from_config(const ServiceConfig& config) {
    EngineOptions o;
    o.model_dir = config.clip.model_dir;
    o.max_batch = config.clip.batch_size;
    o.gemm_threads = config.performance.gemm_threads;
    o.gemm_kernel = parse_gemm_kernel_mode(config.performance.gemm_kernel).value_or(GemmKernelMode::kAuto);
    const std::string& cache = config.performance.gemm_kernel_cache;
    o.gemm_kernel_cache = cache == "off" ? std::string() : cache.empty() ? default_gemm_cache_path() : cache;
    o.decode.max_pixels = config.limits.max_image_pixels;
    o.jpeg_scaled_decode = config.performance.jpeg_scaled_decode;
    o.backend = config.clip.backend;
    o.weights = parse_weight_storage(config.clip.weights).value_or(WeightStorage::kF32);        // validated on loading
    o.compute = parse_compute_precision(config.clip.compute).value_or(ComputePrecision::kF32);  // likewise
    if (config.hailo.text_encoder == "cpu") o.text_backend = "cpu";
    o.fallback_to_cpu = config.hailo.on_unavailable == "cpu";
    const HailoSection& h = config.hailo;
    o.hailo.image_hef = h.image_hef;
    o.hailo.text_hef = h.text_hef;
    o.hailo.token_embedding_lut = h.token_embedding_lut;
    o.hailo.text_projection = h.text_projection;
    o.hailo.device_index = config.clip.device;
    o.hailo.group_id = h.group_id;
    o.hailo.timeout = std::chrono::milliseconds(h.timeout_ms);
    o.hailo.retry_max = std::chrono::milliseconds(static_cast<long>(h.retry_max_seconds) * 1000);
    return o;
}

}  // namespace hclip::server
