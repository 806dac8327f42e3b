// The engine options a service configuration asks for. The service and every CLI command build their engine
// from this and ClipEngine::open, so both choose backends the same way.
#pragma once

#include "engine/clip_engine.h"
#include "config/service_config.h"

namespace hclip::server {

// clip.model_dir, clip.batch_size, clip.backend (hailo.text_encoder: cpu puts the text tower on the CPU,
// hailo.on_unavailable: cpu allows the fallback), the hailo section, performance.gemm_threads,
// performance.gemm_kernel and gemm_kernel_cache (resolved to a path, "" for off) and limits.max_image_pixels. The log
// is left to the caller.
EngineOptions engine_options_from_config(const ServiceConfig& config);

}  // namespace hclip::server
