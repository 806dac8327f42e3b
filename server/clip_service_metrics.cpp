// The gauges of GET /metrics, read from the pool, the prompt cache and the backend when asked for.
#include "server/clip_service.h"

namespace hclip::server {

MetricsGauges ClipService::metrics_gauges() const {
    const HealthReport h = health();
    MetricsGauges g;
    g.queue_depth = h.queued;
    g.busy_workers = h.busy_workers;
    g.workers = h.workers;
    g.inferences = h.inferences;
    g.failed_inferences = h.failed_inferences;
    g.text_cache_hits = cache_->hits();
    g.text_cache_misses = cache_->misses();
    g.backend = h.backend;
    // Every tower pass runs on the backend in h.backend, so with a Hailo backend a failed pass is an NPU error.
    g.npu_errors = h.backend.rfind("hailo", 0) == 0 ? h.failed_inferences : 0;
    g.healthy = h.healthy;
    return g;
}

}  // namespace hclip::server
